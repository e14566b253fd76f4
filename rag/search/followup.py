"""Follow-up questions: an elliptical question («а когда?», «а с какими организациями?», «а с Китаем?») is
completed from the question before it, without a language model.

A question is elliptical when it says (almost) nothing of its own subject: beyond question words,
particles and pronouns pointing back («это», «он», «там») it has at most two words of content, and none
at all unless it points back or starts like a follow-up («а», «и»), and it names nothing (no name or
acronym: «А что такое ОДКБ?» is a question of its own); or it has no question word at all and is a short
«а …?» («А с Китаем?», «А в 2024 году?»).

Both questions are cut into phrases (pymorphy3 tells verbs, prepositions and cases): the question phrase
(«с каким количеством государств»), verbs, and noun phrases with their preposition. What the new question
brings replaces what plays the same part in the old one: its question phrase the old one, its verb the old
verb, a phrase with the same preposition and case the old one («с Китаем» for «с Россией»), a name without
one the old name; the old question fills only the gaps. «С каким количеством государств у Казахстана есть
дипломатические отношения?» + «А с какими организациями?» → «С какими организациями у Казахстана
дипломатические отношения?». A follow-up about the old answer itself («А как называется эта миссия?») keeps
the whole old question after its own words. A self-contained question is never changed. Only Russian
questions are completed.

What a follow-up brings itself is surer than what was carried over: a completed question also says its own
words («С какими организациями?») and them with the names it keeps («…у Казахстана?»), which the search
weighs more than the gap-fillers (`rag.search.emphasis`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from rag import language
from rag.text import terms, words

MAX_HISTORY = 10
"""Earlier questions looked at, the latest ones: a follow-up refers to the last few, and an API caller's
history must not make one question cost more than a few."""

MAX_OWN_TERMS = 2
"""Content words an elliptical question may have of its own («а кто это сказал?» has one)."""

MAX_WORDS_WITHOUT_QUESTION_WORD = 4
"""Words of a follow-up without a question word («А с Китаем?», «А в 2024 году?»): longer is a statement."""

_WH = {"кто", "кого", "кому", "кем", "ком", "что", "чего", "чему", "чем", "когда", "где", "куда", "откуда",
       "почему", "зачем", "как", "каков", "какова", "каково", "каковы", "чей", "чья", "чье", "чьи", "ли"}
_WH_STEMS = ("скольк", "как", "чь")  # сколько, скольких…; какой, каком…; чью, чьей… («как» alone: in _WH)
_DETERMINERS = ("скольк", "какой", "какая", "какое", "какие", "каког", "каком", "каку", "каки", "чей", "чь")
"""Question words that ask about a noun after them («каким количеством», «сколько стран», «чью инициативу»)."""
_LEADS = {"а", "и", "ну", "но", "ещё", "еще"}
_BACK = {"это", "этот", "эта", "эти", "этого", "этой", "этом", "этим", "этих", "тот", "та", "то", "те", "он",
         "она", "оно", "они", "его", "ее", "их", "ему", "ей", "им", "него", "нее", "них", "ним", "ней", "нем",
         "там", "тогда", "туда", "оттуда"}
_DEMONSTRATIVES = {"это", "этот", "эта", "эти", "этого", "этой", "этом", "этим", "этих", "этому", "эту"}
_COPULA = {"был", "была", "было", "были", "будет", "есть"}
_TOKEN = re.compile(r"\w+(?:[-'+]\w*)*")
_PREPOSITIONS = {"в", "во", "на", "с", "со", "к", "ко", "о", "об", "от", "до", "для", "по", "при", "из", "за",
                 "у", "про", "через", "после", "перед", "между", "под", "над", "благодаря", "против"}
_VERBS = {"VERB", "INFN", "PRTS", "GRND"}
_NOMINAL = {"NOUN", "ADJF", "ADJS", "NUMR", "COMP", "PRTF", "NPRO"}
_NAME_TAGS = {"Name", "Surn", "Patr", "Geox", "Orgn", "Abbr", "Trad"}


@dataclass(frozen=True)
class Resolved:
    """A question as it is searched: `text`, and whether it was completed from the earlier questions; for a
    completed one that brings content words of its own, those as a question (`own`: «С какими организациями?»)
    and with the earlier question's names it keeps (`focus`: «С какими организациями у Казахстана?»)."""

    text: str
    completed: bool = False
    own: str | None = None
    focus: str | None = None


