"""Embedding on Ray (`rag index --ray`): a local Ray cluster builds the same index as one process, committing as
it goes, so that a build killed mid-way resumes where it was; without --ray nothing imports Ray
(tests/test_milvus.py)."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import rag
from bench.ray import smallest_cosine
from rag.index import store, update
from rag.models import navec
from tests.conftest import ROOT
from tests.helpers import QUESTIONS, news

ray = pytest.importorskip("ray")


def test_a_ray_build_is_the_single_process_build(corpus: Path, tmp_path: Path, monkeypatch) -> None:
    rng = random.Random(7)
    for n in range(3):
        (corpus / f"n-{n}.md").write_text(news(rng, n), encoding="utf-8")
    single = tmp_path / "single"
    rag.build_index(corpus, single, model=navec.NAME)
    monkeypatch.setattr(update, "CHECKPOINT", 5)  # a commit every 5 passages: what a stopped build keeps
    on_ray = tmp_path / "ray"
    try:
        report = rag.build_index(corpus, on_ray, model=navec.NAME, ray="auto", ray_actors=1)
        assert ray.get(ray.remote(lambda: os.nice(0)).remote()) == 0, "workers at normal priority, not Ray's 15"
    finally:
        ray.shutdown()
    assert report.passages == store.read_manifest(single)[1].passages
    assert store.current_version(on_ray) > "v-00000001", "committed along the way"
    assert rag.build_index(corpus, on_ray).in_step, "a second build finds every article indexed"
    a, b = store.read_manifest(single)[1], store.read_manifest(on_ray)[1]
    assert [(s, e.first, e.passages) for s, e in sorted(a.articles.items())] == \
           [(s, e.first, e.passages) for s, e in sorted(b.articles.items())], "same passage ids"
    assert smallest_cosine(single, on_ray) >= 0.9999
    for question in QUESTIONS:
        assert rag.answer(question, index=on_ray).to_json() == rag.answer(question, index=single).to_json()


@pytest.mark.slow
def test_a_killed_ray_build_keeps_what_it_committed_and_the_next_build_adds_the_rest(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rng = random.Random(7)
    for n in range(12):
        (corpus / f"n-{n:02d}.md").write_text(news(rng, n), encoding="utf-8")
    index = tmp_path / "index"
    child = subprocess.Popen([sys.executable, "-m", "tests.ray_kill_child", str(corpus), str(index)], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert child.wait(timeout=120) == -signal.SIGKILL, "killed after its second commit"
    finally:
        with contextlib.suppress(ProcessLookupError):  # the local cluster's processes outlive their driver
            os.killpg(child.pid, signal.SIGKILL)
    kept = store.read_manifest(index)[1]
    assert kept.passages == 10, "two commits of 5 passages each"
    report = rag.build_index(corpus, index)  # resumed in one process: the articles committed are not redone
    assert len(report.added) == 2 and len(report.unchanged) == 10
    single = tmp_path / "single"
    rag.build_index(corpus, single, model=navec.NAME)
    for question in QUESTIONS:
        assert rag.answer(question, index=index).to_json() == rag.answer(question, index=single).to_json()
