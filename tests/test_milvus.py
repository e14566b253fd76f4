"""An index whose passages live in Milvus (Milvus Lite here): the same answers as the local index, updates that
cost their change, what a killed update leaves cleaned up, and the same commands and API.

The word-vector model keeps these builds to a second; the conformance suite of the interfaces
(tests/test_interfaces.py) runs on Milvus too. `make test` keeps one round trip (the same top 5) and the errors;
the updates, kills and commands on Milvus are marked slow and run in `make test-all`.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import rag
from rag.index import milvus, sentences, store
from rag.index.words import StoredPassage
from rag.models import navec, shared_model
from tests.conftest import ROOT
from tests.helpers import QUESTIONS, news, run

EVAL = [json.loads(line)["question"] for line in (ROOT / "corpus" / "eval" / "questions.jsonl").open(encoding="utf-8")]


def top5(index: Path, question: str) -> list[tuple[str, int, float]]:
    return [(p.source, p.start, p.score) for p in rag.retrieve(question, k=5, index=index)]


def write_news(corpus: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    for n in range(count):
        (corpus / f"n-{n:03d}.md").write_text(news(rng, n), encoding="utf-8")


def rows(index: Path) -> int:
    """Rows in the index's collection (live or not)."""
    backend = store.read_manifest(index)[1].backend
    client = milvus.connect(backend.uri)
    return len(client.query(backend.collection, filter="id >= 0", output_fields=["id"]))


def test_milvus_and_local_indexes_give_the_same_top5(corpus: Path, tmp_path: Path) -> None:
    write_news(corpus, 30, seed=1)
    local, remote = tmp_path / "local", tmp_path / "milvus"
    rag.build_index(corpus, local, model=navec.NAME)
    rag.build_index(corpus, remote, model=navec.NAME, backend="milvus", uri=str(tmp_path / "passages.db"))
    assert store.read_manifest(remote)[1].backend.uri == str(tmp_path / "passages.db")
    for question in EVAL + QUESTIONS:
        found, expected = top5(remote, question), top5(local, question)
        assert [p[:2] for p in found] == [p[:2] for p in expected], question
        assert [p[2] for p in found] == pytest.approx([p[2] for p in expected], abs=1e-4), question  # float32 sums
    assert rag.answer(EVAL[0], index=remote).to_json() == rag.answer(EVAL[0], index=local).to_json()
    ids = list(range(store.read_manifest(local)[1].next_id))
    kept, sent = store.load(local).vectors.sentences(ids), store.load(remote).vectors.sentences(ids)
    assert all(a is not None and a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(kept, sent)), \
        "the sentence vectors make the round trip through Milvus unchanged"


@pytest.mark.slow
def test_adding_replacing_and_removing_articles_cost_the_change(corpus: Path, tmp_path: Path) -> None:
    write_news(corpus, 6, seed=2)
    index = tmp_path / "index"
    rag.build_index(corpus, index, model=navec.NAME, backend="milvus")  # Milvus Lite in index/milvus.db
    before = store.read_manifest(index)[1]
    (corpus / "n-000.md").write_text(news(random.Random(3), 100), encoding="utf-8")  # replaced
    (corpus / "n-001.md").unlink()
    (corpus / "n-900.md").write_text(news(random.Random(4), 900), encoding="utf-8")
    report = rag.build_index(corpus, index)
    assert (report.added, report.changed, report.removed) == (["n-900.md"], ["n-000.md"], ["n-001.md"])
    after = store.read_manifest(index)[1]
    kept = [s for s in before.articles if s not in ("n-000.md", "n-001.md")]
    assert all(after.articles[s].first == before.articles[s].first for s in kept), "kept articles keep their rows"
    assert after.next_id == before.next_id + after.articles["n-000.md"].passages + after.articles["n-900.md"].passages
    assert rows(index) == after.passages, "the retired rows are deleted after the commit"
    assert rag.build_index(corpus, index).in_step
    clean = tmp_path / "clean"
    rag.build_index(corpus, clean, model=navec.NAME)
    for question in QUESTIONS:
        assert top5(index, question) == top5(clean, question), question


