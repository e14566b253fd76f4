"""Helpers several test modules share (the fixtures are in conftest.py): the real `rag` command in a process,
generated news articles, the chat in a browser, a forged manifest, and the texts the chat tests ask about."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from rag.index import checksums, store

RAG = [sys.executable, "-c", "from rag.cli import main; main()"]


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """The real command in a fresh process, offline."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **kwargs.pop("env", {})}
    return subprocess.run([*RAG, *args], capture_output=True, text=True, env=env, timeout=300, **kwargs)


CITIES = ["Актау", "Атырау", "Караганда", "Павлодар", "Шымкент", "Тараз", "Костанай", "Семей", "Туркестан", "Кокшетау"]
THINGS = ["порт", "мост", "завод", "музей", "терминал", "аэропорт", "стадион", "театр", "рынок", "элеватор"]
KINDS = ["новый", "большой", "северный", "южный", "западный", "восточный", "каменный", "стеклянный", "высокий",
         "широкий", "современный", "городской", "частный", "государственный", "морской", "речной", "зимний",
         "летний", "тёплый", "светлый", "просторный", "удобный", "дорогой", "недорогой", "крупный", "малый",
         "центральный", "пригородный", "областной", "международный"]
MONTHS = ["январе", "феврале", "марте", "апреле", "мае", "июне", "июле", "августе", "сентябре", "октябре",
          "ноябре", "декабре"]
DAYS = ["понедельник", "вторник", "среду", "четверг", "пятницу", "субботу", "воскресенье"]
QUESTIONS = [f"Что построят в городе {city}?" for city in CITIES] + [
    "Сколько стоит новый мост?", "Когда откроют музей?",
    "Со сколькими государствами у Казахстана дипломатические отношения?", "Сколько рабочих мест создаст завод?"]


def news(rng: random.Random, n: int) -> str:
    """A short generated news article: which city builds what, when, for how much, and how many jobs. Its words
    (not only its numbers, which word vectors do not see) differ from every other's, so that no two passages
    tie on their scores and the order of the best is the same however the index was built."""
    city, thing, month, day = rng.choice(CITIES), rng.choice(THINGS), rng.choice(MONTHS), rng.choice(DAYS)
    first, second = rng.sample(KINDS, 2)
    return (f"---\ntitle: {thing.capitalize()} в городе {city} ({n})\ndate: 2025-{rng.randint(1, 12):02d}-"
            f"{rng.randint(1, 28):02d}\n---\nВ городе {city} построят {first} и {second} {thing} номер {n}. Работы "
            f"начнутся в {month} {rng.randint(2025, 2030)} года, первый камень заложат в {day}. Стоимость проекта "
            f"составит {rng.randint(2, 900)} миллиардов тенге. {thing.capitalize()} создаст {rng.randint(50, 5000)} "
            "рабочих мест, сообщили в акимате.\n")


CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
TIMEOUT = 30_000
"""Milliseconds to wait for a reply or an index update to show."""


def ask(page, question: str) -> None:
    """Type `question` into the chat box, send it and wait until the reply to it is shown."""
    replies = page.locator("#chat .message-row.bot-row")
    before = replies.count()
    page.locator("#question textarea").fill(question)
    page.locator("#question textarea").press("Enter")
    replies.nth(before).wait_for()


# What the chat tests ask: the seed article answers QUESTION, the tests' own first article OWN_QUESTION (in a
# sentence naming «Озёрстрой»), the article NEW_BODY NEW_QUESTION.
QUESTION = "Со сколькими государствами у Казахстана дипломатические отношения?"
OWN_QUESTION = "Кто был генеральным подрядчиком ветропарка?"
NEW_BODY = "Столица Республики Кортания — город Велград. Его основали рыбаки в 1312 году на берегу залива."
NEW_QUESTION = "Как называется столица Кортании?"

HOSTILE = "<script>window.__pwned=1</script><img src=x onerror=alert(1)> **жирный** [ссылка](javascript:1) $$x$$"


def forge(index: Path, edit: Callable[[dict], None]) -> None:
    """Edit the live manifest as someone who knows the format would, with its checksum made to match."""
    version = store.current_version(index)
    path = index / version / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    raw = json.dumps(data).encode()
    path.write_bytes(raw)
    (index / store.POINTER).write_text(f"{version} {checksums.of_bytes(raw)}")


HERALD = """---
title: Визы и дипломатия
date: 2025-02-03
source: Степной вестник
---
В феврале в степи под Карагандой открылся музей угля и шахтёрского быта.
"""