@dataclass(frozen=True)
class Phrase:
    """Consecutive words of a question playing one part: `kind` "ask" (the question phrase), "verb", "noun" or
    "other"; a noun phrase's `preposition` and `case` (its first inflected word's), whether it `named`
    something, and for a question phrase whether its question word `determines` a noun («каким …»)."""

    words: tuple[str, ...]
    kind: str
    preposition: str | None = None
    case: str | None = None
    named: bool = False
    determines: bool = False

    def slot(self, other: Phrase) -> bool:
        """Whether `other` (of the new question) plays this phrase's part and so replaces it."""
        if self.kind != other.kind or self.kind != "noun":
            return self.kind == other.kind == "verb"
        same_case = self.case is None or other.case is None or self.case == other.case
        if self.preposition or other.preposition:
            return self.preposition == other.preposition and same_case
        return self.named == other.named and (self.named or same_case)


def is_wh(word: str) -> bool:
    """Whether `word` asks (кто, когда, сколько, каком…)."""
    return word in _WH or word.startswith(_WH_STEMS) and word not in {"каждый", "каждого"}


def is_elliptical(question: str) -> bool:
    """Whether a Russian question lacks a subject of its own and needs the previous question's."""
    ws = words(question)
    if not ws or len(ws) > 8 or language.detect(question) != language.RU:
        return False
    if not any(map(is_wh, ws)):  # «А с Китаем?», «А в 2024 году?»
        return ws[0] in _LEADS and 1 < len(ws) <= MAX_WORDS_WITHOUT_QUESTION_WORD and bool(terms(" ".join(ws)))
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


@functools.cache
def _morph():  # noqa: ANN202 (pymorphy3's analyzer; loaded once, ~0.1 s)
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


def _tag(word: str):  # noqa: ANN202 (a pymorphy3 tag)
    return _morph().parse(word)[0].tag


def _phrases(question: str, split_names: bool = False) -> list[Phrase]:
    """The question cut into phrases, without its pointing-back pronouns, copulas, particles and leading «а».
    With `split_names`, a name after a noun is a phrase of its own («теория | Нормана Кантора»), so that the
    name alone can be replaced."""
    phrases: list[Phrase] = []
    preposition = None
    for i, (token, w) in enumerate(_tokens(question)):
        tag = _tag(w)
        name = bool(_NAME_TAGS & set(tag.grammemes)) or _names(token, i) or token.isupper() and len(token) > 1
        shown = token if name else token.lower()
        last = phrases[-1] if phrases else None
        if is_wh(w):
            phrases.append(Phrase((*filter(None, [preposition]), shown), "ask", preposition,
                                  determines=w.startswith(_DETERMINERS)))
            preposition = None
        elif not _kept(w, i) or tag.POS in {"PRCL", "CONJ", "INTJ"}:
            continue
        elif w in _PREPOSITIONS or tag.POS == "PREP":
            preposition = shown
        elif tag.POS in _VERBS and not name:  # an unknown name («Элвею») is guessed a verb
            if last is not None and last.kind == "verb":
                phrases[-1] = replace(last, words=(*last.words, shown))
            else:
                phrases.append(Phrase((shown,), "verb"))
        elif tag.POS in _NOMINAL or tag.POS is None or name:  # None: a number, a Latin or an unknown word
            if preposition is None and last is not None and _continues(last, tag, name, split_names):
                phrases[-1] = replace(last, words=(*last.words, shown), named=last.named or name,
                                      case=last.case or tag.case)
            else:
                case = None if "Fixd" in tag else tag.case  # an indeclinable word's case is a guess
                phrases.append(Phrase((*filter(None, [preposition]), shown), "noun", preposition, case, name))
            preposition = None
        else:
            phrases.append(Phrase((shown,), "other"))
    return phrases


