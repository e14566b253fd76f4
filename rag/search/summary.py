"""Article-level questions («О чём статья?», «Кратко перескажи», «Какие главные тезисы?», "What is the article
about?") answered by an extractive summary: the article's title and date, and its most central sentences,
verbatim with their offsets, in article order.

A sentence is central when its meaning (its e5 vector, the one key quotes use) is close to the mean of all
the article's sentences: what the article keeps saying, not a detail. The lead (a news article's first
sentence) always opens the summary; headings, fragments and sentences leaning on the one before them
(«На этом фоне…», «Это…») are left out where others can be taken.
Which article: the one the question names (its other words searched), else the one the earlier question
was about, else, with several articles, the latest; the summary says which and why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.deprecated import old_json_keys, renamed

from rag.index.manifest import ArticleEntry
from rag.search.retriever import Passage, Retriever
from rag.search.sentences import balanced
from rag.text import terms, words

MAX_PASSAGES = 60
"""Passages of an article read for its summary (about 60,000 characters): a longer one is summarised from its
beginning, and the summary says so."""
MIN_SENTENCE = 40
"""Characters a sentence needs to be part of a summary: headings and fragments do not stand alone."""

_ASKS = re.compile(
    r"о\s+ч[её]м\s+(эта\s+|этот\s+|эти\s+|вся\s+)?(стать|текст|материал|новост|публикаци|заметк|статей|речь)"
    r"|перескаж|пересказ|резюмир|(кратк\w*|основн\w*)\s+(содержани|изложени|смысл)"
    r"|(главн|основн|ключев)\w*\s+(тезис|мысл|иде|момент|положени|вывод)|суть\s+(стать|текст|материал)"
    r"|what\W+(is|'s)\s+(the|this)\s+(article|text|story)\s+about|summar(y|ise|ize)|main\s+(points|ideas)",
    re.IGNORECASE)
_ASKING_WORDS = re.compile(r"^(стат|текст|материал|новост|публикац|заметк|перескаж|пересказ|кратк|вкратц|коротк|"
                           r"главн|основн|ключев|тезис|мысл|иде|момент|положен|вывод|суть|сут|содержан|изложен|"
                           r"смысл|резюм|расскаж|опиш|рассказ|говор|реч|напиш|сформулир|дай|назов|перечисл)")
"""Stems of the words a summary question asks with; any other word of it names the article."""

_LEANS = re.compile(r"(На этом фоне|Это|Этим|Этого|В этой связи|В этом|Тем не менее|Следовательно|То есть|К слову|"
                    r"Как итог|При этом|Поэтому|Однако|Наряду с этим|Все это|Об этом|В их числе|Так,|Дополнительно|"
                    r"Его|Ее|Её|Их|Она|Он|Они|Кроме того|Также)\b")
"""How a sentence that leans on the one before it opens: it is not read alone, so a summary takes it last."""


@dataclass(frozen=True)
class Sentence:
    """A sentence of the summary: its text, verbatim at article offsets [start, end)."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Summary:
    """An article's summary: its metadata, the central sentences in article order, and why this article
    (`chosen`, a Russian line; `shortened` when only the beginning of a long article was read)."""

    title: str
    source: str
    date: str | None
    publisher: str | None
    url: str | None
    sentences: list[Sentence]
    chosen: str | None = None
    article = renamed("article", "title")
    """The title's old name."""

    def to_json(self) -> dict:
        """The summary as `rag ask --json` gives it ("article": the title's old key, until 0.2)."""
        return {"title": self.title, "source": self.source, "date": self.date, "publisher": self.publisher,
                "url": self.url, "chosen": self.chosen,
                "sentences": [{"text": s.text, "start": s.start, "end": s.end} for s in self.sentences],
                **old_json_keys(self)}


def asks_for_summary(question: str) -> bool:
    """Whether a question asks what an article is about as a whole rather than a fact in it."""
    return bool(_ASKS.search(question))


def summarise(retriever: Retriever, question: str, history: Sequence[str] = ()) -> Summary | None:
    """The summary of the article `question` (or else the last question of `history`) points to; None for an
    empty index."""
    articles = retriever.stored.manifest.articles
    if not articles:
        return None
    source, chosen = _choose(retriever, question, history)
    entry = articles[source]
    passages = _passages(retriever, entry)
    sentences = central(retriever, passages)
    if entry.passages > MAX_PASSAGES:
        chosen = " ".join(filter(None, [chosen, f"Статья длинная: пересказ по первым {MAX_PASSAGES} отрывкам "
                                                f"из {entry.passages}."]))
    return Summary(entry.title, source, entry.date, entry.publisher, entry.url, sentences, chosen)


def _choose(retriever: Retriever, question: str, history: Sequence[str]) -> tuple[str, str | None]:
    """Which article to summarise, and the Russian line saying why when the index holds several."""
    articles = retriever.stored.manifest.articles
    if len(articles) == 1:
        return next(iter(articles)), None
    naming = " ".join(w for w in words(question) if (t := terms(w)) and not _ASKING_WORDS.match(t[0]))
    if naming and (found := retriever.search(naming, 1)):
        return found[0].source, f"Статей в индексе {len(articles)}; пересказываю ту, о которой вопрос."
    if history and (found := retriever.search(history[-1], 1)):
        return found[0].source, (f"Статей в индексе {len(articles)}; пересказываю ту, о которой был предыдущий "
                                 "вопрос.")
    latest = max(articles, key=lambda s: (articles[s].date or "", s))
    return latest, (f"Статей в индексе {len(articles)}; пересказываю самую свежую. Назовите в вопросе, о чём "
                    "статья, чтобы выбрать другую.")


def _passages(retriever: Retriever, entry: ArticleEntry) -> list[Passage]:
    """The article's first MAX_PASSAGES passages, in article order."""
    stored = retriever.words.passages(entry.ids[:MAX_PASSAGES])
    return sorted((retriever.passage(p, 0.0) for p in stored.values()), key=lambda p: p.start)


def central(retriever: Retriever, passages: Sequence[Passage]) -> list[Sentence]:
    """The lead and the sentences of the passages closest in meaning to their mean, 3 to 5 in all (one per 10
    sentences), in article order; sentences that overlapping passages share are counted once."""
    found: dict[tuple[int, int], tuple[Sentence, np.ndarray]] = {}
    for p in passages:
        analysed = retriever.sentences(p)
        for (start, end), vector in zip(analysed.spans, analysed.vectors):
            a, b = balanced(p.text, start - p.start, end - p.start)
            found.setdefault((start, end), (Sentence(p.text[a:b], p.start + a, p.start + b), vector))
    kept, last_end = [], -1
    for span in sorted(found, key=lambda s: (s[0], -s[1])):  # the longest of overlapping pieces
        text = found[span][0].text
        if span[0] >= last_end and len(text) >= MIN_SENTENCE and text[-1:] in '.!?…"»”':
            kept.append(found[span])
            last_end = span[1]
    if not kept:
        return []
    vectors = np.stack([vector for _, vector in kept])
    centroid = vectors.mean(axis=0)
    closeness = vectors @ (centroid / (np.linalg.norm(centroid) or 1.0))
    closeness[[bool(_LEANS.match(sentence.text)) for sentence, _ in kept]] -= 1.0  # last, if at all
    closeness[0] += 2.0  # the lead: a news article's first sentence says what it is about
    n = min(len(kept), max(3, min(5, len(kept) // 10)))
    return [kept[i][0] for i in sorted(np.argsort(-closeness)[:n])]
