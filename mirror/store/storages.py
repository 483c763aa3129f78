"""A TinyDB Storage that commits atomically with orjson and refuses to overwrite what it cannot read.

Requirements ST-1 (atomic commit, via files.write_atomically), ST-6 (an unreadable file is never
overwritten; the previous good generation is kept as `<file>.1` and named in the error) and ST-8 (the file
records its format version; older formats are upgraded by MIGRATIONS, keeping the original).

The file is an envelope around TinyDB's tables, laid out one document per line (file_format.py) and compressed
(compression.py):
`{"format": "payer-mirror-store", "version": 1, "generation": 7, "written_at": "...", "tables": {...}}`.
`generation` counts commits, so a reader (and the crash test) can tell which committed state it sees.
`layout` lists the frames after the header's own (frame_cache.py), so that each table is read when first
used (`table`), not at open. `notes` are what the Store keeps in the header about tables it may not read.
"""

from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
from tinydb.storages import Storage

from mirror.store.compression import DamagedFrame, UncheckedFrame, frames_of, is_compressed
from mirror.store.errors import ReadOnlyStore, StoreCorrupt, StoreVersionError
from mirror.store.file_format import LayoutError, parse_file, read_header
from mirror.store.frame_cache import FrameCache, UnreadTable, frame_crc
from mirror.store.files import FileSignature, fd_signature, signature, write_atomically
from mirror.store.records import utc_now

FORMAT_NAME = "payer-mirror-store"
FORMAT_VERSION = 1

# How to upgrade: MIGRATIONS[n] turns the tables of a version-n file into those of version n + 1. Empty
# while version 1 is the only format; a format change adds its step here and bumps FORMAT_VERSION.
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}


def backup_path(path: Path) -> Path:
    """Where the previous good generation of the store at `path` is kept."""
    return path.with_name(f"{path.name}.1")


class AtomicJSONStorage(Storage):
    """TinyDB's storage hook: read the whole database from the file, write it back atomically.

    `migrated_from` is the format version the file had when it was read, if it had to be upgraded.
    """

    def __init__(self, path: Path, read_only: bool = False):
        self.path = path
        self.read_only = read_only
        self.generation = 0
        self.migrated_from: int | None = None
        self.disk_signature: FileSignature | None = None
        self.frames = FrameCache()
        self.notes: dict = {}

    def read(self) -> dict | None:
        try:
            with open(self.path, "rb") as store_file:
                raw = store_file.read()
                # The signature of the file actually read, not of whatever the path names a moment later.
                info = fd_signature(store_file.fileno())
        except FileNotFoundError:
            self.generation, self.migrated_from, self.disk_signature = 0, None, None
            self.frames.clear()
            self.notes = {}
            return None
        tables = self._tables_from(raw)
        self.disk_signature = info
        return tables

    def write(self, data: dict) -> None:
        if self.read_only:
            raise ReadOnlyStore(f"{self.path} was opened for reading only.")
        header = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "generation": self.generation + 1,
            "written_at": utc_now(),
            "notes": self.notes,
        }
        # Only the generation this process read or wrote is known to be good enough to become the backup.
        known_good = self.disk_signature is not None and self.disk_signature == signature(self.path)
        backup = backup_path(self.path) if known_good else None
        self.disk_signature = write_atomically(self.path, self.frames.file_frames(header, data), backup)
        self.generation += 1

    def close(self) -> None:
        """Nothing is held open between reads and writes."""

    def table(self, tables: dict, name: str) -> dict:
        """The documents of table `name` of `tables` (what `read` returned), read now if the file's frames still
        hold them, and created empty if there is no such table; raises StoreCorrupt when they cannot be read."""
        documents = tables.get(name)
        if isinstance(documents, UnreadTable):
            try:
                documents = self.frames.read_table(documents, keep=not self.read_only)
            except ValueError as error:  # DamagedFrame, LayoutError and orjson's JSONDecodeError are ValueErrors
                raise self._corrupt(f"table {name} is damaged ({error})") from None
            tables[name] = documents
        elif documents is None:
            documents = tables[name] = {}
        return documents

    def _tables_from(self, raw: bytes) -> dict:
        self.frames.clear()
        try:
            envelope = _envelope_leaving_tables_unread(raw) or _envelope(raw)
        except orjson.JSONDecodeError as error:
            raise self._corrupt(f"it is not valid JSON ({error})") from None
        except (LayoutError, DamagedFrame) as error:
            raise self._corrupt(str(error)) from None
        if not isinstance(envelope, dict) or envelope.get("format") != FORMAT_NAME:
            raise self._corrupt("it is not a payer-mirror store")
        version, generation, tables = envelope.get("version"), envelope.get("generation"), envelope.get("tables")
        if not (isinstance(version, int) and isinstance(generation, int) and isinstance(tables, dict)
                and all(isinstance(table, (dict, UnreadTable)) for table in tables.values())):
            raise self._corrupt("its header or tables are damaged")
        if version > FORMAT_VERSION:
            raise StoreVersionError(
                f"{self.path} was written by a newer payer-mirror (store format {version}; this one reads "
                f"format {FORMAT_VERSION} and older). Upgrade payer-mirror to use it."
            )
        self.migrated_from = version if version < FORMAT_VERSION else None
        if version < FORMAT_VERSION:
            for name in tables:
                self.table(tables, name)
        while version < FORMAT_VERSION:
            if version not in MIGRATIONS:
                raise StoreVersionError(f"{self.path} uses store format {version}, which this payer-mirror cannot upgrade.")
            tables = MIGRATIONS[version](tables)
            version += 1
        self.generation = generation
        notes = envelope.get("notes")
        self.notes = notes if isinstance(notes, dict) and self.migrated_from is None else {}
        return tables

    def _corrupt(self, reason: str) -> StoreCorrupt:
        backup = backup_path(self.path)
        if is_readable_store(backup):
            advice = (
                f"The previous generation, {backup}, is readable. To restore it, run `mirror restore` (it keeps "
                f"{self.path.name} aside as a damaged copy and puts {backup.name} in its place), then run "
                "`mirror sync` to fetch what changed since."
            )
            named_backup = str(backup)
        else:
            state = "is damaged too" if backup.exists() else "does not exist"
            advice = (
                f"Its backup, {backup}, {state}. Move {self.path.name} aside and run `mirror sync` to fetch "
                "your records again."
            )
            named_backup = None
        return StoreCorrupt(
            f"{self.path} cannot be read: {reason}. It was left untouched and nothing will be written to it. {advice}",
            named_backup,
        )


