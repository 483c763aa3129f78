"""The store file is compressed with zstd, because a large store's commit costs what the disk does.

A commit rewrites the whole file (ST-1), and an 883 MB store took 3.1-3.3 s to write and fsync here however
fast it was serialised; removing the generation that a new backup replaced took another 0.65 s. Payer JSON
repeats itself (codings, references, adjudication categories), so zstd at level 1 makes the shared Synthea
records 18 times smaller at about 1 GB/s: far less to write, to fsync and to remove at every commit, and
far less disk for a decade of claims. The compressing runs in zstd's own thread, beside the serialising.

Every frame carries its checksum, so a damaged file is refused (ST-6) rather than parsed into wrong data.
A file that begins like JSON (one written before compression, or decompressed by hand with `zstd -d`) is
read as it is.
"""

from collections.abc import Iterable, Iterator

import zstandard

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # the first four bytes of every zstd frame (RFC 8878, section 3.1.1)
LEVEL = 1  # higher levels made the file 10 % smaller and its write 20-50 % slower
HELPER_THREADS = 1


class DamagedFrame(ValueError):
    """The file's compressed data cannot be read back whole; the message says how."""


def compressed(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """`chunks` as one zstd frame, produced as they come so the whole file is never in memory."""
    compressor = zstandard.ZstdCompressor(level=LEVEL, threads=HELPER_THREADS, write_checksum=True).compressobj()
    for chunk in chunks:
        if out := compressor.compress(chunk):
            yield out
    yield compressor.flush()


def decompressed(raw: bytes) -> bytes:
    """The content of a store file: decompressed when it is a zstd frame, else as it is."""
    if not raw.startswith(ZSTD_MAGIC):
        return raw
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    try:
        content = decompressor.decompress(raw)
    except zstandard.ZstdError as error:
        raise DamagedFrame(f"its compressed data is damaged ({error})") from None
    if not decompressor.eof:
        raise DamagedFrame("it ends before its compressed data does")
    if decompressor.unused_data:
        raise DamagedFrame("there is data after its compressed data")
    return content
