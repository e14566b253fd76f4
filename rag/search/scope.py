"""Which articles a question searches: the filter asked for, or the period a question about the news names.

A period in the question ("в 2025 году", "в прошлом месяце", "в марте 2024") sets the date filter only when
the question speaks of the articles themselves ("Что писали о визах в марте 2024?", "Какие новости были в
прошлом месяце?"): in any other question a period dates the event asked about, which an article reports
later ("Сколько составили военные расходы в прошлом году?" is answered by this year's article).
"""

from __future__ import annotations

import calendar
import datetime
import re
from dataclasses import dataclass

from rag.index.filters import Filter, make_filter

_MONTHS = ("январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр", "октябр", "ноябр", "декабр")
_MONTH_FORMS = re.compile(f"^({'|'.join(_MONTHS)})(ь|я|е|й|а)?$")
_MONTH_NAMES = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
                "ноябрь", "декабрь")
_ABOUT_NEWS = re.compile(r"\b(стать|новост|публикаци|материал|сообщени|писал|писали|сообщал|публиковал|вышл|выходил)",
                         re.I)
_MONTH_YEAR = re.compile(r"\b(?:в|за)\s+([а-яё]+)\s+(\d{4})(?:\s*(?:года|год|г\.?))?(?!\d)", re.I)
_YEAR = re.compile(r"\b(?:в|за)\s+(\d{4})(?:\s*(?:году|год|г\.|г\b)|-м\b)", re.I)
_RELATIVE = re.compile(r"\b(?:в|за|на)\s+(прошл(?:ом|ый|ой|ую)|эт(?:ом|от|ой|у)|текущ(?:ем|ий|ей|ую))\s+"
                       r"(месяце|месяц|году|год|неделе|неделю)\b", re.I)


@dataclass(frozen=True)
class Scope:
    """The filter a question is searched with and, when there is one, the notice that says so."""

    where: Filter | None
    notice: str | None = None


def _month(word: str) -> int | None:
    match = _MONTH_FORMS.match(word.lower().replace("ё", "е"))
    if match is None or (match.group(1) == "ма" and match.group(2) not in ("й", "я", "е")):
        return None
    return _MONTHS.index(match.group(1)) + 1


def _month_range(year: int, month: int) -> tuple[datetime.date, datetime.date]:
    return datetime.date(year, month, 1), datetime.date(year, month, calendar.monthrange(year, month)[1])


def period(question: str, today: datetime.date) -> tuple[datetime.date, datetime.date, str] | None:
    """The period a question about the news names (first day, last day, its words in the question), or None
    when it names none or is not about the news."""
    if not _ABOUT_NEWS.search(question):
        return None
    for match in _MONTH_YEAR.finditer(question):
        month, year = _month(match.group(1)), int(match.group(2))
        if month and 1900 <= year <= 2100:
            return *_month_range(year, month), f"за {_MONTH_NAMES[month - 1]} {year} года"
    if (match := _YEAR.search(question)) and 1900 <= (year := int(match.group(1))) <= 2100:
        return datetime.date(year, 1, 1), datetime.date(year, 12, 31), f"за {year} год"
    if match := _RELATIVE.search(question):
        last = match.group(1).lower().startswith("прошл")
        unit = match.group(2).lower()
        if unit.startswith("месяц"):
            first = today.replace(day=1)
            if last:
                first = (first - datetime.timedelta(days=1)).replace(day=1)
            return *_month_range(first.year, first.month), "за прошлый месяц" if last else "за этот месяц"
        if unit.startswith("год"):
            year = today.year - last
            return datetime.date(year, 1, 1), datetime.date(year, 12, 31), "за прошлый год" if last else "за этот год"
        monday = today - datetime.timedelta(days=today.weekday() + 7 * last)
        return monday, monday + datetime.timedelta(days=6), "за прошлую неделю" if last else "за эту неделю"
    return None


def scope(question: str, since=None, until=None, publisher: str | None = None, publishers=(),
          today: datetime.date | None = None) -> Scope:
    """The filter for a question: the bounds given (checked, `rag.index.filters.make_filter`), else the period
    the question names; with a notice saying which articles were searched."""
    named = None
    if since is None and until is None:
        named = period(question, today or datetime.date.today())
        if named:
            since, until = named[0], named[1]
    where = make_filter(since, until, publisher, publishers)
    if where is None:
        return Scope(None)
    said = f"{named[2]} ({where.describe()})" if named else where.describe()
    return Scope(where, f"Искали только в статьях {said}.")
