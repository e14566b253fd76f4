"""Following news feeds: RSS and Atom (feedparser) and news sitemaps, their state in the index folder.

`rag feeds update` is one pass for cron: each feed is asked with a conditional GET (ETag, Last-Modified), so
an unchanged feed costs one 304 and nothing else; only items not seen before are fetched, one host at a time
with a politeness delay, robots.txt obeyed; every new article is saved through `rag.ingest.pages` and the
index updated once at the end. One dead or broken item is reported and never stops the others.

    add_feed("https://example.org/rss", index="index")
    update_feeds("corpus", "index").skipped    # [(link, reason), ...]
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import feedparser
from filelock import FileLock
from lxml import etree

from rag.corpus import source_name
from rag.errors import RagError
from rag.index.update import BuildReport, build_index
from rag.ingest.extract import article, canonical
from rag.ingest.fetch import Fetched, decode_html, fetch
from rag.ingest.guard import FetchRefused, check_url
from rag.ingest.pages import save

log = logging.getLogger("rag")

STATE = "feeds.json"
"""The feeds and what was seen of them, in the index folder (written whole, atomically)."""

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml", "application/rdf+xml",
              "application/x-rss+xml", "text/html")
"""Content types a feed is served with (some sites send feeds as text/html; feedparser reads them)."""

MAX_FEEDS = 500
MAX_ITEMS = 200
"""Items looked at per feed and pass: a feed or sitemap of thousands is read from its top."""
MAX_SEEN = 5000
"""Links remembered per feed (the newest), so the state file stays small whatever a feed publishes."""
AGENT = "rag-ru-news"
"""Our name in robots.txt's User-agent lines."""


def default_delay() -> float:
    """Seconds between two requests to one host: `$RAG_FEED_DELAY`, else 1."""
    try:
        return max(0.0, float(os.environ.get("RAG_FEED_DELAY", "1")))
    except ValueError:
        return 1.0


@dataclass
class Feed:
    """A followed feed: its link, title, caching validators, when it was last read and the links it gave."""

    url: str
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    updated_at: str | None = None
    seen: list[str] = field(default_factory=list)

    def to_json(self, seen: bool = True) -> dict:
        data = dict(self.__dict__)
        return data if seen else {k: v for k, v in data.items() if k != "seen"} | {"items_seen": len(self.seen)}


@dataclass
class UpdateReport:
    """What one pass did: articles saved (corpus files), items skipped with the reason, feeds unchanged (304),
    and the index update (None when nothing was new)."""

    added: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    index: BuildReport | None = None

    def summary(self) -> str:
        return (f"feeds: {len(self.added)} new article(s), {len(self.skipped)} item(s) skipped, "
                f"{len(self.unchanged)} feed(s) unchanged" + (f"; {self.index.summary()}" if self.index else ""))


def _state_path(index: str | Path) -> Path:
    return Path(index) / STATE


def _lock(index: str | Path) -> FileLock:
    Path(index).mkdir(parents=True, exist_ok=True)
    return FileLock(str(_state_path(index)) + ".lock")


def list_feeds(index: str | Path) -> list[Feed]:
    """The feeds followed for `index`, in the order they were added."""
    try:
        data = json.loads(_state_path(index).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise RagError(f"{_state_path(index)} cannot be read ({exc}): remove it and add the feeds again",
                       russian="список лент повреждён") from None
    return [Feed(**feed) for feed in data.get("feeds", [])]


def _write(index: str | Path, feeds: list[Feed]) -> None:
    """Write the state whole into a temporary file, then rename it over the old one: never half a file."""
    path = _state_path(index)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-feeds-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"feeds": [f.to_json() for f in feeds]}, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


class _Polite:
    """Requests paced per host (at least `delay` seconds apart) and robots.txt asked once per host."""

    def __init__(self, delay: float, timeout: float | None) -> None:
        self.delay, self.timeout = delay, timeout
        self.last: dict[str, float] = {}
        self.robots: dict[str, RobotFileParser] = {}

    def get(self, url: str, **options) -> Fetched:
        host = urlsplit(url).netloc.lower()
        if not self.allowed(url):
            raise FetchRefused(f"robots.txt of {host} disallows {url[:200]}",
                               russian=f"robots.txt сайта {host} запрещает загружать эту страницу")
        self._wait(host)
        return fetch(url, timeout=self.timeout, **options)

    def _wait(self, host: str) -> None:
        pause = self.last.get(host, -1e9) + self.delay - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        self.last[host] = time.monotonic()

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        host = parts.netloc.lower()
        if host not in self.robots:
            robots = RobotFileParser()
            self._wait(host)
            try:
                page = fetch(f"{parts.scheme}://{parts.netloc}/robots.txt", types=("text/plain",),
                             timeout=self.timeout, max_bytes=512 * 1024)
                robots.parse(decode_html(page.data, page.charset).splitlines())
            except FetchRefused:  # no robots.txt (404 and the like): nothing is disallowed
                robots.parse([])
            self.robots[host] = robots
        return self.robots[host].can_fetch(AGENT, url)


