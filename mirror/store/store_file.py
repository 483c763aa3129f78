"""The store file's format (ARCHITECTURE.md, "Frames"): damage is refused, except a torn last commit (ST-6)."""

import struct
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson
import zstandard

from mirror.store.errors import StoreVersionError

FORMAT1_FILE_NAME = "mirror.json"  # format 1: one JSON object, plain or in zstd frames
FORMAT_NAME = "payer-mirror-store"
FORMAT_VERSION = 2
TABLES = ("resources", "history", "sync_state", "sync_runs")
LEVEL = 1  # higher levels made the file a little smaller and its write much slower (bench/README.md)
_FRAME_HEADER = struct.Struct("<4sIII")  # skippable frame magic, its size (8), compressed length, CRC-32
FRAME_HEADER_BYTES = _FRAME_HEADER.size
_SKIPPABLE_MAGIC = b"\x50\x2a\x4d\x18"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_FEED_BYTES = 1 << 20  # compressed bytes decompressed at a time, so a snapshot is never in memory twice


class DamagedFile(ValueError):
    """The file is not what this format writes; the message says where."""

    whole_bytes = 0  # set by Tables.read: how many bytes of whole frames came before the damage


def backup_path(path: Path) -> Path:
    """Where the store as it was before the last compaction is kept."""
    return path.with_name(f"{path.name}.1")


def header_line(generation: int, written_at: str) -> bytes:
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "generation": generation, "written_at": written_at}
    return orjson.dumps(header) + b"\n"


def record_line(table: str, document: dict) -> bytes:
    return orjson.dumps([table, document]) + b"\n"


def frame(lines: Iterable[bytes]) -> bytes:
    """`lines` compressed as one frame, behind the header that gives its length and CRC-32."""
    compressor = zstandard.ZstdCompressor(level=LEVEL).compressobj()
    data = b"".join([*(compressor.compress(line) for line in lines), compressor.flush()])
    return _FRAME_HEADER.pack(_SKIPPABLE_MAGIC, 8, len(data), zlib.crc32(data)) + data


def frames(raw: bytes, snapshot: bool) -> Iterator[tuple[int, Iterator[bytes]]]:
    """(end, lines) for each whole frame, lines read before the next frame; a torn last commit is left out."""
    view = memoryview(raw)
    position = 0
    while position < len(raw):
        first = snapshot and position == 0
        rest = len(raw) - position
        if not first and (rest < _FRAME_HEADER.size or (raw[position] == 0 and raw.count(0, position) == rest)):
            return  # a commit's header cut short, or space a crash left unwritten (a frame begins with its magic)
        if rest < _FRAME_HEADER.size:
            raise DamagedFile("it ends before its first frame does")
        magic, size, length, crc = _FRAME_HEADER.unpack_from(raw, position)
        if magic != _SKIPPABLE_MAGIC or size != 8:
            raise DamagedFile(f"no frame begins at byte {position}, where one should")
        start, end = position + _FRAME_HEADER.size, position + _FRAME_HEADER.size + length
        if end > len(raw) or zlib.crc32(view[start:end]) != crc:
            if not first and end >= len(raw):
                return  # the last commit, cut short by a crash
            state = "is cut short" if end > len(raw) else "fails its CRC-32 check"
            raise DamagedFile(f"the {'snapshot' if first else 'commit'} frame at byte {position} {state}")
        yield end, _lines(view[start:end], position)
        position = end


def _lines(data: memoryview, position: int) -> Iterator[bytes]:
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    rest = b""
    try:
        for start in range(0, len(data), _FEED_BYTES):
            lines = (rest + decompressor.decompress(data[start:start + _FEED_BYTES])).split(b"\n")
            rest = lines.pop()
            yield from lines
    except zstandard.ZstdError as error:
        raise DamagedFile(f"the frame at byte {position} cannot be decompressed ({error})") from None
    if rest or not decompressor.eof or decompressor.unused_data:
        raise DamagedFile(f"the frame at byte {position} does not end where its header says")


def frames_from(raw: bytes, position: int) -> int:
    """How many frame headers begin at or after `position` (the damaged frame at least), for restore to report."""
    return max(1, raw.count(_SKIPPABLE_MAGIC + b"\x08\0\0\0", position))


def read_header(line: bytes, path: Path) -> int:
    """The generation the snapshot's header line records; raises DamagedFile or StoreVersionError."""
    header = orjson.loads(line)
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise DamagedFile("it is not a payer-mirror store")
    version, generation = header.get("version"), header.get("generation")
    if not (isinstance(version, int) and isinstance(generation, int)):
        raise DamagedFile("its header is damaged")
    if version > FORMAT_VERSION:
        raise StoreVersionError(f"{path} was written by a newer payer-mirror (store format {version}; this one reads "
                                f"format {FORMAT_VERSION} and older). Upgrade payer-mirror to use it.")
    return generation


def read_record(line: bytes) -> tuple[str, dict]:
    record = orjson.loads(line)
    if not (type(record) is list and len(record) == 2 and record[0] in TABLES and type(record[1]) is dict):
        raise DamagedFile("a line is not a [table, document] record")
    return record[0], record[1]


def format1_records(raw: bytes) -> tuple[int, Iterator[tuple[str, dict]]]:
    """The generation and documents of a format 1 store, whose tables are kept so that it can be converted."""
    try:
        if raw.startswith(_ZSTD_MAGIC):
            raw = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True).read()
    except zstandard.ZstdError as error:
        raise DamagedFile(f"its compressed data is damaged ({error})") from None
    envelope = orjson.loads(raw)
    tables = envelope.get("tables") if isinstance(envelope, dict) else None
    if (not isinstance(tables, dict) or envelope.get("format") != FORMAT_NAME or envelope.get("version") != 1
            or not all(isinstance(tables.get(table, {}), dict) for table in TABLES)):
        raise DamagedFile("it is not a payer-mirror store of format 1")
    generation = envelope.get("generation")
    return (generation if isinstance(generation, int) else 0,
            ((table, document) for table in TABLES for document in tables.get(table, {}).values()))
