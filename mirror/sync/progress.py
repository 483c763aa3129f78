"""Progress of a running sync on a terminal: one line per plan and walk, rewritten as pages arrive.

Payers' `total` is an estimate at best (SY-5), so this counts what has arrived instead of drawing a bar
towards a number that may be wrong. It writes to stderr and only when stderr is a terminal, so `--json`
output and logs stay clean.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from typing import Protocol, TextIO


class Progress(Protocol):
    def page(self, plan: str, walk: str, pages: int, received: Mapping[str, int]) -> None: ...

    def done(self) -> None: ...


class NoProgress:
    def page(self, plan: str, walk: str, pages: int, received: Mapping[str, int]) -> None:
        pass

    def done(self) -> None:
        pass


class TerminalProgress:
    def __init__(self, stream: TextIO):
        self.stream = stream
        self._shown = False

    def page(self, plan: str, walk: str, pages: int, received: Mapping[str, int]) -> None:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(received.items(), key=lambda item: -item[1]))
        line = f"{plan} {walk}: page {pages}, {sum(received.values())} resources ({kinds})"
        width = shutil.get_terminal_size().columns - 1
        self.stream.write("\r\x1b[K" + line[:width])
        self.stream.flush()
        self._shown = True

    def done(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False


def progress_for(stream: TextIO = sys.stderr) -> Progress:
    """A TerminalProgress when `stream` is a terminal, else one that shows nothing."""
    return TerminalProgress(stream) if stream.isatty() else NoProgress()
