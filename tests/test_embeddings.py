"""Model loading: offline detection is fast and clear, local models load through the same code."""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rag import offline_model
from rag.embeddings import hub_reachable, load_model
from rag.errors import ModelUnavailable
from tests.conftest import ARTICLE


@pytest.fixture
def silent_server():
    """A local TCP server that accepts connections and never answers: a hub that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def _notice_time(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> tuple[float, object]:
    monkeypatch.setattr("rag.embeddings.is_cached", lambda name: False)  # as on a machine that never downloaded it
    started = time.perf_counter()
    stamps: list[float] = []
    handler = logging.Handler()
    handler.emit = lambda record: stamps.append(time.perf_counter())
    logging.getLogger("rag").addHandler(handler)
    try:
        with caplog.at_level(logging.WARNING, logger="rag"):
            embedder = load_model()
    finally:
        logging.getLogger("rag").removeHandler(handler)
    assert stamps, "no notice was given"
    return stamps[0] - started, embedder


def test_hf_hub_offline_falls_back_at_once(monkeypatch, caplog) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    seconds, embedder = _notice_time(caplog, monkeypatch)
    assert seconds < 3 and embedder.name == offline_model.NAME and embedder.dimension == 300
    (line,) = [r.getMessage() for r in caplog.records]
    assert "cannot be reached" in line and offline_model.NAME in line and "--model intfloat" in line


def test_a_hub_that_hangs_is_given_up_within_3_seconds(monkeypatch, caplog, silent_server: str) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", silent_server)
    started = time.perf_counter()
    assert hub_reachable() is False
    assert time.perf_counter() - started < 3
    seconds, embedder = _notice_time(caplog, monkeypatch)
    assert seconds < 3 and embedder.name == offline_model.NAME


def test_an_explicit_hub_model_that_cannot_be_had_is_an_error(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match="not cached"):
        load_model("someone/some-model-that-is-not-cached")


def test_a_folder_that_is_not_a_model_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="not a sentence-transformers"):
        load_model(str(tmp_path))


def test_a_local_transformer_model_gets_prompts_pooling_and_normalisation(tiny_model: Path) -> None:
    embedder = load_model(str(tiny_model))
    assert embedder.name == str(tiny_model.resolve()) and embedder.dimension == 32
    text = "Казахстан развивает отношения с соседями"
    as_query, as_passage = embedder.encode_queries([text])[0], embedder.encode_passages([text])[0]
    assert np.isclose(np.linalg.norm(as_query), 1, atol=1e-5) and np.isclose(np.linalg.norm(as_passage), 1, atol=1e-5)
    assert not np.allclose(as_query, as_passage), "the query: / passage: prompts were not applied"
    direct = embedder.model.encode(["query: " + text], normalize_embeddings=True)[0]
    assert np.allclose(as_query, direct, atol=1e-5)


def test_the_offline_model_is_a_saved_static_embedding_model() -> None:
    folder = offline_model.ensure()
    assert (folder / "modules.json").exists() and (folder / "tokenizer.json").exists()
    embedder = load_model(offline_model.NAME)
    army, spending, cooking = embedder.encode_queries(["военные расходы", "траты на армию", "рецепт плова"])
    assert army @ spending > army @ cooking


def test_word_vector_models_are_encoded_as_sentence_transformers_does() -> None:
    """The direct path for StaticEmbedding models gives the vectors `SentenceTransformer.encode` gives."""
    embedder = load_model(offline_model.NAME)
    texts = [ARTICLE.read_text(encoding="utf-8"), "Со сколькими государствами?", "", "!!!", "и́ди 6½ ё-моё C5+1"]
    reference = embedder.model.encode(texts, normalize_embeddings=True)
    assert np.abs(embedder.encode_passages(texts) - reference).max() < 1e-6
    assert np.abs(embedder.encode_queries(texts) - reference).max() < 1e-6
