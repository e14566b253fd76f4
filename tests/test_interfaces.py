"""The conformance suite of the index's interfaces: every `VectorIndex` and `LexicalIndex` implementation
(FAISS segments and tantivy in the index folder, a Milvus collection through Milvus Lite) runs these tests, against a reference: exact inner products for vectors, bm25s' Lucene BM25 for words.

An implementation joins by adding a builder to `VECTOR_INDEXES` or `LEXICAL_INDEXES`: a function that
stores passages (ids, vectors or texts), deletes some, and opens the result as a reader.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import bm25s
import numpy as np
import pytest

from rag.index import milvus
from rag.index import vectors as vector_segments
from rag.index.bm25 import TermStats
from rag.index.filters import Filter
from rag.index.manifest import SegmentEntry
from rag.index.vectors import FaissSegments, VectorIndex
from rag.index.words import LexicalIndex, StoredPassage, TantivyWords, WordsWriter
from rag.text import terms

DIMENSION = 16


def sentences_of(ids) -> list[np.ndarray]:
    """Made-up sentence vectors of passages: `id % 4` sentences each (some none), float16 as stored."""
    return [unit(int(i) % 4, seed=int(i) + 100).astype(np.float16) for i in ids]


def packed_sentences(ids) -> tuple[np.ndarray, np.ndarray]:
    """`sentences_of(ids)` as an update hands them over: the counts, and the vectors one passage after another."""
    each = sentences_of(ids)
    return np.array([len(v) for v in each], dtype=np.int32), np.concatenate(each).reshape(-1, DIMENSION)


def faiss_segments(folder: Path, ids: np.ndarray, vectors: np.ndarray, deleted: set[int],
                   approximate_from: int | None = None) -> VectorIndex:
    """Vectors in FAISS segments: the rows split over three segments, as three updates would write them."""
    entries: list[SegmentEntry] = []
    for n, part in enumerate(np.array_split(np.arange(len(ids)), 3)):
        entries.append(vector_segments.write_segment(folder, f"s-{n}", ids[part], vectors[part],
                                                     packed_sentences(ids[part]), approximate_from))
    live = np.zeros(int(ids.max()) + 1, dtype=bool)
    live[ids] = True
    live[list(deleted)] = False
    return FaissSegments(folder, entries, live, DIMENSION)


def hnsw_segments(folder: Path, ids: np.ndarray, vectors: np.ndarray, deleted: set[int]) -> VectorIndex:
    """The same, each segment an HNSW graph (searched approximately)."""
    return faiss_segments(folder, ids, vectors, deleted, approximate_from=1)


def milvus_collection(folder: Path, stats: TermStats, prefix: int = 0):
    """A new collection in a Milvus Lite database of this test, and a writer to it."""
    client = milvus.connect(str(folder / "milvus.db"))
    milvus.create_collection(client, "passages", DIMENSION)
    return milvus.MilvusWriter(client, "passages", stats, prefix, sentences=True)


def _ranges(ids) -> list[tuple[int, int]]:
    return [(int(i), int(i) + 1) for i in ids]


def milvus_vectors(folder: Path, ids: np.ndarray, vectors: np.ndarray, deleted: set[int]) -> VectorIndex:
    """Vectors in a Milvus collection (Milvus Lite), inserted in three batches, the deleted ones then removed."""
    writer = milvus_collection(folder, TermStats.empty())
    for part in np.array_split(np.arange(len(ids)), 3):
        writer.add([StoredPassage(int(i), f"a{i}", 0, 1, "текст") for i in ids[part]], vectors[part],
                   packed_sentences(ids[part]), "", None, None)
        writer.flush()
    writer.delete(_ranges(deleted))
    live = np.zeros(int(ids.max()) + 1, dtype=bool)
    live[ids] = True
    live[list(deleted)] = False
    rows = milvus.MilvusPassages(writer.client, "passages", int(ids.max()) + 1, live, retired=0)
    return milvus.MilvusVectors(rows, DIMENSION, sentences=True)


VECTOR_INDEXES = {"faiss-flat": faiss_segments, "faiss-hnsw": hnsw_segments, "milvus": milvus_vectors}


def implementations(builders: dict) -> list:
    """The builders' names as parameters; Milvus Lite's (a second to start each) run in `make test-all`, and
    `make test` keeps one Milvus round trip (tests/test_milvus.py)."""
    return [pytest.param(name, marks=pytest.mark.slow) if name == "milvus" else name for name in sorted(builders)]


def unit(rows: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(rows, DIMENSION)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(params=implementations(VECTOR_INDEXES))
def vector_case(request, tmp_path: Path):
    """An implementation holding 300 vectors with sparse ids (as after merges), 40 of them deleted."""
    ids = np.arange(0, 900, 3, dtype=np.int64)
    vectors = unit(len(ids), seed=1)
    deleted = {int(i) for i in ids[::7][:40]}
    index = VECTOR_INDEXES[request.param](tmp_path, ids, vectors, deleted)
    live = np.array([i not in deleted for i in ids])
    return index, ids[live], vectors[live]


def test_a_vector_index_finds_the_nearest_live_passages(vector_case) -> None:
    index, ids, vectors = vector_case
    assert isinstance(index, VectorIndex) and index.dimension == DIMENSION
    queries = unit(30, seed=2)
    recall = []
    for q in queries:
        found, scores = index.search(q, 10)
        exact = ids[np.argsort(-(vectors @ q), kind="stable")[:10]]
        recall.append(len(set(found) & set(exact)) / 10)
        assert np.all(np.diff(scores) <= 1e-6), "best first"
        np.testing.assert_allclose(scores, index.vectors(found) @ q, atol=1e-5)
    assert np.mean(recall) >= 0.99


def test_deleted_passages_are_never_found(vector_case) -> None:
    index, ids, _ = vector_case
    found, _ = index.search(unit(1, seed=3)[0], 1000)
    assert sorted(found) == sorted(ids), "every live passage once, no deleted one"


def test_vectors_come_back_by_id(vector_case) -> None:
    index, ids, vectors = vector_case
    pick = np.array([ids[5], ids[0], ids[-1]])
    np.testing.assert_allclose(index.vectors(pick), vectors[[5, 0, len(ids) - 1]], atol=1e-6)
    assert index.vectors(np.zeros(0, dtype=np.int64)).shape == (0, DIMENSION)


def test_sentence_vectors_come_back_by_id_as_stored(vector_case) -> None:
    index, ids, _ = vector_case
    pick = [int(ids[7]), int(ids[0]), int(ids[-1]), int(ids[8]), int(ids[9]), int(ids[10])]  # 0 to 3 sentences
    found = index.sentences(pick)
    assert [len(v) for v in found] == [i % 4 for i in pick]
    for got, expected in zip(found, sentences_of(pick)):
        assert got.dtype == np.float16 and np.array_equal(got, expected)


def test_an_empty_search_is_empty(vector_case) -> None:
    index, _, _ = vector_case
    found, scores = index.search(unit(1, seed=4)[0], 0)
    assert len(found) == len(scores) == 0


def test_a_masked_search_finds_the_nearest_allowed_passages_only(vector_case) -> None:
    index, ids, vectors = vector_case
    allowed = np.zeros(int(ids.max()) + 1, dtype=bool)
    allowed[ids[1::2]] = True  # every other live passage, as a filter by date or publisher admits
    recall = []
    for q in unit(30, seed=6):
        found, _ = index.search(q, 10, allowed)
        assert allowed[found].all()
        exact = ids[1::2][np.argsort(-(vectors[1::2] @ q), kind="stable")[:10]]
        recall.append(len(set(found) & set(exact)) / 10)
    assert np.mean(recall) >= 0.99
    assert len(index.search(unit(1, seed=7)[0], 10, np.zeros_like(allowed))[0]) == 0


def test_ties_come_in_id_order(tmp_path: Path) -> None:
    vectors = np.repeat(unit(1, seed=5), 6, axis=0)
    for name, make in VECTOR_INDEXES.items():
        index = make(tmp_path / name, np.arange(6, dtype=np.int64), vectors, set())
        assert list(index.search(vectors[0], 6)[0]) == list(range(6)), name


# --- words ---------------------------------------------------------------------------------------------

TEXTS = [
    "Казахстан установил дипломатические отношения со 186 государствами.",
    "Военные расходы стран мира выросли; военные бюджеты растут.",
    "Музей угля в Караганде открыт с 2021 года.",
    "Дипломатические отношения с Монголией: визит президента Казахстана.",
    "Погода в Астане: снег, ветер и мороз.",
    "Ёлка на площади Астаны и новогодние праздники в Казахстане.",
    "Порт в Актау построят для контейнеров.",
]


def tantivy_words(folder: Path, passages: list[StoredPassage], deleted: set[str]) -> LexicalIndex:
    """Words in tantivy, added in two commits (as two updates would), some articles then deleted."""
    writer = WordsWriter(folder, prefix=5)
    for p in passages[:3]:
        writer.add([p], "Заголовок", "2025-01-02", "Zakon.kz")
    writer.commit()
    writer = WordsWriter(folder, prefix=5)
    for p in passages[3:]:
        writer.add([p], "Заголовок", None, None)
    writer.delete(sorted(deleted))
    return TantivyWords(folder, prefix=5, files=writer.commit())


def milvus_words(folder: Path, passages: list[StoredPassage], deleted: set[str]) -> LexicalIndex:
    """Words as BM25 sparse vectors in Milvus (Milvus Lite), added in two batches, some articles then deleted
    (first out of the statistics, then out of the collection, as an update does around its commit)."""
    writer = milvus_collection(folder, TermStats.empty(), prefix=5)
    vectors = unit(len(passages), seed=6)  # unused by word searches
    writer.add(passages[:3], vectors[:3], packed_sentences(range(3)), "Заголовок", "2025-01-02", "Zakon.kz")
    writer.flush()
    writer.add(passages[3:], vectors[3:], packed_sentences(range(3, len(passages))), "Заголовок", None, None)
    writer.flush()
    gone = _ranges(p.id for p in passages if p.source in deleted)
    writer.forget(gone)
    writer.delete(gone)
    live = np.zeros(max(p.id for p in passages) + 1, dtype=bool)
    live[[p.id for p in passages if p.source not in deleted]] = True
    rows = milvus.MilvusPassages(writer.client, "passages", len(live), live, retired=0)
    return milvus.MilvusWords(rows, writer.stats, prefix=5)


LEXICAL_INDEXES = {"tantivy": tantivy_words, "milvus": milvus_words}


def reference_bm25(documents: list[list[str]], query: list[str]) -> np.ndarray:
    """bm25s' Lucene BM25 (k1 1.2, b 0.75, tantivy's), divided by the query terms' total idf: the 0-1 scale."""
    reference = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    reference.index(documents, show_progress=False)
    n = len(documents)
    known = [t for t in dict.fromkeys(query) if t in reference.vocab_dict]
    idf = sum(np.log1p((n - sum(t in d for d in documents) + 0.5) / (sum(t in d for d in documents) + 0.5))
              for t in dict.fromkeys(query))
    return reference.get_scores(known) / idf if known else np.zeros(n)


