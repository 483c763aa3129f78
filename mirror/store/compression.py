"""The store file is compressed with zstd, because a large store's commit costs what the disk does.

A commit rewrites the whole file (ST-1), and a large store took seconds to write and fsync however fast it was
serialised, and more to remove the generation a new backup replaced (bench/README.md). Payer JSON repeats itself
(codings, references, adjudication categories), so zstd at level 1, which compresses faster than a disk writes,
makes a store many times smaller than the JSON it holds: far less to write, to fsync and to remove at every commit,
and far less disk for a decade of claims.

The file is a sequence of frames, each compressed on its own (zstd reads a concatenation of frames as one
stream, and so does `zstd -d`): frame_cache.py keeps the frames of documents that did not change and
writes them again as they are, so a commit compresses only what changed.

Every frame carries its checksum, so a damaged file is refused (ST-6) rather than parsed into wrong data.
A file that begins like JSON (one written before compression, or decompressed by hand with `zstd -d`) is
read as it is.
"""

from collections.abc import Iterable, Iterator

import zstandard

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # the first four bytes of every zstd frame (RFC 8878, section 3.1.1)
LEVEL = 1  # higher levels made the file a little smaller and its write much slower
_MOST_HEADER_BYTES = 18  # of a frame (RFC 8878, section 3.1.1.1)
# What a frame's end is looked for in: the rest of that much is copied once per frame. Large enough that a frame
# comes out of one call, since one in two pieces is joined, a copy of its content, which made decompressing
# slower (bench/README.md).
_FEED_BYTES = 256 * 1024


class DamagedFrame(ValueError):
    """The file's compressed data cannot be read back whole; the message says how."""


class UncheckedFrame(ValueError):
    """A frame carries no checksum (a file compressed by another tool), so nothing vouches for its content."""


def compressed_frame(chunks: Iterable[bytes]) -> bytes:
    """`chunks`, together, as one zstd frame carrying its checksum."""
    compressor = zstandard.ZstdCompressor(level=LEVEL, write_checksum=True).compressobj()
    frame = [compressor.compress(chunk) for chunk in chunks]
    frame.append(compressor.flush())
    return b"".join(frame)


def is_compressed(raw: bytes) -> bool:
    return raw.startswith(ZSTD_MAGIC)


def frames_of(raw: bytes, checksummed: bool = False) -> Iterator[tuple[bytes, bytes]]:
    """(frame, its content) for each frame of a compressed file, in order; when `checksummed`, raises
    UncheckedFrame at the first frame without a checksum."""
    decompressor = zstandard.ZstdDecompressor()
    view = memoryview(raw)
    position = 0
    while position < len(raw):
        if not raw.startswith(ZSTD_MAGIC, position):
            raise DamagedFrame("there is data after its compressed data")
        if checksummed and not _has_checksum(raw[position:position + _MOST_HEADER_BYTES]):
            raise UncheckedFrame("a frame of the file carries no checksum")
        start, frame, parts = position, decompressor.decompressobj(), []
        while not frame.eof:
            if position >= len(raw):
                raise DamagedFrame("it ends before its compressed data does")
            fed = view[position:position + _FEED_BYTES]
            position += len(fed)
            try:
                parts.append(frame.decompress(fed))
            except zstandard.ZstdError as error:
                raise DamagedFrame(f"its compressed data is damaged ({error})") from None
        position -= len(frame.unused_data)
        content = b"".join(parts)
        parts.clear()  # the caller parses the content while this generator waits: one copy of it, not two
        yield raw[start:position], content


def _has_checksum(header: bytes) -> bool:
    try:
        return zstandard.get_frame_parameters(header).has_checksum
    except zstandard.ZstdError as error:
        raise DamagedFrame(f"its compressed data is damaged ({error})") from None


def decompressed(raw: bytes) -> bytes:
    """The content of a store file: decompressed when it is compressed, else as it is."""
    return b"".join(content for _, content in frames_of(raw)) if is_compressed(raw) else raw
