"""A TinyDB Middleware that holds writes in memory until the store commits them (requirement ST-7).

TinyDB writes the whole database after every table operation. A page of a sync touches several tables
(resources, history, sync state, the run record) and must land in one atomic file write, or a crash could
leave data without its checkpoint or the reverse; and writing per operation would rewrite the file
hundreds of times per page. So operations change the in-memory tables only, and `commit` writes them all
at once. It is TinyDB's CachingMiddleware with the flush taken out of its hands: CachingMiddleware flushes
after 1,000 writes, whichever operation that falls in the middle of.
"""

from typing import Any

from tinydb.middlewares import Middleware


class StagedWritesMiddleware(Middleware):
    storage: Any  # the AtomicJSONStorage (storages.py), which TinyDB's types know only as a Storage

    def __init__(self, storage_cls):
        super().__init__(storage_cls)
        self._tables: dict | None = None
        self.pending = False

    def read(self) -> dict:
        if self._tables is None:
            self._tables = self.storage.read() or {}
        return self._tables

    def documents(self, table: str) -> dict:
        """The documents of `table`, read from the file's frames on first use (storages.py)."""
        return self.storage.table(self.read(), table)

    def write(self, data: dict) -> None:
        self._tables = data
        self.pending = True

    def commit(self) -> bool:
        """Write the staged tables to the storage; False when there was nothing to write."""
        if not self.pending:
            return False
        self.storage.write(self._tables)
        self.pending = False
        return True

    def touched(self, table: str, doc_id: str) -> None:
        """A document of `table` is about to change in place, appear or go (tables.py says so)."""
        self.storage.frames.forget(table, doc_id)

    def touched_all(self, table: str) -> None:
        self.storage.frames.forget_table(table)

    def reload(self) -> dict:
        """Drop the in-memory tables and read the storage again (a reader does this when the file changes)."""
        self._tables, self.pending = None, False
        return self.read()

    def close(self) -> None:
        self.storage.close()
