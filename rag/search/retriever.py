"""Searching one opened index version: candidates, fusion, and re-scoring by the closest sentence.

The weights come from the index (`rag.fitted`: fitted per model by `rag-bench tune`), so an index answers with
the values fitted for the model it was built with.
"""

from __future__ import annotations

import copy
import functools
import heapq
import logging
from dataclasses import dataclass

import numpy as np

from rag import language
from rag.deprecated import renamed
from rag.errors import IndexDamaged, ModelMismatch
from rag.fitted import Fitted
from rag.index import sentences as sentence_store
from rag.index import stories
from rag.index.filters import Filter, admitted
from rag.index.manifest import ArticleEntry
from rag.index.store import Stored
from rag.index.words import StoredPassage
from rag.models import Embedder
from rag.search import no_answer
from rag.search.candidates import POOL, Candidates, Query, gather
from rag.search.sentences import SentenceCache, Sentences, analyse

log = logging.getLogger("rag")

SENTENCE_CACHE = 4096
"""Passages whose sentences (spans, terms, vectors) are kept for key quotes and re-scoring."""
FILTER_CACHE = 32
SHARES_CACHE = 256
"""Questions' word shares in an article kept (`Retriever.word_shares`): an answer judges several passages of one
article, and a question asking for the latest judges every close passage."""
ARTICLE_CACHE = 1024
"""Articles whose metadata and search terms are kept (`Retriever.article`, `Retriever.article_terms`): a
question reads those of its few best passages', and questions come in runs about one article."""
"""Filters whose passage masks are kept (a mask is one byte per passage id)."""
WARM_UP = "Что произошло?"
"""What `Retriever.warm_up` searches for."""
WARM_PASSAGES = 256
"""Passages of the newest articles whose sentences `Retriever.warm_up` analyses (~0.3 ms each): a small index
whole, an archive's latest news, which are what people ask about."""


@dataclass(frozen=True)
class Copy:
    """Another outlet's copy of a passage's story (`rag.index.stories`): its article's title, file, date,
    publisher and link."""

    title: str
    source: str
    date: str | None = None
    publisher: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Passage:
    """A retrieved passage: `text == article_text[start:end]` of the article at `source`; `id` names it in
    its index."""

    title: str
    source: str
    text: str
    start: int
    end: int
    score: float
    date: str | None = None
    publisher: str | None = None
    url: str | None = None
    id: int = -1
    same_story: tuple[Copy, ...] = ()
    """The other articles telling the same story (republished by other outlets), which answers show once."""
    article = renamed("article", "title")
    """The title's old name."""


FIXED_BY_INDEX = ("chunk_size", "chunk_overlap", "prefix")
"""Fitted settings an index was built with: its passages and terms hold them, a retriever cannot change them."""


