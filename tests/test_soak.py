"""A soak test with real processes: random adds, replacements, removals, updates and updates killed with
SIGKILL at random moments, while another process keeps asking questions. At the end the index holds exactly
the corpus, and answers every question exactly as a clean rebuild does."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

import rag
from rag.corpus import load_corpus
from rag.index import store
from rag.models import navec
from tests.conftest import ROOT
from tests.helpers import QUESTIONS, RAG, news

pytestmark = pytest.mark.slow  # ~30 s of kills; make test keeps tests/test_crash_safety.py's sampled kills

OPERATIONS = 120
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}


class Reader:
    """Another process asking questions the whole time (`rag ask --json` reading standard input)."""

    def __init__(self, index: Path) -> None:
        self.process = subprocess.Popen([*RAG, "ask", "--json", "--index", str(index)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
        self.answered = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._ask, daemon=True)
        self.thread.start()

    def _ask(self) -> None:
        n = 0
        while not self.stop.is_set():
            self.process.stdin.write(QUESTIONS[n % len(QUESTIONS)] + "\n")
            self.process.stdin.flush()
            json.loads(self.process.stdout.readline())  # the answer to that question, or a failure here
            self.answered += 1
            n += 1

    def close(self) -> str:
        """Stop asking; standard error of the reader (empty when it never failed)."""
        self.stop.set()
        self.thread.join(timeout=60)
        _, err = self.process.communicate(timeout=60)
        return err


def test_random_adds_removes_updates_and_kills_lose_nothing(corpus: Path, tmp_path: Path) -> None:
    rng = random.Random(20261126)
    index = tmp_path / "index"
    rag.build_index(corpus, index, model=navec.NAME)
    reader = Reader(index)
    running: list[subprocess.Popen] = []
    started: list[subprocess.Popen] = []
    written, killed = 0, set()

    def update() -> subprocess.Popen:
        process = subprocess.Popen([*RAG, "index", "--corpus", str(corpus), "--index", str(index)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
        running.append(process)
        started.append(process)
        return process

    for _ in range(OPERATIONS):
        generated = sorted(corpus.glob("n-*.md"))
        running[:] = [u for u in running if u.poll() is None]
        operation = rng.choices(["add", "replace", "remove", "update", "kill"], [30, 20, 14, 18, 18])[0]
        if operation == "add" or (operation in ("replace", "remove") and len(generated) < 3):
            written += 1
            (corpus / f"n-{written:03d}.md").write_text(news(rng, written), encoding="utf-8")
        elif operation == "replace":
            written += 1
            rng.choice(generated).write_text(news(rng, written), encoding="utf-8")
        elif operation == "remove":
            rng.choice(generated).unlink()
        elif operation == "update":  # left running while the corpus keeps changing; at most two at once
            if len(running) >= 2:
                running.pop(0).wait(timeout=300)
            update()
        else:  # a running update killed wherever it is, or a new one killed within its first seconds
            if running:
                victim = rng.choice(running)
            else:
                victim = update()
                time.sleep(rng.uniform(0.8, 3.0))  # an update starts working about 2 s after its start
            victim.send_signal(signal.SIGKILL)
            killed.add(victim.pid)
        time.sleep(rng.uniform(0, 0.05))
    for process in started:
        process.wait(timeout=300)
        assert process.returncode == 0 or (process.pid in killed and process.returncode == -signal.SIGKILL), \
            process.stderr.read()

    final = subprocess.run([*RAG, "index", "--corpus", str(corpus), "--index", str(index), "--optimize"],
                           capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=300, check=False)
    assert final.returncode == 0, final.stderr
    assert reader.close() == "" and reader.answered > 50
    assert len(killed) >= 12 and len(started) >= 24

    assert set(store.read_manifest(index)[1].articles) == {a.source for a in load_corpus(corpus).articles}
    clean = tmp_path / "clean"
    rag.build_index(corpus, clean, model=navec.NAME)
    for question in QUESTIONS:
        assert rag.answer(question, k=5, index=index).to_json() == rag.answer(question, k=5, index=clean).to_json()