def _continues(last: Phrase, tag, name: bool, split_names: bool) -> bool:  # noqa: ANN001 (a pymorphy3 tag)
    """Whether a nominal word belongs to the phrase before it: the noun a question word asks about, a genitive
    («количеством государств», «конце декабря 2025 года»), a number, or a name's next word («Джону Элвею»)."""
    if last.kind not in ("ask", "noun") or last.kind == "ask" and not last.determines:
        return False
    if name:
        return last.named or not split_names
    after_noun = _tag(words(last.words[-1])[0]).POS == "NOUN"
    return not after_noun or tag.case == "gent" or "NUMB" in tag


def _text(phrases: Sequence[Phrase]) -> str:
    text = " ".join(w for p in phrases for w in p.words)
    return text[:1].upper() + text[1:] + "?"


def _about_answer(question: str) -> bool:
    """Whether a follow-up asks about the earlier question or answer as a whole: «это» («А кто это сказал?») or
    a noun pointed at («эта миссия», «этот проект»)."""
    ws = words(question)
    return "это" in ws or any(w in _DEMONSTRATIVES and _tag(n).POS == "NOUN" for w, n in zip(ws, ws[1:]))


def _asked(new: Phrase, old: Phrase | None) -> Phrase:
    """The question phrase of the merged question: the new one, given the old one's noun when it brings none
    («А какие именно?» after «Членом скольких организаций…» → «каких организаций»), in the old one's case."""
    if old is None or not new.determines or len(new.words) > 1 + bool(new.preposition) or not old.determines:
        return new
    start = 1 + bool(old.preposition)
    wh, nouns = new.words[-1], old.words[start:]
    grammemes = {g for g in (old.case, _tag(words(old.words[start - 1])[0]).number) if g}
    inflected = _morph().parse(wh)[0].inflect(grammemes) if grammemes else None
    return replace(new, words=(*new.words[:-1], inflected.word if inflected else wh, *nouns))


def merge(question: str, earlier: str) -> str:
    """`question` completed with what `earlier` says and it leaves out (see the module's docstring)."""
    old, new = _phrases(earlier, split_names=True), _phrases(question)
    if _about_answer(question):
        return _text([*new, *(p if p.kind != "ask" else replace(p, words=p.words[1 + bool(p.preposition):])
                              for p in old)])
    merged = list(old)
    ask = next((i for i, p in enumerate(merged) if p.kind == "ask"), None)
    before, extra = [], []  # new phrases of no old part, before and after the new question phrase
    for phrase in new:
        if phrase.kind == "ask":
            before, extra = extra, before
            if ask is None:
                merged.insert(0, _asked(phrase, None))
                ask = 0
            else:
                merged[ask] = _asked(phrase, merged[ask])
            continue
        match = next((i for i, p in enumerate(merged) if p.slot(phrase) and p not in new), None)
        if match is None:
            extra.append(phrase)
        else:
            merged[match] = phrase
    at = 0 if ask is None else ask
    asked = merged[at:at + 1] if ask is not None else []
    return _text([*merged[:at], *before, *asked, *extra, *merged[at + len(asked):]])


def resolve(question: str, history: Sequence[str] = ()) -> Resolved:
    """`question` as it should be searched after the questions of `history` (oldest first): an elliptical one
    completed from the last question before it (itself completed first), any other unchanged."""
    context = None
    for earlier in list(history)[-MAX_HISTORY:]:
        context = _complete(str(earlier), context).text
    return _complete(question, context)


def _complete(question: str, context: str | None) -> Resolved:
    if context is None or not is_elliptical(question) or all(p.kind == "ask" for p in _phrases(context)):
        return Resolved(question)
    return Resolved(merge(question, context), True, *_brought(question, context))


def _brought(question: str, earlier: str) -> tuple[str, str] | tuple[None, None]:
    """A follow-up's own phrases as a question, and them with the names of `earlier` none of them replaces (what
    the question is about); None, None when it brings no content word («А когда?», «А какие именно?»): the
    completed question is then all it asks."""
    new = _phrases(question)
    if not terms(" ".join(w for p in new for w in p.words if not is_wh(w))):
        return None, None
    kept = [p for p in _phrases(earlier, split_names=True) if p.named and not any(p.slot(n) for n in new)]
    return _text(new), _text([*new, *kept])
