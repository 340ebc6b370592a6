"""What the web server keeps rendered, so that a page is rendered once per change.

`PageCache`: whole answers by resource, each with the marker of the data it was made of (the
database's table versions and the official rooms, both known without a query): while the marker
stays the same and the answer's time has not run out, it is served as it is, and a client that
holds it gets 304 before anything is read or rendered. `FeedCache`: calendar files by what they
are made of, so that a write that leaves a feed as it was costs a query but no rendering.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from rules.rendering.calendar_file import FeedEntry, feed_calendar, feed_key

PAGES_KEPT = 256  # rendered answers kept (the public pages, and the personal feeds asked for lately)
FEEDS_KEPT = 64  # rendered feeds kept in memory (the public ones and the personal ones asked for lately)


def etag_of(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


@dataclass(frozen=True)
class Page:
    """A rendered answer: its body and type, when what it shows last changed, and until when it
    holds although nothing is written (a session that ends moves into the archive; None: until
    the data changes). The ETag is the body's hash."""

    body: bytes
    content_type: str
    last_modified: datetime | None = None
    valid_until: datetime | None = None
    status: int = 200
    cache: str = "public, max-age=300"
    etag: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "etag", etag_of(self.body))


class PageCache:
    """Rendered answers by resource, each valid for one marker and until its time runs out; at
    most `size`, the one unused longest going first."""

    def __init__(self, size: int = PAGES_KEPT) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, tuple[Hashable, Page]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, resource: Hashable, marker: Hashable, now: datetime) -> Page | None:
        """The answer rendered for `resource` from the data `marker` stands for, if it still holds."""
        kept = self._pages.get(resource)
        if kept is None or kept[0] != marker or (kept[1].valid_until is not None and now >= kept[1].valid_until):
            return None
        self._pages.move_to_end(resource)
        return kept[1]

    def put(self, resource: Hashable, marker: Hashable, page: Page) -> None:
        self._pages[resource] = (marker, page)
        self._pages.move_to_end(resource)
        while len(self._pages) > self.size:
            self._pages.popitem(last=False)


class FeedCache:
    """Rendered feeds by what they are made of: rendering takes icalendar about a millisecond per
    entry, so a feed is rendered again only when one of its sessions changed."""

    def __init__(self, size: int = FEEDS_KEPT) -> None:
        self.size = size
        self._feeds: OrderedDict[tuple[object, ...], bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._feeds)

    def render(self, entries: list[FeedEntry], name: str, tz: ZoneInfo, domain: str, *, alarms: bool = False) -> bytes:
        key = (name, str(tz), domain, alarms, feed_key(entries))
        body = self._feeds.get(key)
        if body is None:
            body = self._feeds[key] = feed_calendar(entries, name, tz, domain, alarms=alarms)
            while len(self._feeds) > self.size:
                self._feeds.popitem(last=False)
        self._feeds.move_to_end(key)
        return body
