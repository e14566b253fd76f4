"""Loading an embedding model and encoding questions and passages with it.

A model is named by a Hugging Face hub id, a local sentence-transformers directory, or the built-in
offline model (`rag.offline_model.NAME`). When the default hub model is neither cached nor reachable,
the offline model is used instead, with one clear line that says so: the hub is probed once with a
short timeout instead of waiting out the library's retries.
"""

from __future__ import annotations

import logging
import os
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag import offline_model
from rag.errors import ModelUnavailable
from rag.settings import DEFAULT_MODEL

log = logging.getLogger("rag")

PROBE_TIMEOUT = 2.0
"""Seconds to wait for the hub to answer before calling it unreachable."""

KNOWN_PROMPTS = {"e5-": {"query": "query: ", "document": "passage: "}}
"""Prompts of hub models that expect them but do not save them in their configuration, by a part of
their name (the e5 family, multilingual-e5-small included)."""


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


def _word_vectors(model: object) -> tuple[object, np.ndarray] | None:
    """The tokenizer and vector table of a word-vector model (a StaticEmbedding, then at most Normalize);
    None for any other model."""
    from sentence_transformers.base.modules.normalize import Normalize
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    modules = list(model)
    if not isinstance(modules[0], StaticEmbedding) or not all(isinstance(m, Normalize) for m in modules[1:]):
        return None
    return modules[0].tokenizer, modules[0].embedding.weight.detach().numpy()


@dataclass
class Embedder:
    """A loaded sentence-transformers model that encodes questions and passages as unit vectors.

    `name` is what an index records to find the same model again. Encoding is serialised: tokenizers
    are not safe to call from several threads at once, and one question takes milliseconds.

    A word-vector model (StaticEmbedding) is encoded by its own tokenizer and vector table directly:
    the text's vector is the sum of its tokens' rows, as the module computes it, without the ~0.3 ms of
    bookkeeping `SentenceTransformer.encode` spends per call on what is microseconds of arithmetic.
    """

    name: str
    model: object
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _words: tuple[object, np.ndarray] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._words = _word_vectors(self.model)

    @property
    def dimension(self) -> int:
        """Length of the vectors the model produces."""
        return int(self.model.get_embedding_dimension())

    def _sum_word_vectors(self, texts: list[str], prompt: str) -> np.ndarray:
        tokenizer, table = self._words
        with self._lock:
            encodings = tokenizer.encode_batch([prompt + t for t in texts], add_special_tokens=False)
        out = np.zeros((len(texts), table.shape[1]), dtype=np.float32)
        for row, encoding in enumerate(encodings):
            if encoding.ids:
                out[row] = table[encoding.ids].sum(axis=0)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of questions (with the model's query prompt)."""
        if self._words:
            return self._sum_word_vectors(texts, self.model.prompts.get("query") or "")
        with self._lock:
            vectors = self.model.encode_query(texts, normalize_embeddings=True, convert_to_numpy=True)
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def encode_passages(self, texts: list[str], progress: bool = False, batch_size: int = 32) -> np.ndarray:
        """Unit vectors of passages (with the model's document prompt), a progress bar if asked."""
        if self._words:
            prompts = self.model.prompts
            return self._sum_word_vectors(texts, next((prompts[k] for k in ("document", "passage", "corpus")
                                                       if prompts.get(k)), ""))
        with self._lock:
            vectors = self.model.encode_document(
                texts, normalize_embeddings=True, convert_to_numpy=True, batch_size=batch_size,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), -1)


def _sentence_transformer(path_or_name: str, **kwargs) -> object:
    from huggingface_hub.utils import disable_progress_bars
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    disable_progress_bars()  # "Loading weights" bars on every start say nothing to a user
    transformers_logging.disable_progress_bar()

    prompts = _prompts_for(path_or_name)
    return SentenceTransformer(path_or_name, device="cpu", prompts=prompts, **kwargs)


def _offline(reason: str | None = None) -> Embedder:
    if reason:
        log.warning(
            "%s: using the built-in offline Russian model %s (navec word vectors). For the multilingual "
            "model, run once with internet access: rag index --rebuild --model %s",
            reason, offline_model.NAME, DEFAULT_MODEL,
        )
    return Embedder(offline_model.NAME, _sentence_transformer(str(offline_model.ensure())))


def load_model(name: str | None = None) -> Embedder:
    """The embedding model called `name` (default: DEFAULT_MODEL, else the offline model).

    An explicitly named model that cannot be had raises ModelUnavailable; the default one falls back
    to the offline model with a one-line notice, within PROBE_TIMEOUT seconds.
    """
    wanted = name or DEFAULT_MODEL
    if wanted == offline_model.NAME:
        return _offline()
    path = Path(wanted).expanduser()
    if path.exists():
        if not (path / "modules.json").exists() and not (path / "config.json").exists():
            raise ModelUnavailable(f"{wanted} is not a sentence-transformers or transformers model folder")
        resolved = str(path.resolve())
        try:
            return Embedder(resolved, _sentence_transformer(resolved))
        except Exception as exc:  # noqa: BLE001 - any load failure is reported the same way
            raise ModelUnavailable(f"cannot load the model in {wanted}: {exc}") from exc
    if is_cached(wanted):
        return Embedder(wanted, _sentence_transformer(wanted, local_files_only=True))
    if not hub_reachable():
        reason = f"the Hugging Face hub cannot be reached and {wanted} is not cached"
        if name is None:
            return _offline(reason)
        raise ModelUnavailable(f"{reason}; connect once to download it, or pass a local model folder")
    try:
        return Embedder(wanted, _sentence_transformer(wanted))
    except Exception as exc:  # noqa: BLE001
        raise ModelUnavailable(f"cannot load {wanted} from the hub: {exc}") from exc


_shared: dict[str | None, Embedder] = {}
_shared_lock = threading.Lock()


def shared_model(name: str | None = None) -> Embedder:
    """`load_model(name)`, loaded once per process: indexing and retrieval share the same instance."""
    with _shared_lock:
        if name not in _shared:
            _shared[name] = load_model(name)
        return _shared[name]
