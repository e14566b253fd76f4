"""navec's Russian news word vectors as a sentence-transformers StaticEmbedding: the small, fast model.

The `natasha` package ships navec (250 000 words, 300 dimensions, trained on Russian news). The model
is built once from it and saved as an ordinary sentence-transformers model directory, so it is loaded
through `SentenceTransformer(path)` like any hub model. Words are weighted SIF-style, a / (a + p(word)),
with p from navec's own word counts, so that frequent function words barely move a text's vector.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.models.base import built_once
from rag.settings import cache_dir

NAME = "navec-news-v1-static"
"""The name indexes record for this model."""

VERSION = "1"
SIF_A = 1e-3
"""SIF smoothing: a word with relative frequency p counts a / (a + p)."""


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
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(r"\w+(?:-\w+)*"), behavior="isolated", invert=False)
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
    """The model's directory, built on first use (see `built_once`)."""
    return built_once(model_dir(), build)