@pytest.fixture(params=implementations(LEXICAL_INDEXES))
def word_case(request, tmp_path: Path):
    """An implementation holding the passages of TEXTS (one article each), articles a2 and a4 deleted."""
    passages = [StoredPassage(10 + i, f"a{i}", 7 * i, 7 * i + len(t), t) for i, t in enumerate(TEXTS)]
    index = LEXICAL_INDEXES[request.param](tmp_path, passages, {"a2", "a4"})
    return index, [p for p in passages if p.source not in {"a2", "a4"}]


@pytest.mark.parametrize("name", implementations(LEXICAL_INDEXES))
def test_bm25_scores_are_the_reference_scores(name: str, tmp_path: Path) -> None:
    passages = [StoredPassage(i, f"a{i}", 0, len(t), t) for i, t in enumerate(TEXTS)]
    index = LEXICAL_INDEXES[name](tmp_path, passages, set())
    documents = [terms(t, 5) for t in TEXTS]
    for question in ("дипломатические отношения Казахстана", "военные расходы", "Астана ёлка мороз", "бешбармак"):
        query = index.terms(question)
        assert query == terms(question, 5)
        ids, _ = index.search(query, 10)
        expected = reference_bm25(documents, query)
        np.testing.assert_allclose(index.scores(query, np.arange(len(TEXTS))), expected, atol=1e-5)
        assert list(ids) == [i for i in np.lexsort((np.arange(len(TEXTS)), -expected)) if expected[i] > 0]


