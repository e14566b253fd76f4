"""The conformance suite of the `IndexWriter` interface: every writer (tantivy and FAISS segments in the index
folder, a Milvus collection through Milvus Lite) goes through the same updates (adds, a delete, a replace,
each committed) by `rag.index.store.Update`, and the readers then return the same passages, vectors, sentence
vectors and searches, and what the updates left live, no more.

Made-up vectors keep it free of models. A writer joins by adding its backend to `BACKENDS`.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexDamaged
from rag.fitted import Fitted
from rag.index import checksums, store, stories
from rag.index.filters import Filter, admitted
from rag.index.manifest import MILVUS, Backend, Manifest
from rag.index.table import ArticleEntry
from rag.index.writers import IndexWriter

DIMENSION = 16
ARTICLES = {  # source: (date, publisher, passages)
    "a0.md": ("2025-01-02", "Zakon.kz", ["Казахстан установил дипломатические отношения со 186 государствами.",
                                         "Визит президента Казахстана в Монголию укрепил отношения."]),
    "a1.md": (None, None, ["Музей угля в Караганде открыт с 2021 года."]),
    "a2.md": ("2025-03-01T09:00", "ТАСС", ["Военные расходы стран мира выросли.",
                                           "Военные бюджеты растут, расходы на оборону тоже."]),
}
LATER = {
    "a0.md": ("2025-02-10", "Zakon.kz", ["Казахстан и Монголия подписали договор о дипломатических отношениях."]),
    "a3.md": ("2025-1-5", "ТАСС", ["Порт в Актау построят для контейнеров.", "Погода в Астане: снег и мороз."]),
}
"""The second update: a0.md replaced, a1.md removed, a3.md added (its date no ISO date: undated everywhere)."""
WIDE = "расходы порт дипломатические отношения контейнеров"
"""Words of every live article."""
QUESTIONS = ["дипломатические отношения Казахстана", "военные расходы", "порт контейнеров", "музей угля", "бешбармак"]


def unit(rows: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(rows, DIMENSION)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def add(update: store.Update, source: str, date: str | None, publisher: str | None, texts: list[str]) -> None:
    """Add an article of these passages with made-up vectors: `len(text) % 3` sentences each."""
    spans, at = [], 0
    for text in texts:
        spans.append((at, at + len(text), text))
        at += len(text) + 1
    seed = sum(map(ord, " ".join(texts)))
    counts = np.array([len(t) % 3 for t in texts], dtype=np.int32)
    entry = ArticleEntry(str(seed), source.removesuffix(".md"), 0, 0, date, publisher, text_hash=str(seed),
                         bands=stories.encode(stories.keys_of(" ".join(texts))))
    update.add(source, entry, spans, unit(len(texts), seed), (counts, unit(int(counts.sum()), seed + 1)))


def build(index: Path, backend: Backend) -> tuple[store.Stored, store.Stored]:
    """The index after both updates, written through the backend's writer, and after a third that only
    optimizes (the local word index then drops its deleted passages from its statistics)."""
    with store.writing(index):
        update = store.Update(index, None, Manifest("made-up", DIMENSION, Fitted(), "", "", backend=backend))
        assert isinstance(update.writer, IndexWriter)
        for source, article in ARTICLES.items():
            add(update, source, *article)
        update.commit()
        previous = store.read_manifest(index)[1]
        update = store.Update(index, previous, previous)
        update.delete(["a0.md", "a1.md"])
        for source, article in LATER.items():
            add(update, source, *article)
        update.commit()
        updated = store.load(index)
        previous = store.read_manifest(index)[1]
        store.Update(index, previous, previous, optimize=True).commit()
    return updated, store.load(index)


BACKENDS = {"local": lambda folder: Backend(), MILVUS: lambda folder: Backend(MILVUS, str(folder / "passages.db"))}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[store.Stored, store.Stored]:
    return build(tmp_path_factory.mktemp("local") / "index", Backend())


@pytest.fixture(scope="module", params=[name for name in BACKENDS if name != "local"])
def built_other(request, tmp_path_factory: pytest.TempPathFactory) -> tuple[store.Stored, store.Stored]:
    folder = tmp_path_factory.mktemp(request.param)
    return build(folder / "index", BACKENDS[request.param](folder))


@pytest.fixture(scope="module")
def local(built) -> store.Stored:
    """The local index after the two updates."""
    return built[0]


@pytest.fixture(scope="module")
def other(built_other) -> store.Stored:
    """Another backend's index after the same updates."""
    return built_other[0]


def test_the_updates_leave_what_they_wrote_live_and_no_more(local: store.Stored) -> None:
    articles = local.manifest.articles
    assert sorted(articles) == ["a0.md", "a2.md", "a3.md"]
    live = {i: source for source, entry in articles.items() for i in entry.ids}
    stored = local.words.passages(range(local.manifest.next_id))
    assert {i: p.source for i, p in stored.items()} == live, "the removed and replaced passages are gone"
    expected = {**ARTICLES, **LATER}
    assert [p.text for p in sorted(stored.values(), key=lambda p: p.id)] == \
        [t for source in ("a2.md", "a0.md", "a3.md") for t in expected[source][2]], "ids in the order added"
    found, _ = local.vectors.search(unit(1, seed=9)[0], 100)
    assert sorted(found.tolist()) == sorted(live)
    assert local.words.search(local.words.terms("музей угля"), 10)[0].size == 0, "a1.md's words are gone"


