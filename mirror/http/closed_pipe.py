"""A command whose reader went away (`mirror status | head -3`) stops quietly, as `yes | head` does.

Python ignores SIGPIPE, so writing to a pipe nobody reads raises BrokenPipeError, once where the command
writes and again when the interpreter flushes stdout at exit. Each command's `main` catches it in one place
and calls `closed_pipe()`; the mock's command uses it too.
"""

from __future__ import annotations

import os
import signal
import sys

CLOSED_PIPE = 128 + getattr(signal, "SIGPIPE", 13)  # what a shell reports for a command its reader left: 141


def closed_pipe() -> int:
    """So that a server stopped with its output pipe closed exits quietly instead of failing at exit.

    Points stdout at the null device, so that the flush at exit has nowhere to fail, and returns the
    conventional exit status."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return CLOSED_PIPE