def test_deleted_passages_leave_the_ranking_of_the_rest(word_case) -> None:
    index, live = word_case
    assert isinstance(index, LexicalIndex)
    query = index.terms("дипломатические отношения Казахстана")
    ids, scores = index.search(query, 10)
    reference = reference_bm25([terms(p.text, 5) for p in live], query)
    expected = {p.id: s for p, s in zip(live, reference) if s > 0}
    assert set(ids) == set(expected)
    # deleted passages still count in the statistics until a merge drops them (as in Lucene): ranks agree
    assert list(ids) == sorted(expected, key=lambda i: (-expected[i], i))
    assert all(0 < s <= 1 for s in scores)


def test_scores_of_given_passages_agree_with_the_search(word_case) -> None:
    index, live = word_case
    query = index.terms("военные расходы Казахстана")
    ids, scores = index.search(query, 10)
    wanted = np.array([p.id for p in live])
    given = index.scores(query, wanted)
    found = dict(zip(ids.tolist(), scores.tolist()))
    for i, score in zip(wanted.tolist(), given.tolist()):
        assert score == pytest.approx(found.get(i, 0.0), abs=1e-6)


def test_a_filtered_search_ranks_only_the_admitted_passages(word_case) -> None:
    index, live = word_case
    query = index.terms("дипломатические отношения Казахстана музей")
    everywhere = dict(zip(*(a.tolist() for a in index.search(query, 10))))
    dated = [p.id for p in live if p.source in {"a0", "a1"}]  # the first commit's articles: 2025-01-02, Zakon.kz
    for where in (Filter(publisher="Zakon.kz"), Filter(since=datetime.date(2025, 1, 2)),
                  Filter(until=datetime.date(2025, 1, 2), publisher="Zakon.kz")):
        ids, scores = index.search(query, 10, where)
        assert list(ids) == [i for i in everywhere if i in dated], where
        assert scores.tolist() == pytest.approx([everywhere[i] for i in ids])
    for where in (Filter(publisher="ТАСС"), Filter(since=datetime.date(2025, 1, 3)),
                  Filter(until=datetime.date(2025, 1, 1))):
        assert len(index.search(query, 10, where)[0]) == 0, where


def test_unseen_terms_weigh_most_and_match_nothing(word_case) -> None:
    index, _ = word_case
    assert index.idf("нетакогослова") > max(index.idf(t) for t in index.terms("Казахстан военные"))
    assert len(index.search(["нетакогослова"], 5)[0]) == 0
    assert len(index.search([], 5)[0]) == 0


def test_passages_come_back_whole_and_deleted_ones_are_gone(word_case) -> None:
    index, live = word_case
    assert index.passages([p.id for p in live]) == {p.id: p for p in live}
    assert index.passages([12, 14]) == {}, "the deleted articles' passages"
    ids, _ = index.search(index.terms("музей угля погода"), 10)
    assert 12 not in ids and 14 not in ids