class Retriever:
    """One opened index version with its model, answering searches (thread-safe). `fitted` defaults to the
    values the index was built with; `with_fitted` gives a copy answering with others."""

    def __init__(self, stored: Stored, embedder: Embedder, fitted: Fitted | None = None) -> None:
        if embedder.dimension != stored.manifest.dimension:
            raise ModelMismatch(
                f"the index holds {stored.manifest.dimension}-dimensional vectors but {embedder.name} gives "
                f"{embedder.dimension}; run: rag index --rebuild"
            )
        self.stored = stored
        self.embedder = embedder
        self.words = stored.words
        self._fitted = fitted or stored.manifest.fitted
        self.sentence_cache = SentenceCache(SENTENCE_CACHE)
        self.admitted = functools.lru_cache(maxsize=FILTER_CACHE)(self._admitted)
        self.word_shares = functools.lru_cache(maxsize=SHARES_CACHE)(self._word_shares)
        self.article = functools.lru_cache(maxsize=ARTICLE_CACHE)(self._article)
        self.article_terms = functools.lru_cache(maxsize=ARTICLE_CACHE)(self._article_terms)

    @property
    def version(self) -> str:
        return self.stored.version

    @property
    def fitted(self) -> Fitted:
        """The retrieval settings this retriever answers with."""
        return self._fitted

    def with_fitted(self, fitted: Fitted) -> Retriever:
        """A copy answering with other settings (what `rag-bench tune` and the tests try), sharing this one's index
        version, model and caches; ValueError when `fitted` changes a setting the index was built with."""
        changed = [name for name in FIXED_BY_INDEX if getattr(fitted, name) != getattr(self._fitted, name)]
        if changed:
            raise ValueError(f"{', '.join(changed)} are the index's own: build another index to change them")
        twin = copy.copy(self)
        twin._fitted = fitted
        return twin

    def query(self, question: str, vector: np.ndarray | None = None, where: Filter | None = None) -> Query:
        """The question's terms, vector (encoded unless given), language and filter, computed once for ranking
        and for the key quote."""
        if vector is None:
            vector = self.embedder.encode_queries([question])[0]
        return Query(question, self.words.terms(question), vector, language.detect(question), where or None)

    def candidates(self, query: Query, n: int = POOL, best: int | None = None) -> Candidates:
        """The pooled candidate passages of a question with their scores (`rag.search.candidates`); with `best`,
        exact only as far as the `best` first by fused score need."""
        return gather(query, self.stored.vectors, self.words, n,
                      None if best is None else (self.dense_weight(query), best),
                      None if query.where is None else self.admitted(query.where))

    def _word_shares(self, terms: tuple[str, ...], source: str) -> tuple[float, float]:
        """`no_answer.word_shares` of a question's search `terms` in the article at `source` (cached)."""
        return no_answer.word_shares(self.words, terms, self.article_terms(source))

    def _article(self, source: str) -> ArticleEntry:
        """The indexed article at `source` (cached: `ARTICLE_CACHE`)."""
        return self.stored.manifest.articles[source]

    def _article_terms(self, source: str) -> frozenset[str]:
        """The search terms of the article at `source`, as its passages are indexed (cached): what the no-answer
        rule asks of the best passage's article, without a word-index search per question word."""
        passages = self.words.passages(list(self.article(source).ids)).values()
        return frozenset(term for p in passages for term in self.words.terms(p.text))

    def _admitted(self, where: Filter) -> np.ndarray:
        return admitted(self.stored.manifest, where)

    @functools.cached_property
    def publishers(self) -> list[str]:
        """The publishers of the indexed articles, sorted (read once per index version)."""
        return sorted({publisher for (publisher,) in self.stored.manifest.articles.columns("publisher") if publisher})

    @functools.cached_property
    def stories(self) -> dict[str, tuple[str, ...]]:
        """The articles of every story more than one article tells, by each of their sources: the live articles
        linked by shared band keys (`rag.index.stories.groups`; read once per index version)."""
        rows = list(self.stored.manifest.articles.columns("source", "bands"))
        return stories.stored_groups([source for source, _ in rows], [bands for _, bands in rows])

    def dense_weight(self, query: Query) -> float:
        """The dense score's share for this question: all of it when the question is in another language."""
        return self.fitted.dense_weight if query.same_language else 1.0

    def no_answer_below(self, query: Query, sentence: bool = False) -> float:
        """The best passage score (or, with `sentence`, the best sentence similarity) under which the index
        holds no answer to this question: thresholds of its own for questions in another language."""
        f = self.fitted
        if sentence:
            return f.sentence_below if query.same_language else f.sentence_below_cross
        return f.no_answer_below if query.same_language else f.no_answer_below_cross

    def warm_up(self) -> None:
        """Search once (for `WARM_UP`), so that what the first search of a process pays (the question encoder's
        load and first run, the first FAISS and tantivy searches, the story groups, lazy imports, thread pools)
        is paid when the index is opened, not by its first question: 3× a warm one before (docs/benchmarks.md);
        and analyse the sentences and the words of the newest `WARM_PASSAGES` passages and their articles, as
        their first question would (a damaged block of their sentence vectors is raised to the questions that read
        it, not to the opening)."""
        articles = self.stored.manifest.articles
        if not len(articles):
            return
        self.search(WARM_UP, k=1)
        ids: list[int] = []
        for first, count, source in heapq.nlargest(WARM_PASSAGES, articles.columns("first", "passages", "source")):
            if len(ids) >= WARM_PASSAGES:
                break
            ids += range(first, first + count)
            self.article_terms(source)
        ids = ids[:WARM_PASSAGES]
        try:
            self._sentences(list(self.words.passages(ids).values()))
        except IndexDamaged as exc:
            log.debug("left to the questions that read it: %s", exc)  # `rag ask` says it once, as its error

    def search(self, question: str | Query, k: int = 3) -> list[Passage]:
        """The `k` best passages for a question, best first.

        With `rerank_depth` fitted, the best max(k, depth) passages are re-scored by their sentence closest in
        meaning to the question (weight `rerank_weight`): a passage that says the answer in one sentence beats
        one that is only about the same subject throughout, which matters most across languages.
        """
        if k <= 0:
            return []
        query = question if isinstance(question, Query) else self.query(question)
        f = self.fitted
        depth = max(k, f.rerank_depth if f.rerank_weight else 0)
        if self.stories:  # the best copy of each story: every pooled passage's score exact, as far as it may go
            ids, scores = self.candidates(query, max(POOL, depth)).best(self.dense_weight(query), max(POOL, depth))
            passages, scores = self._one_copy(ids, scores, depth)
        else:
            ids, scores = self.candidates(query, max(POOL, depth), depth).best(self.dense_weight(query), depth)
            stored = self.words.passages(ids)
            passages = [stored[int(i)] for i in ids]
        if f.rerank_weight and f.rerank_depth:
            closest = np.array([(s.vectors @ query.vector).max(initial=-1.0) for s in self._sentences(passages)])
            scores = (1 - f.rerank_weight) * scores + f.rerank_weight * closest
            order = np.lexsort((np.arange(len(passages)), -scores))  # stable: ties keep the fused order
            passages, scores = [passages[i] for i in order], scores[order]
        return [self.passage(p, score) for p, score in zip(passages[:k], scores[:k])]

    def _one_copy(self, ids: np.ndarray, scores: np.ndarray, depth: int) -> tuple[list[StoredPassage], np.ndarray]:
        """The first `depth` passages, best first, of articles no better-scoring article tells the story of: a
        story republished by several outlets is answered from its best-scoring copy (fetched `depth` at a time)."""
        chosen: list[StoredPassage] = []
        kept: list[float] = []
        copy: dict[str, str] = {}
        for at in range(0, len(ids), depth):
            stored = self.words.passages(ids[at:at + depth])
            for i, score in zip(ids[at:at + depth], scores[at:at + depth]):
                passage = stored[int(i)]
                if copy.setdefault(self.stories.get(passage.source, (passage.source,))[0], passage.source) == passage.source:
                    chosen.append(passage)
                    kept.append(float(score))
            if len(chosen) >= depth:
                break
        return chosen[:depth], np.array(kept[:depth], dtype=np.float32)

    def passage(self, stored: StoredPassage, score: float) -> Passage:
        """A stored passage with its article's metadata, the other copies of its story, and a score, as answers
        give it."""
        meta = self.article(stored.source)
        copies = tuple(Copy(other.title, source, other.date, other.publisher, other.url)
                       for source in self.stories.get(stored.source, ()) if source != stored.source
                       for other in [self.article(source)])
        return Passage(meta.title, stored.source, stored.text, stored.start, stored.end, round(float(score), 4),
                       meta.date, meta.publisher, meta.url, stored.id, copies)

    def similarities(self, query: Query, passage: Passage) -> np.ndarray:
        """Cosine of the question with each sentence of a passage."""
        return self.sentences(passage).vectors @ query.vector

    def sentences(self, passage: Passage) -> Sentences:
        """The sentences of a passage of this index (analysed once, then cached)."""
        return self._sentences([StoredPassage(passage.id, passage.source, passage.start, passage.end, passage.text)])[0]

    def _sentences(self, passages: list[StoredPassage]) -> list[Sentences]:
        """The sentences of passages (`sentence_cache`), those not cached yet analysed together with the vectors
        the index stored for them."""
        return self.sentence_cache.get(passages, self._analyse)

    def _analyse(self, passages: list[StoredPassage]) -> list[Sentences]:
        stored = self.stored.vectors.sentences([p.id for p in passages])
        return analyse([(p.text, p.start) for p in passages], stored, self.words.terms, self._encode)

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Sentence vectors an index of format 5 did not store, as it would have."""
        return sentence_store.stored(self.embedder.encode_sentences(texts))
