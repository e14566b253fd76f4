"""Expected answer types: a question that asks "how many" or "when" is answered only by a sentence that
holds a number or a date.

Ranking finds the passage about the question's subject; this check tells a passage that answers from
one that merely talks about the same thing ("Сколько миротворцев служит на Голанских высотах?" against
a sentence on the Golan mission that gives no count), the classic answer-type test of factoid QA.
"""

from __future__ import annotations

import re

from rag.text import words

NUMBER, DATE = "number", "date"

_ASKS_AMOUNT = {"количество", "число", "объем", "сумма", "процент", "доля", "размер"}
_WHICH = {"какое", "каково", "какой", "каков", "какова", "какую", "каким", "каких"}
_TIME_UNITS = {"году", "года", "годах", "годы", "месяце", "месяца", "веке", "века", "числа", "дату", "дата"}
_QUESTION_WORDS = {"что", "кто", "как", "какова", "каков", "каковы", "какой", "какая", "какие", "почему", "зачем",
                   "где", "куда", "откуда", "чем", "кого", "кому", "чего"}
_AMOUNT_WORDS = {"несколько", "десятки", "сотни", "тысячи", "тысяч", "млн", "млрд", "трлн", "миллион", "миллиона",
                 "миллионов", "миллиард", "миллиарда", "миллиардов", "триллион", "триллиона", "триллионов",
                 "половина", "треть", "четверть", "дважды", "трижды", "вдвое", "втрое"}
_MONTH = re.compile(r"^(январ|феврал|март[ае]?$|апрел|ма[йяе]$|июн[ьяе]$|июл[ьяе]$|август|сентябр|октябр|ноябр|декабр)")
_DAY = re.compile(r"^(понедельник|вторник|сред[уы]$|четверг|пятниц|суббот|воскресень)")
_WHEN_WORDS = {"вчера", "сегодня", "завтра", "весной", "летом", "осенью", "зимой", "утром", "вечером", "ночью"}
_YEAR = re.compile(r"^(1[0-9]{3}|20[0-9]{2})(-[а-я]+)?$")
_DIGIT = re.compile(r"\d")
_NUMERAL = re.compile(
    r"^(один|одн(а|о|и|у|ого|ой|ому|им|ом|их|ими)|два|две|двух|двум|двумя|три|тр[её]х|тр[её]м|тремя|четыре"
    r"|четыр[её]х|четыр[её]м|четырьмя|(пят|шест|сем|девят|десят)(ь|и|ью)|восемь|восьми|восемью|восьмью"
    r"|(один|две|три|четыр|пят|шест|сем|восем|девят)надцат(ь|и|ью)|(два|три)дцат(ь|и|ью)|сорока?"
    r"|(пять|шесть|семь|восемь)десят|(пят|шест|сем|восьм)идесяти|(пять|шесть|семь|восемь)юдесятью|девяност[оа]"
    r"|сто|ста|двести|двухсот|тр[её]хсот|триста|четыреста|четыр[её]хсот|(пят|шест|сем|восем|девят)ьсот"
    r"|(пят|шест|сем|восьм|девят)исот|полтор[аы]|полутора)$"
)
"""Russian cardinal numerals in all their cases (a closed class; "семью" is also "family", a rare miss)."""


def expected(question: str) -> str | None:
    """NUMBER for "how many / how much" questions, DATE for "when / in what year", else None."""
    ws = words(question)
    if any(w.startswith("скольк") for w in ws):
        return NUMBER
    pairs = list(zip(ws, ws[1:]))
    if any(a in _WHICH and b in _ASKS_AMOUNT for a, b in pairs):
        return NUMBER
    when = ws[:1] == ["когда"] and not _QUESTION_WORDS & set(ws[1:])  # "Когда X, что Y?" asks about Y
    if when or any(a in {"каком", "какого", "какой"} and b in _TIME_UNITS for a, b in pairs):
        return DATE
    return None


def held(sentence: str) -> frozenset[str]:
    """The answer types a sentence can give: DATE when it holds a year, a month, a weekday or a time of day or
    year, NUMBER when it holds
    a number in digits or words (a year, "в 2024 году", is a date, not an amount)."""
    kinds = set()
    ws = words(sentence)
    for w, after in zip(ws, [*ws[1:], ""]):
        year = bool(_YEAR.match(w)) and (after.startswith("год") or after == "г")
        if year or _MONTH.match(w) or _DAY.match(w) or w in _WHEN_WORDS:
            kinds.add(DATE)
        if not year and (_DIGIT.search(w) or w in _AMOUNT_WORDS or "кратн" in w or _NUMERAL.match(w)):
            kinds.add(NUMBER)
    return frozenset(kinds)
