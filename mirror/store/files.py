"""The data folder, and the store file's durable append and atomic replace, so a crash leaves a whole file."""

import contextlib
import logging
import os
import stat
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import platformdirs

from mirror.store.errors import StoreError, StoreWriteFailed

if os.name == "posix":
    import fcntl

log = logging.getLogger(__name__)

DATA_DIR_ENV = "MIRROR_DATA_DIR"
STORE_FILE_NAME = "mirror.jsonl.zst"  # in the data folder
PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
TEMP_SUFFIX = ".tmp"

# Antivirus scanners and indexers on Windows hold a fresh file a moment; os.replace fails until they let go.
REPLACE_RETRY_DELAYS = (0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0)

# (inode, size, mtime in ns): a commit changes the size, a compaction the inode.
FileSignature = tuple[int, int, int]


def default_data_dir() -> Path:
    """`MIRROR_DATA_DIR` when set, else the platform's user data folder for payer-mirror."""
    configured = os.environ.get(DATA_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    return platformdirs.user_data_path("payer-mirror", appauthor=False)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Create files readable by their owner only (DR-1); held only around creation, as the umask is process-wide."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def ensure_private_folder(folder: Path) -> None:
    """Create `folder` with mode 0700, or narrow an existing one that others can read (DR-1: warn and fix)."""
    with private_umask():
        folder.mkdir(mode=PRIVATE_FOLDER_MODE, parents=True, exist_ok=True)
    narrow_mode(folder, PRIVATE_FOLDER_MODE)


def narrow_mode(path: Path, mode: int) -> None:
    """Remove permissions beyond `mode` from an existing path, saying so: PHI must stay private (DR-1)."""
    if os.name != "posix":
        return
    current = stat.S_IMODE(path.stat().st_mode)
    if current & ~mode:
        log.warning("%s was readable by others (mode %o); narrowing it to %o", path, current, mode)
        path.chmod(mode)


def signature(file: Path | int) -> FileSignature | None:
    """The identity of the file at a path or of an open file (which a rename cannot change); None when absent."""
    try:
        info = os.stat(file)
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def fsync_file(fd: int) -> None:
    """Make what was written to `fd` durable (ST-2); on macOS with `F_FULLFSYNC`, as SQLite does, where allowed."""
    if sys.platform == "darwin":
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
            return
    os.fsync(fd)


def replace_with_retry(source: Path, target: Path) -> None:
    """`os.replace` that waits out a transient PermissionError, then fails loudly (ST-3); never writes in place."""
    for delay in (*REPLACE_RETRY_DELAYS, None):
        try:
            os.replace(source, target)
            return
        except PermissionError as error:
            if delay is None:
                raise StoreError(f"Could not replace {target} ({error.strerror}): another program, such as an antivirus "
                                 "scanner or a file indexer, keeps it open. Nothing was changed; try again.") from error
            time.sleep(delay)


def write_atomically(path: Path, content: bytes | Iterable[bytes], backup: Path | None = None) -> None:
    """Replace `path` with `content` so a crash leaves the old or the new file (ST-1), the old one kept as `backup`."""
    folder = path.parent
    with private_umask():
        fd, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    temp_path = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as temp_file:
            temp_file.writelines((content,) if isinstance(content, bytes) else content)
            temp_file.flush()
            fsync_file(temp_file.fileno())
        if backup is not None and path.exists():
            keep_as_backup(path, backup)
        replace_with_retry(temp_path, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            temp_path.unlink()
        if isinstance(error, OSError):
            raise StoreWriteFailed(f"Could not write {path}: {error.strerror or error}. The store is unchanged.") from error
        raise
    if os.name == "posix":  # Windows cannot open folders; NTFS journals renames
        fd = os.open(folder, os.O_RDONLY)
        try:
            fsync_file(fd)
        finally:
            os.close(fd)


def append_durably(path: Path, data: bytes, at: int) -> None:
    """Write `data` at `at` durably (ST-2), cutting off what followed, so the file ends with a whole commit."""
    try:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.ftruncate(fd, at)
            os.lseek(fd, at, os.SEEK_SET)
            written = memoryview(data)
            while written:
                written = written[os.write(fd, written):]
            fsync_file(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, at)
            raise
        finally:
            os.close(fd)
    except OSError as error:
        raise StoreWriteFailed(f"Could not write {path}: {error.strerror or error}. The store is unchanged.") from error


def keep_as_backup(path: Path, backup: Path) -> None:
    """Make `backup` another name (or, without hard links, a copy) of the file at `path`, never written in place."""
    link_path = path.parent / f".{backup.name}.link{TEMP_SUFFIX}"
    with contextlib.suppress(FileNotFoundError):
        link_path.unlink()
    try:
        try:
            os.link(path, link_path)
        except OSError:
            with private_umask():
                link_path.write_bytes(path.read_bytes())
        replace_with_retry(link_path, backup)
    except BaseException:
        with contextlib.suppress(OSError):
            link_path.unlink()
        raise


def remove_stale_temporaries(path: Path) -> None:
    """Delete temporary files that a killed writer left beside `path`; only the lock holder may call this."""
    for leftover in path.parent.glob(f".{path.name}*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            leftover.unlink()
