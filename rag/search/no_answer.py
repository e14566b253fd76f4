"""Whether the best passage answers a question: a small logistic rule over the evidence, its confidence, and why not.

The passage's score and its closest sentence's similarity alone cannot tell a question the article answers
in other words from one about the same subject that it does not answer. How well the passage's best sentence
of the asked answer type (`answer_type`: a number, a date) scores tells more ("when did X join the WTO"
against a passage that names the WTO but gives no date); so do how much of the question is words no article
holds at all, how much of the rest (weighted by idf: the rare words count most) the passage's article holds,
and whether that article mentions the names the question is about (`rag.search.question`): a question about
an article that is not indexed lands on a neighbouring subject's article, which lacks its rare words. The
same shares over the passage alone do not help: paraphrased questions that the article does answer often
take their words from its other passages (measured: they declined more answerable questions). `rag-bench
tune` fits the weights per model (`Fitted.no_answer_rule`, for questions in the articles' language) and the
confidence under which the rule declines (`Fitted.no_answer_bar`); a model without them keeps only its
thresholds. A question about a person of whose name no article holds a word («Нильс Бор») is declined before the rule.
"""

from __future__ import annotations

import math
from collections.abc import Container, Sequence
from dataclasses import dataclass

import numpy as np

from rag.index.words import LexicalIndex
from rag.search import answer_type, question


@dataclass(frozen=True)
class Why:
    """Why the articles are taken to hold no answer, in English (`rag ask --json`) and Russian (the chat)."""

    english: str
    russian: str


_ENDINGS = ("", "а", "у", "е", "ом", "ой", "ы", "и", "ия", "ии", "ью", "ем", "ым")
"""Endings tried on a name's word and on it less one or two letters: Snowball stems names unevenly
(«Токаев» → «тока», «Токаева» → «токае»), so a name counts as mentioned in any of its case forms."""
_KIND_NAMES = {answer_type.NUMBER: ("number", "числа"), answer_type.DATE: ("date", "даты")}


def mentioned(words: LexicalIndex, name: str, held: Container[str] | None = None) -> bool:
    """Whether every word of `name` occurs, in some case form, among the search terms `held` (an article's:
    `Retriever.article_terms`), or in any article's passages when None."""
    return all(_word_occurs(words, word, held) is not False for word in name.split())


def unheard_of(words: LexicalIndex, name: str) -> bool:
    """Whether no word of `name` occurs, in any case form, in any article («Нильс Бор»): a name the articles
    spell or inflect otherwise («Аарона Спелинга» for «Аарон Спеллинг»), or one the NER took too much of
    («Доктора Кто», «Почему Танагриссон»), still shares a word with them, and is left to the rule."""
    return all(_word_occurs(words, word, None) is False for word in name.split())


def _word_occurs(words: LexicalIndex, word: str, held: Container[str] | None) -> bool | None:
    """Whether `word` occurs in some case form (None: no form of it is a searchable term, a stop word)."""
    forms = set(words.terms(" ".join(cut + ending for cut in (word, word[:-1], word[:-2]) if len(cut) >= 3
                                     for ending in _ENDINGS)))
    if not forms:
        return None
    return any(words.frequency(t) > 0 if held is None else t in held for t in forms)


def word_shares(words: LexicalIndex, terms: Sequence[str], held: Container[str]) -> tuple[float, float]:
    """Of the question's search `terms`: the share that no passage of any article holds, and, of those some
    article holds, the idf-weighted share that are among the terms `held` (the best passage's article's: 1 when
    none is held anywhere). A question about an article that is not indexed is often closest to one on a
    neighbouring subject, which holds its common words but not its rare ones."""
    terms = list(dict.fromkeys(terms))
    if not terms:
        return 0.0, 1.0
    idf = {t: words.idf(t) for t in terms if words.frequency(t) > 0}
    share = sum(weight for t, weight in idf.items() if t in held)
    return 1.0 - len(idf) / len(terms), share / sum(idf.values()) if idf else 1.0


def features(passage_score: float, closest: float, scores: np.ndarray, typed: np.ndarray, unknown_share: float,
             article_share: float, names_found: float) -> np.ndarray:
    """The rule's inputs for one question and its best passage (`rag.fitted.NO_ANSWER_FEATURES`): the passage's
    score, its closest sentence's cosine, the best quote score (`scores`) among the sentences that give the
    asked answer type (`typed`; all for a question that asks for no type); the share of the question's words
    no article holds, the idf-weighted share of the rest that the passage's article holds (`word_shares`), and
    the share of the question's names that article mentions (1 without names)."""
    best_typed = float(scores[typed].max()) if typed.any() else 0.0
    return np.array([passage_score, closest, best_typed, unknown_share, article_share, names_found])


def confidence(rule: Sequence[float], x: np.ndarray) -> float | None:
    """The rule's probability that the passage answers (bias, then one weight per feature, of "no answer");
    None without a rule."""
    if not rule:
        return None
    z = rule[0] + float(np.dot(rule[1:], x))
    return 1.0 / (1.0 + math.exp(min(z, 700.0)))


def unknown_people(people: Sequence[str]) -> Why:
    """The reason for declining a question about people no article mentions."""
    names = ", ".join(f"«{n}»" for n in people)
    return Why(f"no article mentions {names}", f"ни одна статья не упоминает {names}")


def why(asked: question.Asked, absent: Sequence[str], article: str, typed: bool) -> Why:
    """The reason the rule or the answer type declines: names the article found does not mention, no sentence
    of the asked type, or else no passage close enough."""
    if absent:
        names = ", ".join(f"«{n}»" for n in absent)
        return Why(f"the closest article, «{article}», does not mention {names}",
                   f"ближайшая статья, «{article}», не упоминает {names}")
    kinds = sorted(asked.kinds & set(_KIND_NAMES))
    if kinds and not typed:
        english, russian = zip(*(_KIND_NAMES[k] for k in kinds))
        return Why(f"the closest passages give no {' or '.join(english)}",
                   f"в ближайших отрывках нет {' или '.join(russian)}")
    return too_far(asked)


def too_far(asked: question.Asked) -> Why:
    """The reason when no passage says what was asked closely enough (naming what a «какой» asks about)."""
    about = f" «{asked.thing}»" if asked.thing else ""
    return Why(f"no passage says it{about and ' (' + about.strip() + ')'} closely enough",
               f"ни один отрывок не говорит об этом{about and ' (' + about.strip() + ')'} достаточно близко")
