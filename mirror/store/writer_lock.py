"""One writer per store file (ST-4), by an OS lock the kernel drops when the process dies; readers take none."""

import os
import sys
from pathlib import Path

from mirror.store.errors import StoreLocked
from mirror.store.files import PRIVATE_FILE_MODE, private_umask

if sys.platform != "win32":
    import fcntl
else:
    import msvcrt

# The PID follows byte 0, the byte Windows locks (mandatorily), so a contender can still read who holds it.
_PID_OFFSET = 1


def lock_path(store_path: Path) -> Path:
    return store_path.with_name(f"{store_path.name}.lock")


class WriterLock:
    """An exclusive, non-blocking lock on the store's lock file, taken when made; it names its holder's PID."""

    def __init__(self, store_path: Path):
        self.path = lock_path(store_path)
        with private_umask():
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            if sys.platform != "win32":
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            pid = _read_pid(fd)
            os.close(fd)
            holder = f"process {pid}" if pid is not None else "another process"
            raise StoreLocked(f"{store_path} is being written by {holder} (a sync or another mirror command). Wait "
                              "for it to finish, or stop it, then try again.", pid) from None
        os.ftruncate(fd, _PID_OFFSET)
        os.lseek(fd, _PID_OFFSET, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd: int | None = fd

    def release(self) -> None:
        """Give the lock up. The file stays: deleting it could let two writers lock two different files."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def writer_alive(store_path: Path) -> bool:
    """Whether the last writer still runs, read without locking, so a reader never stands in a writer's way."""
    try:
        fd = os.open(lock_path(store_path), os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        pid = _read_pid(fd)
    finally:
        os.close(fd)
    if pid is None:
        return False
    if os.name != "posix":
        return True  # no check that cannot harm the process: trust the run's mark
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _read_pid(fd: int) -> int | None:
    os.lseek(fd, _PID_OFFSET, os.SEEK_SET)
    text = os.read(fd, 32).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None
