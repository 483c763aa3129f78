"""The mirror's local document store: crash-safe, single-writer, held in memory.

Open it with `Store(data_dir)` (writer) or `Store(data_dir, read_only=True)` (the served API). database.py
says what it keeps and why; tables.py holds it in memory; store_file.py is the file's format (a snapshot and
the commits appended to it); files.py and writer_lock.py hold the crash-safety and single-writer rules.
"""

from mirror.store.database import Store, has_store, is_readable_store, restore
from mirror.store.errors import (InvalidResource, ReadOnlyStore, StoreCorrupt, StoreError, StoreLocked,
                                 StoreVersionError, StoreWriteFailed)
from mirror.store.files import STORE_FILE_NAME, default_data_dir
from mirror.store.ingest import ParsedText
from mirror.store.records import Change, PageResult, StoredResource, SyncRun, SyncState
from mirror.store.store_file import backup_path

__all__ = ["STORE_FILE_NAME", "Change", "InvalidResource", "PageResult", "ParsedText", "ReadOnlyStore", "Store",
           "StoreCorrupt", "StoreError", "StoreLocked", "StoreVersionError", "StoreWriteFailed", "StoredResource",
           "SyncRun", "SyncState", "backup_path", "default_data_dir", "has_store",
           "is_readable_store", "restore"]