def _envelope_leaving_tables_unread(raw: bytes) -> dict | None:
    """The envelope in `raw` with each table's runs left compressed (frame_cache.UnreadTable), when its header
    lays out the frames that follow and each frame's CRC-32 matches; else None, and the whole file is read
    (`_envelope`), which finds and reports any damage, or reads a file whose layout is not this one."""
    if not is_compressed(raw):
        return None
    try:
        first_frame, first_content = next(frames_of(raw, checksummed=True))
        header = read_header(first_content)
        layout = header.get("layout") if header is not None else None
        if not (isinstance(layout, list) and all(_is_layout_entry(entry) for entry in layout)
                and len(first_frame) + sum(length for length, _, _ in layout) == len(raw)):
            return None
        envelope_blocks, unread = [first_content], dict[str, UnreadTable]()
        position = len(first_frame)
        for length, crc, table in layout:
            frame = raw[position:position + length]
            position += length
            if frame_crc(frame) != crc:
                return None
            if table is None:
                envelope_blocks.extend(content for _, content in frames_of(frame, checksummed=True))
            else:
                unread.setdefault(table, UnreadTable(table)).frames.append((frame, crc))
        envelope = parse_file(envelope_blocks, defer_texts=True)
    except (ValueError, StopIteration):  # DamagedFrame, UncheckedFrame, LayoutError, JSONDecodeError
        return None
    tables = envelope.get("tables") if isinstance(envelope, dict) else None
    if not isinstance(tables, dict) or any(tables.get(name) != {} for name in unread):
        return None  # a table's runs are not where its lines say
    tables.update(unread)
    return envelope


def _is_layout_entry(entry: object) -> bool:
    return (type(entry) is list and len(entry) == 3 and type(entry[0]) is int and entry[0] > 0
            and type(entry[1]) is int and (entry[2] is None or type(entry[2]) is str))


def _envelope(raw: bytes) -> dict:
    """The file `raw` parsed whole. Resource texts are left encoded (file_format.py) only in a file whose frames
    all carry their checksum, as the store writes them: damage to anything else, say a text edited by hand in a
    decompressed store, must be found now, before the store is written to (ST-6). A file compressed without
    checksums is parsed again, whole."""
    if is_compressed(raw):
        try:
            return parse_file(_contents(raw, checksummed=True), defer_texts=True)
        except UncheckedFrame:
            return parse_file(_contents(raw))
    return parse_file(raw)


def _contents(raw: bytes, checksummed: bool = False) -> bytes | Iterator[bytes]:
    """What parse_file reads of the file `raw`: the file itself when it is plain, else the content of each frame,
    one in memory at a time."""
    if not is_compressed(raw):
        return raw
    return (content for _, content in frames_of(raw, checksummed))


def is_readable_store(path: Path) -> bool:
    """Whether `path` parses as a payer-mirror store (used before pointing a user at it)."""
    try:
        envelope = parse_file(_contents(path.read_bytes()))
    except (OSError, ValueError):  # orjson.JSONDecodeError, LayoutError and DamagedFrame are ValueErrors
        return False
    return isinstance(envelope, dict) and envelope.get("format") == FORMAT_NAME and isinstance(envelope.get("tables"), dict)
