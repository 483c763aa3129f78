"""A TinyDB Table whose writes cost what they change, not what the table holds.

Stock `Table._update_table` copies the whole table into a new dict, runs the operation and copies it back,
twice O(n) per call (feasibility.md §3: `insert` in a loop is O(n²)). Here the operation runs on the stored
dict itself, seen through a view that gives TinyDB the integer document ids it expects while the storage
keeps JSON's string keys; a page of 100 upserts into 100,000 documents then costs 100 dict operations.
Both reads and writes take the table's documents from the storage's `documents`, which reads a table the file
still holds compressed (frame_cache.py) when it is first used.
"""

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from tinydb.table import Table


class InPlaceTable(Table):
    _storage: Any  # a StagedWritesMiddleware (middlewares.py), which TinyDB's types know only as a Storage

    def _read_table(self) -> dict:
        return self._storage.documents(self.name)

    def _update_table(self, updater: Callable[[MutableMapping], None]) -> None:  # type: ignore[override]  # a view, not a dict
        updater(_IntKeyedView(self._storage.documents(self.name), self.name, self._storage))
        self._storage.write(self._storage.read())
        self.clear_cache()


class _IntKeyedView(MutableMapping):
    """The stored `{"7": document}` dict, as the `{7: document}` dict that TinyDB's updaters work on.

    TinyDB's updaters change a document in place through the document this hands them, so each document it
    hands out or takes is reported to the storage as touched: its compressed frame is stale (frame_cache.py).
    """

    def __init__(self, documents: dict, table: str, storage):
        self._documents = documents
        self._table = table
        self._storage = storage

    def __getitem__(self, doc_id: int) -> dict:
        self._storage.touched(self._table, str(doc_id))
        return self._documents[str(doc_id)]

    def __setitem__(self, doc_id: int, document: dict) -> None:
        self._storage.touched(self._table, str(doc_id))
        self._documents[str(doc_id)] = document

    def __delitem__(self, doc_id: int) -> None:
        self._storage.touched(self._table, str(doc_id))
        del self._documents[str(doc_id)]

    def __contains__(self, doc_id: object) -> bool:
        return str(doc_id) in self._documents

    def __iter__(self) -> Iterator[int]:
        return (int(doc_id) for doc_id in self._documents)

    def __len__(self) -> int:
        return len(self._documents)

    def clear(self) -> None:
        self._storage.touched_all(self._table)
        self._documents.clear()
