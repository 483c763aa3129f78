# One image for both sides of docker-compose.yml: the mock payer (`mockpayer serve`) and a member's mirror
# (`mirror connect`, `sync`, `serve`), with the bundled plans. Development and demos only, like the compose file.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY mirror ./mirror
COPY mockpayer ./mockpayer
COPY fixtures ./fixtures
# Editable, so that mockpayer finds the bundled plans in /app/fixtures, beside its source.
RUN pip install -e . \
    && useradd --system --uid 10001 --home-dir /data --no-create-home app \
    && mkdir /data && chown app /data && chmod 700 /data

# The records are health data: a user of its own, and /data (the mirror's named volume) readable by it alone.
USER app
ENV MIRROR_DATA_DIR=/data
EXPOSE 9000 8080
CMD ["mirror", "--help"]
