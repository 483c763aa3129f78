"""The mirror's local document store on TinyDB: crash-safe, single-writer, indexed in memory.

Open it with `Store(data_dir)` (writer) or `Store(data_dir, read_only=True)` (the served API). database.py
says what it keeps and why; the TinyDB hooks are storages.py (atomic orjson Storage), middlewares.py (one
commit for several table operations) and tables.py (writes in place); file_format.py lays the file out one
document per line; files.py and writer_lock.py hold the crash-safety and single-writer rules.
"""

from mirror.store.database import STORE_FILE_NAME, Store, restore_backup
from mirror.store.errors import (
    InvalidResource,
    ReadOnlyStore,
    StoreCorrupt,
    StoreError,
    StoreLocked,
    StoreVersionError,
    StoreWriteFailed,
)
from mirror.store.files import default_data_dir
from mirror.store.ingest import ParsedText
from mirror.store.records import Change, PageResult, StoredResource, SyncRun, SyncState

__all__ = [
    "STORE_FILE_NAME",
    "Change",
    "InvalidResource",
    "PageResult",
    "ParsedText",
    "ReadOnlyStore",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreLocked",
    "StoreVersionError",
    "StoreWriteFailed",
    "StoredResource",
    "SyncRun",
    "SyncState",
    "default_data_dir",
    "restore_backup",
]