def _links(page: Fetched) -> tuple[str | None, list[str]]:
    """A feed's title and item links, newest first as published: RSS/Atom by feedparser, a (news) sitemap's
    <loc> elements by lxml with entities and network access off. RagError when it is neither."""
    head = page.data[:2048].lstrip()
    if b"<urlset" in head or b"<sitemapindex" in head:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        try:
            root = etree.fromstring(page.data, parser)
        except etree.XMLSyntaxError as exc:
            raise RagError(f"{page.url[:200]} is a broken sitemap ({exc})", russian="карта сайта не читается") from None
        return None, [el.text.strip() for el in root.iter("{*}loc") if el.text][:MAX_ITEMS]
    parsed = feedparser.parse(page.data)
    if parsed.bozo and not parsed.entries or not parsed.get("version") and not parsed.entries:
        raise RagError(f"{page.url[:200]} is not an RSS or Atom feed nor a news sitemap",
                       russian="по ссылке нет ленты RSS/Atom или карты сайта")
    links = [entry.get("link") for entry in parsed.entries[:MAX_ITEMS]]
    return parsed.feed.get("title"), [link for link in links if link]


def add_feed(url: str, *, index: str | Path, timeout: float | None = None) -> Feed:
    """Follow the feed at `url` for `index` (read once now to check it is a feed; its items are fetched by the
    next `update_feeds`). RagError for a link refused, a page that is no feed, or one already followed."""
    url = canonical(check_url(url.strip()))
    page = _Polite(0.0, timeout).get(url, types=FEED_TYPES)
    title, _ = _links(page)
    with _lock(index):
        feeds = list_feeds(index)
        if any(f.url == url for f in feeds):
            raise RagError(f"the feed {url} is already followed", russian=f"лента {url} уже добавлена")
        if len(feeds) >= MAX_FEEDS:
            raise RagError(f"at most {MAX_FEEDS} feeds can be followed", russian=f"лент не может быть больше {MAX_FEEDS}")
        feed = Feed(url, title)
        _write(index, [*feeds, feed])
    return feed


def remove_feed(url: str, *, index: str | Path) -> None:
    """Stop following the feed `url` (its articles stay in the corpus). RagError when it is not followed."""
    with _lock(index):
        feeds = list_feeds(index)
        kept = [f for f in feeds if f.url not in (url, canonical(url))]
        if len(kept) == len(feeds):
            raise RagError(f"no feed {url[:200]} is followed", russian=f"ленты {url[:200]} нет в списке")
        _write(index, kept)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _read_feed(feed: Feed, polite: _Polite, corpus: Path, index: Path, report: UpdateReport) -> list[str]:
    """One feed's new items saved into `corpus` (their corpus names returned); skips go into `report`."""
    try:
        page = polite.get(feed.url, types=FEED_TYPES, etag=feed.etag, last_modified=feed.last_modified)
        if page.not_modified:
            report.unchanged.append(feed.url)
            return []
        title, links = _links(page)
    except RagError as exc:
        report.skipped.append((feed.url, str(exc)))
        return []
    feed.title, feed.etag, feed.last_modified = title or feed.title, page.etag, page.last_modified
    seen, saved = set(feed.seen), []
    for link in links:
        key = canonical(link)
        if key in seen:
            continue
        try:
            item = polite.get(link)
            found = article(decode_html(item.data, item.charset), item.url)
            added = save(found, corpus, index=index, fetched_at=_now())
            saved.append(source_name(corpus, added.path))
            report.added.append(added.path)
        except FetchRefused as exc:  # dead, broken or no article: tried again when the feed next changes
            report.skipped.append((link, str(exc)))
            continue
        except RagError as exc:  # refused as an article (a duplicate, say): it will not change, so it is seen
            report.skipped.append((link, str(exc)))
        except Exception as exc:  # noqa: BLE001 (one item's surprise must not stop the others)
            report.skipped.append((link, f"{type(exc).__name__}: {exc}"))
            continue
        seen.add(key)
        feed.seen = [key, *feed.seen][:MAX_SEEN]
    feed.updated_at = _now()
    return saved


def update_feeds(corpus: str | Path, index: str | Path, *, delay: float | None = None,
                 timeout: float | None = None) -> UpdateReport:
    """One pass over every feed of `index`: new items fetched, saved into `corpus` and indexed together; the
    state written after each feed, so a pass stopped midway keeps what it did."""
    corpus, index = Path(corpus), Path(index)
    polite = _Polite(default_delay() if delay is None else delay, timeout)
    report, sources = UpdateReport(), []
    with _lock(index):
        feeds = list_feeds(index)
        for feed in feeds:
            sources += _read_feed(feed, polite, corpus, index, report)
            _write(index, feeds)
    if sources:
        report.index = build_index(corpus, index, only=sources)
    return report


def follow(corpus: str | Path, index: str | Path, minutes: float, stop: threading.Event,
           on_update=None) -> threading.Thread:
    """Run `update_feeds` every `minutes` in a daemon thread until `stop` is set (`rag serve --follow`);
    `on_update(report)` is called after each pass (the chat swaps in the new index there)."""
    def loop() -> None:
        while not stop.is_set():
            try:
                report = update_feeds(corpus, index)
                log.info("%s", report.summary())
                for link, reason in report.skipped:
                    log.warning("skipped: %s: %s", link, reason)
                if on_update is not None:
                    on_update(report)
            except Exception as exc:  # noqa: BLE001 (the chat keeps running; the next pass tries again)
                log.warning("feeds: the update failed: %s", exc)
            stop.wait(minutes * 60)

    thread = threading.Thread(target=loop, name="rag-feeds", daemon=True)
    thread.start()
    return thread
