"""The shared HL7 example corpus (../shared/corpus, next to the repository), read in place, never copied."""

import json
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus():
    """A function giving [(file name, resource dict)] for one corpus folder, e.g. `corpus("carin-bb-2.0.0")`."""
    if not CORPUS.is_dir():
        pytest.skip("the shared example corpus (../shared/corpus beside the repository) is not present")

    def read(folder: str) -> list[tuple[str, dict]]:
        files = sorted((CORPUS / folder).glob("*.json"))
        if not files:
            pytest.skip(f"corpus folder {folder} is empty or missing")
        return [(path.name, json.loads(path.read_text(encoding="utf-8"))) for path in files]

    return read
