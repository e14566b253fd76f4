"""Word-vector models read without torch: a sentence-transformers StaticEmbedding folder is a tokenizer
and a table of vectors, and a text's vector is the normalised sum of its tokens' rows.

`SentenceTransformer` would compute the same vectors, but importing it (and torch) costs ~8 s on two
cores: more than a one-off `rag ask` or `rag index` with a word-vector model should take in all.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from rag.errors import ModelUnavailable
from rag.models.base import Progress

_STATIC = "StaticEmbedding"
_NORMALIZE = "Normalize"


def is_static(folder: Path) -> bool:
    """Whether `folder` is a sentence-transformers model made of a StaticEmbedding and at most Normalize."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return bool(kinds) and kinds[0] == _STATIC and all(k == _NORMALIZE for k in kinds[1:])


def _mapped_table(path: Path) -> np.ndarray:
    """The float32 `embedding.weight` of a safetensors file, memory-mapped rather than read (300 MB for navec:
    a question only touches the rows of its words). The format: an 8-byte header length, a JSON header
    giving each tensor's dtype, shape and byte range, then the data."""
    with open(path, "rb") as fh:
        length = int.from_bytes(fh.read(8), "little")
        header = json.loads(fh.read(length))
    spec = header["embedding.weight"]
    start, end = spec["data_offsets"]
    rows, columns = spec["shape"]
    if spec["dtype"] != "F32" or end - start != rows * columns * 4:
        raise ValueError(f"embedding.weight is {spec['dtype']} {spec['shape']}, not a float32 matrix")
    return np.memmap(path, dtype="<f4", mode="r", offset=8 + length + start, shape=(rows, columns))


class StaticEmbedder:
    """An `Embedder` over a StaticEmbedding folder, with its saved query/document prompts (thread-safe)."""

    def __init__(self, name: str, folder: Path) -> None:
        from tokenizers import Tokenizer

        self.name = name
        try:
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            self._table = _mapped_table(folder / "model.safetensors")
            config = json.loads((folder / "config_sentence_transformers.json").read_text(encoding="utf-8"))
        except Exception as exc:  # any damage (missing file, bad JSON, wrong tensor) is reported alike
            raise ModelUnavailable(f"cannot load the word-vector model in {folder}: {exc}") from exc
        prompts = config.get("prompts") or {}
        self._query = prompts.get("query") or ""
        self._document = next((prompts[k] for k in ("document", "passage", "corpus") if prompts.get(k)), "")
        self.dimension = int(self._table.shape[1])
        self._lock = threading.Lock()  # tokenizers must not be called from several threads at once

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        with self._lock:
            encodings = self._tokenizer.encode_batch([prompt + t for t in texts], add_special_tokens=False)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, encoding in enumerate(encodings):
            if encoding.ids:
                out[row] = self._table[encoding.ids].sum(axis=0)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def load(self) -> None:
        """Nothing to do: the vectors are mapped when the model is opened."""

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query)

    def encode_passages(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        vectors = self._encode(texts, self._document)
        if progress is not None:
            progress(len(texts))
        return vectors

    def encode_sentences(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._document)