def test_the_readers_return_the_same_after_the_same_updates(local: store.Stored, other: store.Stored) -> None:
    assert other.manifest.articles == local.manifest.articles and other.manifest.next_id == local.manifest.next_id
    ids = list(range(local.manifest.next_id))
    assert other.words.passages(ids) == local.words.passages(ids)
    live = [i for i in ids if i in local.words.passages(ids)]
    np.testing.assert_array_equal(other.vectors.vectors(np.array(live)), local.vectors.vectors(np.array(live)))
    for got, expected in zip(other.vectors.sentences(live), local.vectors.sentences(live)):
        assert got is not None and np.array_equal(got, expected)
    for seed in range(5):
        query = unit(1, seed=20 + seed)[0]
        for found, expected in zip(other.vectors.search(query, 4), local.vectors.search(query, 4)):
            np.testing.assert_allclose(found, expected, atol=1e-5)


def test_word_searches_agree_whatever_the_writer(built, built_other) -> None:
    """The same passages in the same order; the same scores once the local word index has merged its deleted
    passages away (until then they count in its statistics, as in Lucene: `rag index --optimize`)."""
    for (local, other), exact in zip(zip(built, built_other), (False, True)):
        for question in QUESTIONS:
            query = local.words.terms(question)
            found, expected = other.words.search(query, 10), local.words.search(query, 10)
            assert found[0].tolist() == expected[0].tolist(), question
            if exact:
                np.testing.assert_allclose(found[1], expected[1], atol=1e-5, err_msg=question)
                ids = np.arange(local.manifest.next_id)
                np.testing.assert_allclose(other.words.scores(query, ids), local.words.scores(query, ids), atol=1e-5)
                assert [other.words.frequency(t) for t in query] == [local.words.frequency(t) for t in query]
                assert all(local.words.frequency(t) == len(local.words.search([t], 1000)[0]) for t in query)


@pytest.mark.parametrize("where", [Filter(publisher="ТАСС"), Filter(since=datetime.date(2025, 2, 1)),
                                   Filter(until=datetime.date(2025, 3, 1), publisher="ТАСС")])
def test_filtered_searches_read_dates_as_the_filter_does(local: store.Stored, where: Filter) -> None:
    """The word index dates an article as `rag.dates.day` reads it, as the vector filter does: a date-time by
    its day, "2025-1-5" not at all."""
    allowed = admitted(local.manifest, where)
    query = local.words.terms(WIDE)
    everywhere = local.words.search(query, 10)[0].tolist()
    assert local.words.search(query, 10, where)[0].tolist() == [i for i in everywhere if allowed[i]], where
    found = local.vectors.search(unit(1, seed=30)[0], 10, allowed)[0].tolist()
    assert sorted(found) == np.flatnonzero(allowed).tolist(), where


@pytest.mark.parametrize("where", [Filter(publisher="ТАСС"), Filter(since=datetime.date(2025, 2, 1)),
                                   Filter(until=datetime.date(2025, 3, 1), publisher="ТАСС")])
def test_filtered_searches_agree_whatever_the_writer(local: store.Stored, other: store.Stored, where: Filter) -> None:
    query, allowed = local.words.terms(WIDE), admitted(local.manifest, where)
    assert other.words.search(query, 10, where)[0].tolist() == local.words.search(query, 10, where)[0].tolist()
    vector = unit(1, seed=30)[0]
    assert other.vectors.search(vector, 10, allowed)[0].tolist() == local.vectors.search(vector, 10, allowed)[0].tolist()


def rewritten(index: Path, backend: dict) -> None:
    """Give the live version's manifest another backend record (and CURRENT its checksum)."""
    version = store.current_version(index)
    data = json.loads((index / version / "manifest.json").read_bytes()) | {"backend": backend}
    raw = json.dumps(data).encode()
    (index / version / "manifest.json").write_bytes(raw)
    (index / store.POINTER).write_text(f"{version} {checksums.of_bytes(raw)}")


def test_the_backend_record_reads_what_earlier_versions_wrote_and_refuses_others(tmp_path: Path) -> None:
    index = tmp_path / "index"
    with store.writing(index):
        store.Update(index, None, Manifest("made-up", DIMENSION, Fitted(), "", "")).commit()
    assert "backend" not in json.loads((index / store.current_version(index) / "manifest.json").read_bytes())
    older = {"kind": MILVUS, "uri": "/srv/passages.db", "collection": "rag_0", "retired": [[3, 5]]}  # no sentences
    rewritten(index, older)
    backend = store.read_manifest(index)[1].backend
    assert backend == Backend(MILVUS, "/srv/passages.db", "rag_0", ((3, 5),), sentences=False) and backend.remote
    assert backend.to_json() == older | {"sentences": False}
    rewritten(index, {"kind": "elastic", "uri": "http://127.0.0.1:9200"})
    with pytest.raises(IndexDamaged, match="garbles backend 'elastic'.*run: rag index --rebuild"):
        store.read_manifest(index)
