"""Pausing Python's cycle collector while a page of parsed JSON lives, so it is freed without being walked.

A page of 100 EOBs parses into some 40,000 dicts and lists. Each 700 containers allocated set off a
collection, and the collections walk what the page has built so far, again and again, while JSON, a tree,
holds no cycle for them to find: half of a page parse was spent there. Paused over a page's whole life (fetch,
parse, commit), the page's containers are freed by reference counting before any collection sees them,
which also takes back their count; paused over the parse only, the next collection walks the live page.
Cycles other code makes meanwhile (the HTTP library's, say) wait for the first collection after the pause.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cycle collector for the block; a caller that has already paused it keeps it paused."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
