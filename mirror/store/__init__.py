"""The mirror's local document store on TinyDB: crash-safe, single-writer, indexed in memory.

Open it with `Store(data_dir)` (writer) or `Store(data_dir, read_only=True)` (the served API); see
database.py for what it keeps and why, and storages.py and files.py for how a commit survives a crash.
"""

from mirror.store.database import STORE_FILE_NAME, Store, restore_backup
from mirror.store.errors import (
    InvalidResource,
    ReadOnlyStore,
    StoreCorrupt,
    StoreError,
    StoreLocked,
    StoreVersionError,
)
from mirror.store.files import default_data_dir
from mirror.store.records import Change, PageResult, StoredResource, SyncRun, SyncState

__all__ = [
    "STORE_FILE_NAME",
    "Change",
    "InvalidResource",
    "PageResult",
    "ReadOnlyStore",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreLocked",
    "StoreVersionError",
    "StoredResource",
    "SyncRun",
    "SyncState",
    "default_data_dir",
    "restore_backup",
]
