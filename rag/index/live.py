"""The live version of each index, opened once per process and swapped when an update commits a new one.

Reading never builds an index: a missing one is an error naming the command that builds it. The search layer
(`rag.search.live`) answers from the version opened here, and the article listing (`rag.index.listing`) lists it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from rag.index import store
from rag.index.store import Stored

log = logging.getLogger("rag")
T = TypeVar("T")

_keys: dict[str | Path, Path] = {}
"""Index paths as given, resolved once: resolving on every question costs more than the search."""
_open: dict[Path, Stored] = {}
_stamps: dict[Path, tuple[int, int, int] | None] = {}
"""The CURRENT file as it was when its version was last found to be the cached one."""
_failed: dict[Path, str | None] = {}
_open_lock = threading.Lock()


def key(index: str | Path) -> Path:
    """The index path resolved (once per spelling): what the caches of the live versions are keyed by."""
    return _keys.get(index) or _keys.setdefault(index, Path(index).resolve())


def open_stored(index: str | Path) -> Stored:
    """The live version of `index`, opened and cached; reopened when the index changes.

    When a changed index fails to load, the last good version keeps serving (with the error logged).
    """
    path = key(index)
    cached = _open.get(path)
    stamp = store.pointer_stamp(path)
    if cached is not None and stamp is not None and stamp == _stamps.get(path):
        return cached
    if cached is not None and store.current_version(path) in (cached.version, _failed.get(path)):
        _stamps[path] = stamp
        return cached
    if cached is not None and not _open_lock.acquire(blocking=False):
        return cached  # another thread is loading the new version: keep answering from this one
    if cached is None:
        _open_lock.acquire()
    try:
        return _reload(path)
    finally:
        _open_lock.release()


def _reload(path: Path) -> Stored:
    """The live version, opening it if needed; called with `_open_lock` held."""
    cached = _open.get(path)
    version = store.current_version(path)
    if cached is not None and version in (cached.version, _failed.get(path)):
        return cached
    stored, fresh = last_good(lambda: store.load(path), cached)
    if fresh:
        _open[path] = stored
    else:
        _failed[path] = version
    return stored


def last_good(make: Callable[[], T], cached: T | None) -> tuple[T, bool]:
    """What `make` builds and True, or `cached` and False (the error logged) when it fails and there is one:
    a broken new version never takes down the one serving."""
    try:
        return make(), True
    except Exception as exc:
        if cached is None:
            raise
        log.error("keeping the previous index: %s", exc)
        return cached, False
