"""Integrity under races, kills and hostile input, with real processes: no article on disk is ever missing from
the index without a word, a hung updater never blocks the next one silently, and input cannot blow up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rag
from rag.corpus import load_corpus
from rag.index import store
from rag.index.update import pending
from rag.models import navec
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("word_model")  # any model does: navec builds in a second

RAG = [sys.executable, "-c", "from rag.cli import main; main()"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}


def rag_process(*args: str) -> subprocess.Popen:
    """A real `rag` command, started in the background."""
    return subprocess.Popen([*RAG, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            cwd=ROOT)


def finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def article(corpus: Path, name: str, text: str) -> None:
    (corpus / name).write_text(f"---\ntitle: {name}\n---\n{text}\n", encoding="utf-8")


def assert_index_holds_the_corpus(corpus: Path, index: Path) -> None:
    on_disk = {a.source for a in load_corpus(corpus).articles}
    assert set(store.read_manifest(index)[1].articles) == on_disk
    assert pending(index, corpus).in_step


HOLD_THE_LOCK = ("import sys, time; from rag.index import store\n"
                 "with store.writing(sys.argv[1]): print('held', flush=True); time.sleep(120)")


def lock_holder(index: Path) -> subprocess.Popen:
    """A process that takes the index's writer lock and then hangs (as a stuck update would)."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(index)], stdout=subprocess.PIPE, text=True,
                              env=ENV, cwd=ROOT)
    assert holder.stdout.readline().strip() == "held"
    return holder


@pytest.mark.parametrize("rounds", [pytest.param(3, marks=pytest.mark.slow, id="3-rounds"),
                                    pytest.param(1, id="1-round")])
def test_updates_started_close_together_lose_no_article(corpus: Path, word_index: Path, rounds: int) -> None:
    """Four `rag index` processes started within a second, each after a new article: three times over in
    `make test-all`, once in `make test`."""
    for round_ in range(rounds):
        runs = [rag_process("index", "--corpus", str(corpus), "--index", str(word_index))]
        for n in range(3):  # an article appears before each of the last three runs
            time.sleep(0.3 + 0.35 * n)
            article(corpus, f"r{round_}-{n}.md", f"Заметка {round_}-{n}: в Актау построят порт номер {round_ * 3 + n}.")
            runs.append(rag_process("index", "--corpus", str(corpus), "--index", str(word_index)))
        results = [finish(run) for run in runs]
        assert [code for code, _, _ in results] == [0] * 4, [err for _, _, err in results]
        assert_index_holds_the_corpus(corpus, word_index)


def test_a_hung_updater_makes_the_next_one_give_up_naming_it(corpus: Path, word_index: Path) -> None:
    holder = lock_holder(word_index)
    try:
        started = time.monotonic()
        code, _, err = finish(rag_process("index", "--corpus", str(corpus), "--index", str(word_index), "--wait", "1"))
        assert code == 75 and time.monotonic() - started < 30
        assert f"is being updated by process {holder.pid}" in err and "gave up after waiting 1 s" in err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 2  # the waiting notice, then the error
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_updater_leaves_no_stale_lock(corpus: Path, word_index: Path) -> None:
    article(corpus, "late.md", "Поздняя заметка о зерновом терминале в порту Актау.")
    holder = lock_holder(word_index)
    assert json.loads((word_index / store.OWNER).read_text())["pid"] == holder.pid
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    code, out, err = finish(rag_process("index", "--corpus", str(corpus), "--index", str(word_index), "--wait", "5"))
    assert code == 0, err
    assert "is being updated" not in err and "indexed 1 new" in out
    assert_index_holds_the_corpus(corpus, word_index)


def test_an_article_saved_but_never_indexed_is_reported_then_indexed(corpus: Path, word_index: Path) -> None:
    # the chat saved the article, then its process was killed before the update ran
    path = rag.save_article(corpus, title="Порт Актау", text="В Актау построят новый контейнерный терминал.")
    code, out, _ = finish(rag_process("status", "--index", str(word_index)))
    assert code == 0 and "1 article(s) not in the index yet: run: rag index" in out and f"new: {path.name}" in out
    status = json.loads(finish(rag_process("status", "--index", str(word_index), "--json"))[1])
    assert status["pending"]["added"] == [path.name]

    from ui.app import build_app

    build_app(word_index, corpus)  # what `rag serve` runs at start: it brings the index up to date
    assert_index_holds_the_corpus(corpus, word_index)
    assert "the index holds every article" in finish(rag_process("status", "--index", str(word_index)))[1]


@pytest.mark.parametrize("k", [0, 51, 10**9, -1, 2.5, "3", True])
def test_k_is_bounded_in_the_python_api(word_index: Path, k) -> None:
    with pytest.raises(rag.RagError, match="k must be a whole number from 1 to 50") as error:
        rag.answer("Порт Актау", k=k, index=word_index)
    assert "от 1 до 50" in error.value.russian
    with pytest.raises(rag.RagError, match="from 1 to 50"):
        rag.retrieve("Порт Актау", k=k, index=word_index)


def test_a_yaml_alias_bomb_is_skipped_and_the_rest_indexed(corpus: Path, tmp_path: Path) -> None:
    layers = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    layers += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 8)]
    bomb = "---\n" + "\n".join(layers) + "\ntitle: *a7\n---\nТекст.\n"
    assert len(bomb.encode()) < 600  # 9**8 = 43 million strings once expanded
    (corpus / "bomb.md").write_text(bomb, encoding="utf-8")
    (corpus / "deep.md").write_text("---\ntitle: " + "[" * 5000 + "]" * 5000 + "\n---\nТекст.\n", encoding="utf-8")
    index = tmp_path / "index"
    report = rag.build_index(corpus, index, model=navec.NAME)
    reasons = {s.source: s.reason for s in report.skipped}
    assert reasons == {"bomb.md": "broken front matter (aliases (*name) are not allowed)",
                       "deep.md": "broken front matter (nested deeper than 8 levels)"}
    assert len(report.added) == 1 and sum(p.stat().st_size for p in index.rglob("*") if p.is_file()) < 2**20


def test_binary_files_under_a_text_name_and_future_dates_get_a_word(corpus: Path, tmp_path: Path) -> None:
    (corpus / "photo.md").write_bytes(bytes(range(1, 128)) * 40)  # valid UTF-8 without a NUL byte, yet no text
    (corpus / "future.md").write_text("---\ntitle: Будущее\ndate: 2099-01-01\n---\nЗаметка о порте Актау.\n")
    report = rag.build_index(corpus, tmp_path / "index", model=navec.NAME)
    assert {s.source: s.reason for s in report.skipped} == {"photo.md": "binary file (control characters throughout)"}
    assert {n.source: n.reason for n in report.notes} == {"future.md": "its date 2099-01-01 is in the future"}
    with pytest.raises(rag.RagError, match="is in the future"):
        rag.save_article(corpus, title="Будущее", text="Другая заметка.", date="2099-01-01")
