"""Many threads asking at once get exactly the one-at-a-time answers, also while the index is updated."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import rag
from tests.conftest import ROOT

QUESTIONS = [json.loads(line)["question"]
             for line in (ROOT / "corpus" / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("threads, each", [pytest.param(32, 20, marks=pytest.mark.slow, id="32-threads"),
                                           pytest.param(8, 4, id="8-threads")])
def test_threads_asking_at_once_get_the_sequential_answers(seed_index: Path, threads: int, each: int) -> None:
    """32 threads of 20 questions each in `make test-all`; 8 of 4 in `make test`, which still interleaves
    every question's steps across threads."""
    asked = {n: [QUESTIONS[(n * 7 + i) % len(QUESTIONS)] for i in range(each)] for n in range(threads)}
    expected = {q: rag.answer(q, index=seed_index) for q in {q for batch in asked.values() for q in batch}}

    def ask(thread: int) -> list[tuple[str, rag.Answer]]:
        return [(q, rag.answer(q, index=seed_index)) for q in asked[thread]]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = [pair for batch in pool.map(ask, range(threads)) for pair in batch]
    assert len(results) == threads * each
    assert all(reply == expected[q] for q, reply in results)


def test_answers_switch_atomically_while_an_article_is_added(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    rag.build_index(corpus, index)
    question = "Сколько стоит билет в музей угля в Караганде?"
    old = rag.answer(question, index=index)
    assert old.answer is None

    stop = threading.Event()
    seen: list[list[rag.Answer]] = [[] for _ in range(8)]
    errors: list[BaseException] = []

    def keep_asking(n: int) -> None:
        try:
            while not stop.is_set():
                seen[n].append(rag.answer(question, index=index))
        except BaseException as exc:  # noqa: BLE001 - any failure fails the test below
            errors.append(exc)

    threads = [threading.Thread(target=keep_asking, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    (corpus / "museum.md").write_text("---\ntitle: Музей угля\n---\nМузей угля открылся в Караганде. "
                                      "Билет в музей угля стоит 500 тенге.\n", encoding="utf-8")
    rag.build_index(corpus, index)
    deadline = time.monotonic() + 30  # threads keep answering from the old version until the new one is loaded
    while (new := rag.answer(question, index=index)) == old and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert new.answer and "500 тенге" in new.answer
    for replies in seen:
        kinds = ["old" if r == old else "new" if r == new else "other" for r in replies]
        assert "other" not in kinds
        assert kinds == sorted(kinds, key=["old", "new"].index), "an answer went back to the old index"
    assert any(r == new for replies in seen for r in replies)
