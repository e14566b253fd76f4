"""The retriever of each index's live version (`rag.index.live`), made once per version with its model.

Reading never builds an index: a missing one is an error naming the command that builds it.
"""

from __future__ import annotations

import threading
from pathlib import Path

from rag.index import live
from rag.index.store import Stored
from rag.models import shared_model
from rag.search import question
from rag.search.retriever import Retriever

_open: dict[Path, Retriever] = {}
_failed: dict[Path, Stored] = {}
"""The version whose retriever could not be made (its model failed to load): not tried again on every question."""
_open_lock = threading.Lock()


def open_index(index: str | Path) -> Retriever:
    """The retriever for the live version of `index`, cached; replaced when the index changes.

    When a changed index fails to load, or its model does, the last good version keeps serving (with the error
    logged).
    """
    stored = live.open_stored(index)
    key = live.key(index)
    if (kept := _kept(key, stored)) is not None:
        return kept
    with _open_lock:
        if (kept := _kept(key, stored)) is not None:
            return kept
        cached = _open.get(key)
        retriever, fresh = live.last_good(lambda: _opened(stored), cached)
        if fresh:
            _open[key] = retriever
        else:
            _failed[key] = stored
        return retriever


def _kept(key: Path, stored: Stored) -> Retriever | None:
    """The cached retriever when it answers for `stored`, or `stored` is the version its model failed for."""
    cached = _open.get(key)
    return cached if cached is not None and (cached.stored is stored or _failed.get(key) is stored) else None


def _opened(stored: Stored) -> Retriever:
    """A retriever for `stored` that has searched once, with the question analyser loaded, so that its first
    question pays only for itself."""
    retriever = Retriever(stored, shared_model(stored.manifest.model))
    retriever.warm_up()
    question.load()
    return retriever
