"""Many threads asking at once get exactly the one-at-a-time answers, also while the index is updated."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import rag
from tests.conftest import ROOT

QUESTIONS = [json.loads(line)["question"]
             for line in (ROOT / "corpus" / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()]


def test_32_threads_get_the_sequential_answers(article_index: Path) -> None:
    expected = {q: rag.answer(q, index=article_index) for q in QUESTIONS}

    def ask_20(thread: int) -> list[tuple[str, rag.Answer]]:
        asked = [QUESTIONS[(thread * 7 + i) % len(QUESTIONS)] for i in range(20)]
        return [(q, rag.answer(q, index=article_index)) for q in asked]

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = [pair for batch in pool.map(ask_20, range(32)) for pair in batch]
    assert len(results) == 32 * 20
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
