"""The built-in offline model: navec's Russian news word vectors as a sentence-transformers StaticEmbedding.

The `natasha` package ships navec (250 000 words, 300 dimensions, trained on Russian news). The model
is built once from it and saved as an ordinary sentence-transformers model directory, so it is loaded
through `SentenceTransformer(path)` like any hub model. Words are weighted SIF-style, a / (a + p(word)),
with p from navec's own word counts, so that frequent function words barely move a text's vector.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import regex

from rag.settings import cache_dir

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from rag.embeddings import Embedder

NAME = "navec-news-v1-static"
"""The name indexes record for this model."""

VERSION = "1"
SIF_A = 1e-3
"""SIF smoothing: a word with relative frequency p counts a / (a + p)."""

WORD = r"\w+(?:-\w+)*"
"""A token of the model: a word, hyphenated words kept whole (the tokenizer's regex, Oniguruma syntax)."""
_WORD = regex.compile(WORD.replace(r"\w", r"[\p{L}\p{M}\p{Nd}\p{Pc}]"))
"""The same in Python: Oniguruma's Unicode \\w is letters, marks, decimal digits and connectors."""


def navec_path() -> Path:
    """The navec archive bundled with `natasha`."""
    import natasha

    return Path(natasha.__file__).parent / "data" / "emb" / "navec_news_v1_1B_250K_300d_100q.tar"


def model_dir() -> Path:
    """Where the built model lives in the cache."""
    return cache_dir() / "models" / f"{NAME}-{VERSION}"


def _tokenizer(words: list[str], unk: str):
    """A word-level tokenizer over navec's vocabulary: lower case, words with inner hyphens kept whole."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token=unk))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(WORD), behavior="isolated", invert=False)
    return tokenizer


def build(target: Path) -> None:
    """Build the model from navec into the folder `target` (which must not exist yet)."""
    from navec import Navec
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules.normalize import Normalize
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    navec = Navec.load(str(navec_path()))
    vectors = navec.pq.unpack().astype(np.float32)
    counts = np.asarray(navec.vocab.counts, dtype=np.float64)
    weights = SIF_A / (SIF_A + counts / counts.sum())
    vectors *= weights[:, None].astype(np.float32)
    unk = navec.vocab.words[navec.vocab.unk_id]
    vectors[navec.vocab.unk_id] = 0.0
    vectors[navec.vocab.pad_id] = 0.0
    static = StaticEmbedding(_tokenizer(navec.vocab.words, unk), embedding_weights=vectors)
    model = SentenceTransformer(modules=[static, Normalize()], device="cpu")
    model.save(str(target))


def ensure() -> Path:
    """The model's directory, built on first use (written aside and renamed, so never half-built)."""
    target = model_dir()
    if (target / "modules.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{NAME}-", dir=target.parent))
    try:
        build(tmp / "model")
        try:
            os.rename(tmp / "model", target)
        except OSError:  # another process finished first: its copy is as good as ours
            if not (target / "modules.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


class StaticEncoder:
    """Encodes text exactly as the offline model does (the sum of its words' vectors, unit length), in numpy.

    SentenceTransformer.encode spends about 0.3 ms per call on bookkeeping, and its tokenizer about
    0.3 ms per 1000 characters, around a microsecond of arithmetic: for a word-vector model, finding the
    words with a regular expression and adding their rows is the same result at a tenth of the cost.
    Read-only after construction, so threads may share it.
    """

    def __init__(self, model: SentenceTransformer) -> None:
        static = model[0]
        self._token_id = static.tokenizer.token_to_id
        self.vectors = static.embedding.weight.detach().numpy()
        self.dimension = self.vectors.shape[1]

    def word_ids(self, text: str) -> list[int]:
        """Rows of the words of `text` that the model knows, in order (unknown words have no vector)."""
        ids = (self._token_id(w) for w in _WORD.findall(unicodedata.normalize("NFC", text).lower()))
        return [i for i in ids if i is not None]

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of `texts` (zero for a text without known words), one row each."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = self.word_ids(text)
            if ids:
                out[row] = self.vectors[ids].sum(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


def static_encoder(embedder: Embedder) -> StaticEncoder | None:
    """The fast encoder for an embedder holding this offline model, None for any other model."""
    return StaticEncoder(embedder.model) if embedder.name == NAME else None
