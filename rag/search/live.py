"""The live version of each index, opened once per process and swapped when an update commits a new one.

Reading never builds an index: a missing one is an error naming the command that builds it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from rag.index import store
from rag.models import shared_model
from rag.search.retriever import Retriever

log = logging.getLogger("rag")

_keys: dict[str | Path, Path] = {}
"""Index paths as given, resolved once: resolving on every question costs more than the search."""
_open: dict[Path, Retriever] = {}
_stamps: dict[Path, tuple[int, int, int] | None] = {}
"""The CURRENT file as it was when its version was last found to be the cached one."""
_failed: dict[Path, str | None] = {}
_open_lock = threading.Lock()


def open_index(index: str | Path) -> Retriever:
    """The retriever for the live version of `index`, cached; reloaded when the index changes.

    When a changed index fails to load, the last good version keeps serving (with the error logged).
    """
    key = _keys.get(index) or _keys.setdefault(index, Path(index).resolve())
    cached = _open.get(key)
    stamp = store.pointer_stamp(key)
    if cached is not None and stamp is not None and stamp == _stamps.get(key):
        return cached
    if cached is not None and store.current_version(key) in (cached.version, _failed.get(key)):
        _stamps[key] = stamp
        return cached
    if cached is not None and not _open_lock.acquire(blocking=False):
        return cached  # another thread is loading the new version: keep answering from this one
    if cached is None:
        _open_lock.acquire()
    try:
        return _reload(key)
    finally:
        _open_lock.release()


def _reload(key: Path) -> Retriever:
    """The retriever for the live version, opening it if needed; called with `_open_lock` held."""
    cached = _open.get(key)
    version = store.current_version(key)
    if cached is not None and version in (cached.version, _failed.get(key)):
        return cached
    try:
        stored = store.load(key)
        retriever = Retriever(stored, shared_model(stored.manifest.model))
        retriever.warm_up()
    except Exception as exc:
        if cached is None:
            raise
        log.error("keeping the previous index: %s", exc)
        _failed[key] = version
        return cached
    _open[key] = retriever
    return retriever
