"""Embedding on Ray (`rag index --ray`): a local Ray cluster builds the same index as one process, committing as
it goes (so that a stopped build resumes); without --ray nothing imports Ray (tests/test_milvus.py)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

import rag
from rag.index import store, update
from rag.models import navec
from tests.test_soak import QUESTIONS, news

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
    finally:
        ray.shutdown()
    assert report.chunks == store.read_manifest(single)[1].passages
    assert store.current_version(on_ray) > "v-00000001", "committed along the way"
    assert rag.build_index(corpus, on_ray).in_step, "a second build finds every article indexed"
    a, b = store.load(single), store.load(on_ray)
    ids = np.arange(a.manifest.next_id)
    assert [(s, e.first, e.passages) for s, e in sorted(a.manifest.articles.items())] == \
           [(s, e.first, e.passages) for s, e in sorted(b.manifest.articles.items())], "same passage ids"
    cosine = np.sum(a.vectors.vectors(ids) * b.vectors.vectors(ids), axis=1)
    assert cosine.min() >= 0.9999
    for question in QUESTIONS:
        assert rag.answer(question, index=on_ray).to_json() == rag.answer(question, index=single).to_json()
