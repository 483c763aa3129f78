"""The mirror's local document store: crash-safe, single-writer, held in memory (ARCHITECTURE.md, "The store file")."""

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
