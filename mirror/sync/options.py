"""So that the command line builds sync options without importing the engine and its HTTP stack.

What a sync is asked to do, apart from the engine that does it, so that the command line can build its
options without importing the engine and the HTTP stack it stands on (a `mirror status` needs neither)."""

from dataclasses import dataclass, field

from mirror.sync.retry import RetryPolicy

DEFAULT_PAGE_SIZE = 100  # 1up's maximum; plans that clamp it still page correctly (SY-8)
MAX_PAGES = 5000  # per search; 1up's `_skip` stops at 9,990, so 100-resource pages never get near it


@dataclass(frozen=True)
class SyncOptions:
    full: bool = False
    use_everything: bool = True
    page_size: int = DEFAULT_PAGE_SIZE
    max_pages: int = MAX_PAGES
    requests_per_minute: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    validate: bool = True
