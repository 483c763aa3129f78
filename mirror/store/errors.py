"""The store's failures, each with a message the CLI prints as it is: no traceback, no resource content."""


class StoreError(Exception):
    """The base of every store failure; its message tells the user what happened and what to do."""


class StoreLocked(StoreError):
    """Another process (or another Store in this one) holds the single-writer lock (requirement ST-4)."""

    def __init__(self, message: str, pid: int | None):
        super().__init__(message)
        self.pid = pid


class StoreWriteFailed(StoreError):
    """A write did not reach the disk (full, read-only, gone); the file still holds the last good commit."""


class StoreCorrupt(StoreError):
    """The store file cannot be read; it is left untouched and nothing is written (requirement ST-6)."""

    def __init__(self, message: str, backup: str | None):
        super().__init__(message)
        self.backup = backup


class StoreVersionError(StoreError):
    """The file was written in a format this version cannot read or migrate (requirement ST-8)."""


class InvalidResource(StoreError):
    """A resource that cannot be stored as JSON under a FHIR (type, id), at `index` in its call; nothing was stored."""

    def __init__(self, message: str, index: int):
        super().__init__(message)
        self.index = index


class ReadOnlyStore(StoreError):
    """A write was asked of a store opened for reading."""
