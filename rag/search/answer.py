"""Answers: the key quote (verbatim sentences of the best passage), the passages, or an honest "no answer".

The key quote is the sentence of the best passage that matches the question best, chosen mostly by
meaning (sentence embeddings) and partly by idf-weighted stem overlap (none across languages); a
sentence too short to stand alone (a heading, "Так и есть.") takes the next one with it. A question
asked in another language gets the quote in the articles' Russian, and is told so in its own.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from rag import language
from rag.deprecated import old_json_keys
from rag.errors import RagError
from rag.fitted import Fitted
from rag.index.filters import Filter, make_filter
from rag.search import answer_type, emphasis, followup, no_answer, question, recency
from rag.search.candidates import Query
from rag.search.live import open_index
from rag.search.retriever import Passage, Retriever
from rag.search.scope import scope
from rag.search.sentences import Sentences, balanced
from rag.search.summary import Summary, asks_for_summary, summarise
from rag.settings import MAX_K, MAX_QUESTION

MIN_QUOTE = 60
"""A quote shorter than this many characters takes the following sentence too."""

MIN_WHOLE = 2
"""A sentence answers alone (`Reading.whole`) only for a question of at least this many words: one word
(«Что такое клады?») asks for what the sentences around it say (a neighbour's definition, lost on XQuAD-ru)."""

NO_ANSWER = "В статьях нет ответа на этот вопрос."
NO_ANSWER_IN = {language.EN: "The articles do not answer this question.",
                language.KK: "Мақалаларда бұл сұраққа жауап жоқ."}
"""The no-answer notice for a question in another language, in that language."""
QUOTE_IN_RUSSIAN = {language.EN: "The quote is in Russian, the language of the article.",
                    language.KK: "Дәйексөз мақаланың тілінде, орыс тілінде берілген.",
                    language.OTHER: "Цитата приведена на языке статьи, по-русски."}
"""Said with a quote when the question was not asked in Russian."""
NO_SUMMARY = "В индексе нет статьи, которую можно пересказать."
EMPTY_QUESTION = "Вопрос пуст: напишите, что вы хотите узнать из статей."
NOTHING_ADMITTED = "Под эти условия не подходит ни одна статья индекса: ответ искать не в чем."
NO_ARTICLES = "В индексе пока нет статей: спрашивать не о чем."
"""The notice for a question while the index holds no article (a fresh install with nothing added yet)."""

SURE = 0.8
"""An answer the no-answer rule is less confident of than this is offered as «Возможно:» (a borderline one)."""
PASSAGE_JSON = ("title", "source", "text", "start", "end", "score", "date", "publisher", "url", "same_story")
"""A passage's fields in `Answer.to_json` (`rag ask --json`, the JSON API); "article", the title's old key, too
until 0.2 (`rag.deprecated`)."""

_POINTS_BACK = re.compile(r"(Об этом|Это|Этим|Этого|В их числе|Среди них)\b")
"""How a sentence that cannot stand without the one before it opens ("Об этом заявил…", "В их числе…"):
the two are one statement, and a key quote holding either holds both."""
_ASKING = "кого кому кем чему насколько отчего"
"""Question words that the stop-word list keeps as search terms: no sentence that answers need hold them."""
_PRONOUN = re.compile(r"(Он|Она|Оно|Они|Его|Её|Ее|Их|Ему|Ей|Им|Ими)\b")
"""How a sentence opens whose subject is in the one before it ("Он стал…"): a quote opening so takes that one
(a sentence after the quote opening so is about the same subject, but says something else)."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NAMED = frozenset({question.PERSON, question.ORGANISATION, question.PLACE})
"""What a «кто» / «где» question asks for: someone or somewhere, named."""


@dataclass(frozen=True)
class Answer:
    """The reply to a question.

    `answer` is the key quote, verbatim from `passages[0]` at article offsets
    [`quote_start`, `quote_end`), or None when the corpus holds no answer; for a question about a whole
    article («О чём статья?») it is the `summary`'s sentences joined by " … ", each verbatim at its offsets.
    `notice` tells the user about something done to the question (cut, empty, completed from the earlier
    ones) or why there is no answer; `understood` is the question as searched when a follow-up was completed
    from the earlier questions.
    """

    question: str
    answer: str | None
    passages: list[Passage] = field(default_factory=list)
    quote_start: int | None = None
    quote_end: int | None = None
    notice: str | None = None
    understood: str | None = None
    summary: Summary | None = None
    confidence: float | None = None
    """The no-answer rule's probability that the key quote answers (None: no rule for this model or language)."""
    why: no_answer.Why | None = None
    """Why there is no answer, when the search found passages but none answers."""

    @property
    def tentative(self) -> bool:
        """Whether the quote is a borderline answer, to be offered as «Возможно:» (confidence under `SURE`)."""
        return self.answer is not None and self.confidence is not None and self.confidence < SURE

    def to_json(self) -> dict:
        """The `rag ask --json` object: question, answer and passages (title, source, text, start, end,
        score, date, publisher, url, and same_story: the other outlets' copies of its story); "confidence" (the
        no-answer rule's probability that the quote answers, null without a rule); "understood" only for a
        completed follow-up, "summary" only for an article's summary, "why" only for a decline with a reason."""
        reply = {
            "question": self.question,
            "answer": self.answer,
            "passages": [{**{k: list(v) if k == "same_story" else v for k, v in asdict(p).items() if k in PASSAGE_JSON},
                          **old_json_keys(p)} for p in self.passages],
        }
        if self.understood is not None:
            reply["understood"] = self.understood
        if self.summary is not None:
            reply["summary"] = self.summary.to_json()
        reply["confidence"] = None if self.confidence is None else round(self.confidence, 3)
        if self.why is not None:
            reply["why"] = self.why.english
        return reply


def clean_question(question: str) -> tuple[str, str | None]:
    """The question as searched (control characters dropped, cut to MAX_QUESTION at a word's end) and a notice
    if cut: how long it was, the limit, and where the search stopped."""
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", str(question))).strip()
    if len(text) > MAX_QUESTION:
        cut = text[:MAX_QUESTION].rsplit(" ", 1)[0] or text[:MAX_QUESTION]
        tail = " ".join(cut.split()[-4:])[-60:]
        return cut, (f"Вопрос слишком длинный ({len(text)} символов, можно до {MAX_QUESTION}): искали по первым "
                     f"{len(cut)}, до слов «…{tail}».")
    return text, None


@dataclass(frozen=True)
class Reading:
    """How the sentences of a passage answer a question: each one's quote score, which give the asked answer
    type (`typed`), which may be the key sentence (`fits`: of that type, near the best), and which hold every
    word of the question and its answer type (`whole`: they answer alone; none for a question in another
    language, whose words say nothing about the articles' sentences)."""

    scores: np.ndarray
    typed: np.ndarray
    fits: np.ndarray
    whole: np.ndarray
    windows: np.ndarray
    """Each two sentences i, i + 1 scored as one quote (`window_scores`; -inf across a line break)."""
    named: np.ndarray | None = None
    """For a question asking who or where (`NAMED`): which sentences name someone or somewhere the question does
    not (`new_names`); None for other questions."""


def read(retriever: Retriever, query: Query, passage: Passage) -> Reading | None:
    """The passage's sentences scored for the question, or None when even the closest is under the model's
    sentence threshold.

    Sentences are scored by meaning (cosine with the question) and, for a Russian question, by stem overlap.
    A question that asks "how many" / "when" (with answer types on) fits only sentences holding a number /
    date, scoring near the best.
    """
    fitted = retriever.fitted
    sentences = retriever.sentences(passage)
    dense = retriever.similarities(query, passage)
    if not len(sentences.spans) or dense.max() < retriever.no_answer_below(query, sentence=True):
        return None
    asked = set(query.terms)
    idf = {t: retriever.words.idf(t) for t in asked}
    total = sum(idf.values()) or 1.0

    def share(words: set[str]) -> float:  # of the question's words, by idf
        return sum(idf[t] for t in asked & words) / total

    overlap = np.array([share(words) for words in sentences.terms])
    w = fitted.quote_dense_weight if query.same_language else 1.0
    scores = w * dense + (1 - w) * overlap
    kind = answer_type.expected(query.text) if fitted.answer_types else None
    typed = np.array([kind is None or kind in held for held in sentences.kinds])
    content = asked - set(retriever.words.terms(_ASKING))
    alone = query.same_language and len(content) >= MIN_WHOLE
    whole = typed & np.array([alone and content <= words for words in sentences.terms], dtype=bool)
    windows = window_scores(passage, sentences, query, share, w)
    named = new_names(retriever, passage, sentences, asked) if question.analyse(query.text).kinds & NAMED else None
    return Reading(scores, typed, typed & (scores >= scores.max() - fitted.type_margin), whole, windows, named)


def new_names(retriever: Retriever, passage: Passage, sentences: Sentences, asked: set[str]) -> np.ndarray:
    """Which sentences hold a name (`question.capitalised`: not their first word) whose search terms are not all
    among the question's `asked` ones: those that can say who or where."""
    def names(span: tuple[int, int]) -> bool:
        text = passage.text[span[0] - passage.start:span[1] - passage.start]
        return any(not set(retriever.words.terms(name)) <= asked for name in question.capitalised(text))

    return np.array([names(span) for span in sentences.spans], dtype=bool)


def window_scores(passage: Passage, sentences: Sentences, query: Query, share: Callable[[set[str]], float],
                  w: float) -> np.ndarray:
    """Each two neighbouring sentences of one paragraph scored as one quote, by meaning (the question's cosine with
    the two sentences' vectors summed, a cheap stand-in for the pair's own vector) and, with weight 1 - `w`, by the
    `share` of the question's words either holds; -inf for two sentences across a line break."""
    spans = sentences.spans
    if len(spans) < 2:
        return np.zeros(0)
    summed = sentences.vectors[:-1] + sentences.vectors[1:]
    dense = summed @ query.vector / np.maximum(np.linalg.norm(summed, axis=1), 1e-9)
    held = np.array([share(a | b) for a, b in zip(sentences.terms, sentences.terms[1:])])
    scores = w * dense + (1 - w) * held
    joined = [_same_paragraph(passage, spans, i, i + 1) for i in range(len(spans) - 1)]
    return np.where(joined, scores, -np.inf)


def _same_paragraph(passage: Passage, spans: list[tuple[int, int]], a: int, b: int) -> bool:
    """Whether sentences a < b of the passage are of one paragraph (no line break between them)."""
    return "\n" not in passage.text[spans[a][1] - passage.start:spans[b][0] - passage.start]


@dataclass(frozen=True)
class Evidence:
    """What the no-answer rule weighs for a question and its best passage (`rag.search.no_answer.features`),
    and the question's names that passage's article does not mention."""

    features: np.ndarray
    absent: tuple[str, ...]


def evidence(retriever: Retriever, query: Query, passage: Passage, reading: Reading) -> Evidence:
    """The rule's features of a passage read for a question in the articles' language; the share of unknown words
    is of the whole question's, not of the words a follow-up's quote is chosen with (`rag.search.emphasis`)."""
    names = question.analyse(query.text).names
    article = retriever.article_terms(passage.source)
    absent = tuple(n for n in names if not no_answer.mentioned(retriever.words, n, article))
    found = 1.0 - len(absent) / len(names) if names else 1.0
    closest = float(retriever.similarities(query, passage).max())
    unknown, held = retriever.word_shares(tuple(retriever.words.terms(query.text)), passage.source)
    return Evidence(no_answer.features(passage.score, closest, reading.scores, reading.typed, unknown, held, found),
                    absent)


@dataclass(frozen=True)
class Verdict:
    """Whether a passage answers a question: the key quote's article offsets (None: it does not), the no-answer
    rule's confidence that it does (None without a rule), and why it does not."""

    span: tuple[int, int] | None
    confidence: float | None = None
    why: no_answer.Why | None = None


def judge(retriever: Retriever, query: Query, passage: Passage) -> Verdict:
    """Whether and where `passage` answers the question (`Verdict`).

    It does not when the question is about a person no article names (`no_answer.unheard_of`; in the articles'
    language), when the passage scores under the model's threshold, when `read` finds no sentence close enough
    or none of the asked answer type, or when the fitted no-answer rule (`rag.search.no_answer`) is less confident than its bar.
    """
    fitted = retriever.fitted
    asked = question.analyse(query.text)
    if query.same_language and (missing := [p for p in asked.people if no_answer.unheard_of(retriever.words, p)]):
        return Verdict(None, why=no_answer.unknown_people(missing))
    reading = read(retriever, query, passage) if passage.score >= retriever.no_answer_below(query) else None
    if reading is None:
        return Verdict(None, why=no_answer.too_far(asked))
    if not reading.fits.any():
        return Verdict(None, why=no_answer.why(asked, (), passage.title, typed=False))
    sure = None
    if query.same_language and fitted.no_answer_rule:
        found = evidence(retriever, query, passage, reading)
        sure = no_answer.confidence(fitted.no_answer_rule, found.features)
        if sure < fitted.no_answer_bar:
            return Verdict(None, sure, no_answer.why(asked, found.absent, passage.title, bool(reading.typed.any())))
    return Verdict(quote_span(retriever, passage, reading), sure)


def key_quote(retriever: Retriever, query: Query, passage: Passage) -> tuple[int, int] | None:
    """Article offsets of the sentence(s) of `passage` that answer the question best, or None when none does
    (`judge`)."""
    return judge(retriever, query, passage).span


def quote_span(retriever: Retriever, passage: Passage, reading: Reading) -> tuple[int, int]:
    """Article offsets of the key quote: the best sentence that `reading` fits, with a neighbour
    (`best_with_neighbour`), or the best sentence or window of two holding a sentence it fits (`best_window`,
    with `Fitted.quote_window`); the next one of the paragraph joins when the quote is too short to stand
    alone, and for a question asking who or where, a neighbour of the paragraph that names someone (the next one
    first) when the quote names no one the question does not; a sentence that points back to the one before it
    ("Об этом заявил…") goes with that one, and a quote that opens with a pronoun ("Он стал…") takes the sentence
    it refers to; a quotation mark the quote does not close (or open) is left out (`sentences.balanced`).
    """
    spans = retriever.sentences(passage).spans
    first, last = (best_window if retriever.fitted.quote_window else best_with_neighbour)(retriever.fitted, reading)

    def same_paragraph(a: int, b: int) -> bool:
        return _same_paragraph(passage, spans, a, b)

    while spans[last][1] - spans[first][0] < MIN_QUOTE and last + 1 < len(spans) and same_paragraph(last, last + 1):
        last += 1

    def leans_back(i: int, opening: re.Pattern) -> bool:  # sentence i opens so, after one of its paragraph
        return 0 < i < len(spans) and same_paragraph(i - 1, i) and bool(opening.match(
            passage.text[spans[i][0] - passage.start:spans[i][1] - passage.start]))

    first -= leans_back(first, _POINTS_BACK) or leans_back(first, _PRONOUN)
    last += leans_back(last + 1, _POINTS_BACK)
    if reading.named is not None and not reading.named[first:last + 1].any():  # who / where, and no name said
        nearby = [i for i, edge in ((last + 1, last), (first - 1, first - 1)) if 0 <= i < len(spans)
                  and reading.named[i] and same_paragraph(edge, edge + 1)]
        first, last = (min(first, nearby[0]), max(last, nearby[0])) if nearby else (first, last)
    start, end = balanced(passage.text, spans[first][0] - passage.start, spans[last][1] - passage.start)
    return passage.start + start, passage.start + end


def best_with_neighbour(fitted: Fitted, reading: Reading) -> tuple[int, int]:
    """The first and last sentence of the quote: the best sentence that `reading` fits, and a neighbour of its
    paragraph scoring within `quote_margin` of it unless it holds all the question's words and its answer type
    (`Reading.whole`: the neighbour would answer something else)."""
    scores, paragraph = reading.scores, reading.windows
    first = last = int(np.argmax(np.where(reading.fits, scores, -np.inf)))
    neighbours = [i for i in (first - 1, first + 1) if 0 <= i < len(scores) and paragraph[min(i, first)] > -np.inf]
    if neighbours and not reading.whole[first]:
        other = max(neighbours, key=lambda i: scores[i])
        if scores[first] - scores[other] <= fitted.quote_margin:
            first, last = min(first, other), max(first, other)
    return first, last


def best_window(fitted: Fitted, reading: Reading) -> tuple[int, int]:
    """The first and last sentence of the quote: the best of the sentences `reading` fits (each scoring its own
    score plus `quote_single`) and of the windows of two holding one that fits but does not answer alone
    (`Reading.whole`), each scoring `quote_window` × its window score + the rest × its better sentence's score."""
    scores, windows, a = reading.scores, reading.windows, fitted.quote_window
    fits = np.flatnonzero(reading.fits)
    choices = {(i, i): scores[i] + fitted.quote_single for i in fits}
    for i in fits[~reading.whole[fits]]:
        for j in (i - 1, i):
            if 0 <= j < len(windows) and windows[j] > -np.inf:
                choices[(j, j + 1)] = a * windows[j] + (1 - a) * max(scores[j], scores[j + 1])
    return max(choices, key=choices.get)


def answer(question: str, k: int = 3, index: str | Path = "index", history: Sequence[str] = (), *,
           since: str | datetime.date | None = None, until: str | datetime.date | None = None,
           publisher: str | None = None) -> Answer:
    """Answer `question` from the index: key quote and the `k` best passages, or an honest no-answer.

    `history`: the questions asked before it in the same conversation, oldest first; an elliptical follow-up
    («а когда?») is completed from them (`rag.search.followup`) and the answer says how it was understood.
    `since`/`until` (ISO dates, inclusive) and `publisher` restrict the search to those articles, inside the
    index; without dates, a question about the news that names a period ("что писали в марте 2024?") sets
    them (`rag.search.scope`); the answer's notice says which articles were searched. A question about the
    article as a whole («О чём статья?») gets its summary. Never raises for odd question text: an empty one
    gets a notice instead of a search. `k` is 1 to MAX_K; a bad date, an unknown publisher or a history that
    is not a list of strings raises RagError. Over an index without articles the notice says there is nothing
    to ask about yet (`NO_ARTICLES`).
    """
    check_k(k)
    text, notice = clean_question(question)
    if not any(ch.isalnum() for ch in text):
        return Answer(question, None, notice=EMPTY_QUESTION)
    history = check_history(history)
    retriever = open_index(index)
    if not len(retriever.stored.manifest.articles):
        return Answer(question, None, notice=NO_ARTICLES)
    resolved = followup.resolve(text, history)
    where = scope(resolved.text, since, until, publisher, retriever.publishers)
    if asks_for_summary(text):
        return summarised(retriever, question, text, history, notice)
    notice = _join(understood(resolved.text) if resolved.completed else None, where.notice, notice)
    if where.where is not None and not retriever.admitted(where.where).any():
        return Answer(question, None, notice=_join(notice, NOTHING_ADMITTED))
    reply = respond(retriever, question, resolved, k, notice, where.where)
    return replace(reply, understood=resolved.text) if resolved.completed else reply


def summarised(retriever: Retriever, question: str, text: str, history: list[str], notice: str | None) -> Answer:
    """The reply to a question about a whole article: its extractive summary (`rag.search.summary`)."""
    found = summarise(retriever, text, history)
    if found is None or not found.sentences:
        return Answer(question, None, notice=_join(notice, NO_SUMMARY))
    return Answer(question, " … ".join(s.text for s in found.sentences), notice=_join(notice, found.chosen),
                  summary=found)


def understood(text: str) -> str:
    """The line that tells how a follow-up was understood."""
    return f"Понял вопрос как: «{text}»."


def check_history(history: Sequence[str]) -> list[str]:
    """The last `followup.MAX_HISTORY` earlier questions, cleaned like a question; RagError unless `history`
    is a list of strings."""
    listed = isinstance(history, Sequence) and not isinstance(history, str)
    if not listed or not all(isinstance(h, str) for h in history):
        raise RagError("history must be a list of the earlier questions (strings)",
                       russian="история должна быть списком предыдущих вопросов (строк)")
    return [clean_question(h)[0] for h in history[-followup.MAX_HISTORY:]]


def respond(retriever: Retriever, question: str, text: str | followup.Resolved | None = None, k: int = 3,
            notice: str | None = None, where: Filter | None = None) -> Answer:
    """The answer from a loaded retriever to `question` (searched as `text`, already cleaned, when given: a
    completed follow-up as `followup.Resolved`, its own words weighing more, `rag.search.emphasis`), among the
    articles `where` admits."""
    resolved = text if isinstance(text, followup.Resolved) else followup.Resolved(question if text is None else text)
    asked = emphasis.queries(retriever, resolved, where)
    query = asked.quoted
    ordered = recency.newest_first(retriever.search(asked.ranked, k=max(1, k)), recency.asks_for_latest(query.text),
                                   lambda passage: quote_of(retriever, query, passage))
    return reply(retriever, question, query, ordered.passages, _join(notice, ordered.notice))


def quote_of(retriever: Retriever, query: Query, passage: Passage) -> str | None:
    """The key quote of one passage (`key_quote`) as text, or None when it does not answer."""
    span = key_quote(retriever, query, passage)
    return None if span is None else passage.text[span[0] - passage.start:span[1] - passage.start]


def reply(retriever: Retriever, question: str, query: Query, passages: list[Passage],
          notice: str | None = None) -> Answer:
    """The answer to a question from the passages found for it, best first: the key quote of the first, or no
    answer (`rag-bench tune` tries quote settings on the same passages)."""
    top = passages[0] if passages else None
    verdict = judge(retriever, query, top) if top else Verdict(None)
    if verdict.span is None:
        return Answer(question, None, passages, notice=_join(notice, NO_ANSWER_IN.get(query.language, NO_ANSWER)),
                      confidence=verdict.confidence, why=verdict.why)
    start, end = verdict.span
    notice = _join(notice, QUOTE_IN_RUSSIAN.get(query.language))
    return Answer(question, top.text[start - top.start: end - top.start], passages, start, end, notice,
                  confidence=verdict.confidence)


def check_k(k: int) -> None:
    """Raise RagError unless `k` is a whole number of passages from 1 to MAX_K."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= MAX_K:
        raise RagError(f"k must be a whole number from 1 to {MAX_K}, not {k!r:.20}",
                       russian=f"число отрывков должно быть от 1 до {MAX_K}, а не {k!r:.20}")


def _join(*notices: str | None) -> str | None:
    return " ".join(n for n in notices if n) or None


def retrieve(question: str, k: int = 3, index: str | Path = "index", *, since: str | datetime.date | None = None,
             until: str | datetime.date | None = None, publisher: str | None = None) -> list[Passage]:
    """The `k` best passages for `question` (`k` from 1 to MAX_K), best first (the index is loaded once and
    cached); `since`, `until` and `publisher` as in `answer`, a period named in the question never."""
    check_k(k)
    text, _ = clean_question(question)
    retriever = open_index(index)
    where = make_filter(since, until, publisher, retriever.publishers)
    return retriever.search(retriever.query(text, where=where), k)
