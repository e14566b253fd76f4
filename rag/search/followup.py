"""Follow-up questions: an elliptical question («а когда?», «с кем?», «а кто это сказал?») is completed with
the subject of the question before it, without a language model.

A question is elliptical when it says (almost) nothing of its own subject: beyond question words,
particles and pronouns pointing back («это», «он», «там») it has at most two words of content, and none
at all unless it points back or starts like a follow-up («а», «и»), and it names nothing (no name or
acronym: «А что такое ОДКБ?» is a question of its own). It is then asked as its own question
phrase followed by the previous question without that one's question phrase: «Кто заявил о приоритетах
внешней политики?» + «А когда это было?» → «Когда заявил о приоритетах внешней политики?», so that ranking
finds the same subject and the answer-type check (a when-question needs a date) applies to the new
question word. A self-contained question is never changed. Only Russian questions are completed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag import language
from rag.text import terms, words

MAX_HISTORY = 10
"""Earlier questions looked at, the latest ones: a follow-up refers to the last few, and an API caller's
history must not make one question cost more than a few."""

MAX_OWN_TERMS = 2
"""Content words an elliptical question may have of its own («а кто это сказал?» has one)."""

_WH = {"кто", "кого", "кому", "кем", "ком", "что", "чего", "чему", "чем", "когда", "где", "куда", "откуда",
       "почему", "зачем", "как", "каков", "какова", "каково", "каковы", "чей", "чья", "чье", "чьи", "ли"}
_WH_STEMS = ("скольк", "как")  # сколько, скольких…; какой, каком, какого… (but not «как» alone: in _WH)
_LEADS = {"а", "и", "ну", "но", "ещё", "еще"}
_BACK = {"это", "этот", "эта", "эти", "этого", "этой", "этом", "этим", "этих", "тот", "та", "то", "те", "он",
         "она", "оно", "они", "его", "ее", "их", "ему", "ей", "им", "него", "нее", "них", "ним", "ней", "нем",
         "там", "тогда", "туда", "оттуда"}
_COPULA = {"был", "была", "было", "были", "будет", "есть"}
_TOKEN = re.compile(r"\w+(?:[-'+]\w*)*")
_PREPOSITIONS = {"в", "во", "на", "с", "со", "к", "ко", "о", "об", "от", "до", "для", "по", "при", "из", "за",
                 "у", "про", "через", "после", "перед", "между", "под", "над", "благодаря", "против"}


@dataclass(frozen=True)
class Resolved:
    """A question as it is searched: `text`, and whether it was completed from the earlier questions."""

    text: str
    completed: bool = False


def is_wh(word: str) -> bool:
    """Whether `word` asks (кто, когда, сколько, каком…)."""
    return word in _WH or word.startswith(_WH_STEMS) and word not in {"каждый", "каждого"}


def is_elliptical(question: str) -> bool:
    """Whether a Russian question lacks a subject of its own and needs the previous question's."""
    ws = words(question)
    if not ws or len(ws) > 8 or language.detect(question) != language.RU or not any(map(is_wh, ws)):
        return False
    if any(_names(token, i) for i, (token, w) in enumerate(_tokens(question)) if not is_wh(w)):
        return False  # «А что такое ОДКБ?», «А где выступал Токаев?» name their own subject
    own = terms(" ".join(w for w in ws if not is_wh(w)))
    points_back = bool(_BACK & set(ws)) or ws[0] in _LEADS
    return not own or (points_back and len(own) <= MAX_OWN_TERMS)


def _names(token: str, position: int) -> bool:
    """Whether a word as written is a name or an acronym: a capital inside the sentence, or all capitals."""
    return token[:1].isupper() and (position > 0 or (len(token) > 1 and token.isupper()))


def _tokens(question: str) -> list[tuple[str, str]]:
    """The words of a question as written (ОПЕК+, Токаев) and as compared (lower case, ё as е)."""
    return [(w, words(w)[0]) for w in _TOKEN.findall(question)]


def _kept(w: str, i: int) -> bool:
    """Whether word `w` at position `i` says anything: not a pronoun pointing back, a copula, a leading particle."""
    return w not in _BACK and w not in _COPULA and not (i == 0 and w in _LEADS)


def _subject(question: str) -> list[str]:
    """The words of a question without its question phrase (question words and the prepositions before
    them), its pronouns pointing back, and leading particles."""
    tokens = _tokens(question)
    drop = set()
    for i, (_, w) in enumerate(tokens):
        if is_wh(w):
            drop.add(i)
            if i and tokens[i - 1][1] in _PREPOSITIONS:
                drop.add(i - 1)
    if tokens and not tokens[0][0].isupper():  # the question's capital letter, not a name's or an acronym's
        tokens[0] = (tokens[0][0].lower(), tokens[0][1])
    return [t for i, (t, w) in enumerate(tokens) if i not in drop and _kept(w, i)]


def _asking(question: str) -> list[str]:
    """What an elliptical question keeps: its words but the particles, pronouns and copulas."""
    return [t for i, (t, w) in enumerate(_tokens(question)) if _kept(w, i)]


def resolve(question: str, history: Sequence[str] = ()) -> Resolved:
    """`question` as it should be searched after the questions of `history` (oldest first): an elliptical one
    completed with the subject of the last question before it (itself completed first), any other unchanged."""
    context = None
    for earlier in list(history)[-MAX_HISTORY:]:
        context = _complete(str(earlier), context).text
    return _complete(question, context)


def _complete(question: str, context: str | None) -> Resolved:
    if context is None or not is_elliptical(question):
        return Resolved(question)
    subject = _subject(context)
    if not subject:
        return Resolved(question)
    text = " ".join([*_asking(question), *subject])
    return Resolved(text[:1].upper() + text[1:] + "?", completed=True)
