"""An update killed with SIGKILL at any step leaves the previous index loading and answering as before,
and the next update completes it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import rag
from rag.index import store
from rag.models import navec
from tests.conftest import ARTICLE, ROOT

QUESTIONS = [
    "Со сколькими государствами у Казахстана дипломатические отношения?",
    "Когда открыт музей угля?",
    "Сколько стоит билет в музей?",
]


def _answers(index: Path) -> list[dict]:
    return [rag.answer(q, index=index).to_json() for q in QUESTIONS]


def _run_child(corpus: Path, index: Path, point: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "tests.crash_child", str(corpus), str(index), str(point)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


@pytest.mark.parametrize("stride", [pytest.param(1, marks=pytest.mark.slow, id="every-step"),
                                    pytest.param(5, id="every-fifth-step")])
def test_an_update_killed_at_any_step_loses_nothing(corpus: Path, tmp_path: Path, stride: int) -> None:
    """Killed before and after each step (`make test-all`), or at every fifth kill point (before and after steps
    alike) and the last two, after the commit point (`make test`: a fifth of the children, both outcomes seen)."""
    (corpus / "museum.md").write_text("---\ntitle: Музей\n---\nМузей угля в Караганде открыт с 2020 года.\n")
    (corpus / "old.txt").write_text("Старая заметка о погоде, которую удалят.")
    base = tmp_path / "base"
    rag.build_index(corpus, base, model=navec.NAME)  # the word-vector model: 36 child processes start fast
    before_version, before = store.current_version(base), _answers(base)

    # the update: one article changed, one added, one deleted
    (corpus / "museum.md").write_text("---\ntitle: Музей\n---\nМузей угля в Караганде открыт с 2021 года. "
                                      "Билет стоит 500 тенге.\n")
    (corpus / "new.txt").write_text("Новая статья: в Актау построят порт для контейнеров.")
    (corpus / "old.txt").unlink()
    finished = tmp_path / "finished"
    shutil.copytree(base, finished)
    full = _run_child(corpus, finished, 0)
    assert full.returncode == 0, full.stderr
    points = int(full.stdout.split("points=")[1])
    after_version, after = store.current_version(finished), _answers(finished)
    assert after != before and points >= 20

    def kill_at(point: int) -> tuple[int, subprocess.CompletedProcess, Path]:
        index = tmp_path / f"killed-{point}"
        shutil.copytree(base, index)
        return point, _run_child(corpus, index, point), index

    outcomes = {"old": 0, "new": 0}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for point, child, index in pool.map(kill_at, sorted({*range(1, points + 1, stride), points - 1, points})):
            assert child.returncode == -9, f"point {point}: the child was not killed: {child.stderr[-500:]}"
            live = store.load(index)  # loads, whatever moment the kill hit
            if live.manifest.articles == store.load(base).manifest.articles:
                outcomes["old"] += 1
                assert _answers(index) == before, f"point {point}: the old index answers differently"
            else:
                outcomes["new"] += 1
                assert _answers(index) == after, f"point {point}: a half-made index went live"
            report = rag.build_index(corpus, index)  # the next update completes the job
            assert sorted(store.load(index).manifest.articles) == [ARTICLE, "museum.md", "new.txt"]
            assert _answers(index) == after, f"point {point}: the resumed update differs"
            assert not list(index.glob(".tmp-*")), "half-written versions are cleaned up"
            assert report.removed in ([], ["old.txt"])
    assert outcomes["old"] > 0 and outcomes["new"] > 0
    assert before_version != after_version