@pytest.mark.slow
def test_rows_a_killed_update_left_are_never_seen_and_then_deleted(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    rag.build_index(corpus, index, model=navec.NAME, backend="milvus")
    manifest = store.read_manifest(index)[1]
    answer = rag.answer(QUESTIONS[-2], index=index).to_json()
    # what an update killed before its commit leaves: rows from the manifest's next id on
    writer = milvus.MilvusWriter(milvus.connect(manifest.backend.uri), manifest.backend.collection,
                                 store.load(index).words.stats, manifest.fitted.prefix, sentences=True)
    leftover = StoredPassage(manifest.next_id, "ghost.md", 0, 60, "Казахстан дипломатические отношения государствами")
    writer.add([leftover], store.load(index).vectors.vectors(np.array([0])),
               sentences.encode([leftover.text], shared_model(navec.NAME)), "Призрак", None, None)
    writer.flush()
    assert rows(index) == manifest.passages + 1
    assert rag.answer(QUESTIONS[-2], index=index).to_json() == answer, "a reader never sees uncommitted rows"
    (corpus / "n-001.md").write_text(news(random.Random(5), 1), encoding="utf-8")
    rag.build_index(corpus, index)
    assert rows(index) == store.read_manifest(index)[1].passages
    assert "ghost.md" not in {p.source for p in rag.retrieve(QUESTIONS[-2], k=20, index=index)}


@pytest.mark.slow
def test_an_update_cannot_move_the_passages_but_a_rebuild_can(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    rag.build_index(corpus, index, model=navec.NAME)
    with pytest.raises(rag.RagError, match="run: rag index --rebuild --backend milvus"):
        rag.build_index(corpus, index, backend="milvus")
    rag.build_index(corpus, index, rebuild=True, model=navec.NAME, backend="milvus")
    first = store.read_manifest(index)[1].backend
    rag.build_index(corpus, index, rebuild=True, model=navec.NAME)  # a rebuild stays where the index is
    second = store.read_manifest(index)[1].backend
    assert second.uri == first.uri and second.collection != first.collection
    assert milvus.connect(first.uri).list_collections() == [second.collection], "the old one dropped"


@pytest.mark.slow
def test_the_commands_work_unchanged_on_milvus(corpus: Path, tmp_path: Path) -> None:
    index, db = tmp_path / "index", tmp_path / "db" / "passages.db"
    built = run("index", "--corpus", str(corpus), "--index", str(index), "--model", navec.NAME,
                "--backend", "milvus", "--uri", str(db))
    assert built.returncode == 0, built.stderr
    status = run("status", "--index", str(index))
    assert f"backend:  milvus at {db}" in status.stdout, status.stdout
    asked = run("ask", "--json", "--index", str(index), "Во сколько обошёлся проект ветропарка?")
    assert asked.returncode == 0, asked.stderr
    assert "9,8 миллиарда рублей" in json.loads(asked.stdout)["answer"]


def test_a_milvus_lite_database_open_elsewhere_is_a_clear_error(corpus: Path, tmp_path: Path) -> None:
    db = tmp_path / "held.db"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pymilvus import MilvusClient
        MilvusClient({str(db)!r}); print("open", flush=True); sys.stdin.read()""")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(rag.IndexBusy, match="open in another process") as caught:
            rag.build_index(corpus, tmp_path / "index", model=navec.NAME, backend="milvus", uri=str(db))
        assert caught.value.russian.startswith("база Milvus Lite открыта другим процессом")
    finally:
        holder.communicate("", timeout=60)


def test_a_milvus_server_out_of_reach_is_a_clear_error(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(rag.RagError, match=r"cannot reach Milvus at http://127\.0\.0\.1:9 ") as caught:
        rag.build_index(corpus, tmp_path / "index", model=navec.NAME, backend="milvus",
                        uri="http://user:secret@127.0.0.1:9")
    assert "secret" not in str(caught.value) and caught.value.russian == "база Milvus недоступна: подробности в журнале сервера"


def test_a_local_index_never_imports_milvus_or_ray(word_index: Path) -> None:
    code = (f"import sys, rag; rag.answer('Сколько государств?', index={str(word_index)!r}); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pymilvus', 'milvus_lite', 'ray')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
