"""Index updates: incremental by content hash, atomic, one writer at a time, and the model remembered."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from pathlib import Path

import pytest

import rag
from rag.index import store
from rag.index.manifest import FORMAT
from rag.models import shared_model
from tests.conftest import ARTICLE

pytestmark = pytest.mark.usefixtures("word_model")  # any model does: navec builds in a second

SECOND = """---
title: Новости степи
date: 2026-04-01
---
В Караганде открылся новый музей угля. Экспозиция рассказывает о шахтерах и истории добычи.

Музей работает ежедневно, кроме понедельника.
"""


@pytest.fixture
def corpus(corpus: Path) -> Path:
    """The first article and a short second one."""
    (corpus / "steppe.md").write_text(SECOND, encoding="utf-8")
    return corpus


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every passage text the default model embeds, still embedding it for real (the sentences of the
    passages, which `rag.index.sentences.encode` embeds beside them, are not recorded)."""
    from rag.index import sentences

    seen: list[str] = []
    embedder = shared_model(None)
    original, encode_sentences = embedder.encode_passages, sentences.encode
    in_sentences = threading.local()

    def spy(texts: list[str], **kwargs):
        if not getattr(in_sentences, "on", False):
            seen.extend(texts)
        return original(texts, **kwargs)

    def sentences_unseen(texts: list[str], model):
        in_sentences.on = True
        try:
            return encode_sentences(texts, model)
        finally:
            in_sentences.on = False

    monkeypatch.setattr(embedder, "encode_passages", spy)
    monkeypatch.setattr(sentences, "encode", sentences_unseen)
    return seen


def test_updates_embed_only_new_and_changed_articles(corpus: Path, tmp_path: Path, embedded: list[str]) -> None:
    index = tmp_path / "index"
    first = rag.build_index(corpus, index)
    assert sorted(first.added) == [ARTICLE, "steppe.md"] and first.passages == len(embedded)

    embedded.clear()
    again = rag.build_index(corpus, index)
    assert (again.added, again.changed, again.removed) == ([], [], [])
    assert sorted(again.unchanged) == [ARTICLE, "steppe.md"] and embedded == []
    assert "0 new, 0 changed, 0 removed, 2 unchanged" in again.summary()

    (corpus / "steppe.md").write_text(SECOND.replace("понедельника", "вторника"), encoding="utf-8")
    (corpus / "third.txt").write_text("Астана приняла форум городов-побратимов.", encoding="utf-8")
    embedded.clear()
    update = rag.build_index(corpus, index)
    assert (update.added, update.changed, update.unchanged) == (["third.txt"], ["steppe.md"], [ARTICLE])
    assert all("Казахстан продолжает" not in text for text in embedded), "the unchanged article was re-embedded"
    assert "вторника" in rag.answer("Когда не работает музей угля?", index=index).answer

    (corpus / "third.txt").unlink()
    removal = rag.build_index(corpus, index)
    assert removal.removed == ["third.txt"]
    assert {p.source for p in rag.retrieve("форум городов-побратимов", k=50, index=index)} == {
        ARTICLE, "steppe.md"}

    embedded.clear()
    rebuilt = rag.build_index(corpus, index, rebuild=True)
    assert sorted(rebuilt.added) == [ARTICLE, "steppe.md"] and len(embedded) == rebuilt.passages


def test_unchanged_updates_keep_the_version_and_old_versions_are_pruned(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    rag.build_index(corpus, index)
    version = store.current_version(index)
    rag.build_index(corpus, index)
    assert store.current_version(index) == version
    for n in range(4):
        (corpus / f"extra{n}.txt").write_text(f"Заметка номер {n} о погоде в Алматы.", encoding="utf-8")
        rag.build_index(corpus, index)
    versions = sorted(p.name for p in index.glob("v-*"))
    assert len(versions) == store.KEEP_VERSIONS and versions[-1] == store.current_version(index)


def test_a_second_writer_waits_for_the_first(corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    index = tmp_path / "index"
    rag.build_index(corpus, index)
    (corpus / "new.txt").write_text("Новая статья о зерне и экспорте пшеницы.", encoding="utf-8")
    before = store.current_version(index)
    with caplog.at_level(logging.WARNING, logger="rag"):
        with store.writing(index):
            worker = threading.Thread(target=rag.build_index, args=(corpus, index))
            worker.start()
            worker.join(timeout=3)
            assert worker.is_alive() and store.current_version(index) == before
        worker.join(timeout=60)
    assert not worker.is_alive()
    assert "is being updated by process" in caplog.text
    assert "new.txt" in store.load(index).manifest.articles


def test_the_index_remembers_its_model(corpus: Path, tmp_path: Path, tiny_model: Path) -> None:
    index = tmp_path / "index"
    report = rag.build_index(corpus, index, model=str(tiny_model))
    manifest = store.load(index).manifest
    assert manifest.model == str(tiny_model) == report.model and manifest.dimension == 32
    with pytest.raises(rag.ModelMismatch, match="rag index --rebuild --model navec"):
        rag.build_index(corpus, index, model="navec-news-v1-static")
    # questions are embedded with the index's model, whatever the default is
    assert rag.retrieve("музей угля", k=1, index=index)[0].source == "steppe.md"


def test_a_faiss_file_from_another_model_is_caught(corpus: Path, tmp_path: Path, tiny_model: Path) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    rag.build_index(corpus, small, model=str(tiny_model))
    rag.build_index(corpus, large)
    shutil.copy(large / "segments" / "s-00000001.faiss", small / "segments" / "s-00000001.faiss")
    with pytest.raises(rag.IndexDamaged, match="rag index --rebuild"):
        store.load(small)


def test_a_hand_edited_manifest_is_caught(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    rag.build_index(corpus, index)
    path = index / store.current_version(index) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["tables"][0]["deleted"] = [0]  # an article gone from the table, its passages still in the index
    path.write_text(json.dumps(manifest))
    with pytest.raises(rag.IndexDamaged, match="rag index --rebuild"):
        store.load(index)
    path.write_text("{not json")
    with pytest.raises(rag.IndexDamaged, match="rag index --rebuild"):
        rag.build_index(corpus, index)
    rebuilt = rag.build_index(corpus, index, rebuild=True)
    assert rebuilt.passages > 0
    with pytest.warns(DeprecationWarning, match=r"BuildReport\.chunks is deprecated"):
        assert rebuilt.chunks == rebuilt.passages  # the old name, until 0.2


def test_naming_the_files_an_update_looks_at_leaves_the_rest_of_the_archive_unread(corpus: Path, tmp_path: Path,
                                                                                    embedded: list[str]) -> None:
    from click.testing import CliRunner

    from rag.cli import cli
    from rag.index.update import pending

    index = tmp_path / "index"
    rag.build_index(corpus, index)
    (corpus / "port.txt").write_text("В Актау построят порт для контейнеров.", encoding="utf-8")
    (corpus / "steppe.md").write_text(SECOND.replace("музей угля", "музей соли"), encoding="utf-8")
    embedded.clear()
    result = CliRunner().invoke(cli, ["index", "--corpus", str(corpus), "--index", str(index), str(corpus / "port.txt")])
    assert result.exit_code == 0, result.output
    assert "indexed 1 new, 0 changed, 0 removed, 0 unchanged of those named" in result.output
    assert embedded == ["В Актау построят порт для контейнеров."], "the changed article it was not told of waits"
    assert pending(index).changed == ["steppe.md"]

    (corpus / "port.txt").unlink()
    report = rag.build_index(corpus, index, only=["port.txt", "steppe.md"])
    assert (report.removed, report.changed) == (["port.txt"], ["steppe.md"]) and pending(index).in_step

    outside = CliRunner().invoke(cli, ["index", "--corpus", str(corpus), "--index", str(index), str(tmp_path)])
    assert outside.exit_code != 0 and "is not inside the corpus folder" in outside.output


def test_an_index_of_the_previous_format_answers_and_its_next_update_upgrades_it(corpus: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    from rag.index import checksums

    index = tmp_path / "index"
    rag.build_index(corpus, index)
    before = rag.answer("Когда открылся музей угля?", index=index).to_json()
    version = store.current_version(index)
    manifest = store.read_manifest(index)[1]
    old = {**manifest.to_json(listing=True), "format": 4}  # format 4 listed the articles in the manifest
    for listed in old["articles"].values():
        del listed["story"]  # and knew no stories (the listing leaves the band keys out)
    for table in old.pop("tables"):
        (index / "segments" / f"{table['name']}.arrow").unlink()
    raw = json.dumps(old).encode()
    (index / version / "manifest.json").write_bytes(raw)
    (index / store.POINTER).write_text(f"{version} {checksums.of_bytes(raw)}")
    assert rag.answer("Когда открылся музей угля?", index=index).to_json() == before
    (corpus / "new.txt").write_text("Новая заметка о порте Актау и его причалах.", encoding="utf-8")
    rag.build_index(corpus, index)
    upgraded = store.read_manifest(index)[1]
    assert upgraded.format == FORMAT and len(upgraded.articles) == len(manifest.articles) + 1
    # the old articles keep all that format 4 held; without band keys each is its own story until --rebuild
    assert {s: a for s, a in upgraded.articles.items() if s != "new.txt"} == {
        s: replace(a, story=None, bands=None) for s, a in manifest.articles.items()}
    assert upgraded.articles["new.txt"].bands and upgraded.articles["new.txt"].story
    fresh = tmp_path / "fresh"
    rag.build_index(corpus, fresh)
    def found(at: Path) -> list[tuple]:  # passage ids depend on the index's history, the rest must not
        return [(p.source, p.start, p.score) for p in rag.retrieve("Когда открылся музей угля?", k=5, index=at)]
    assert found(index) == found(fresh)


def test_an_index_answers_with_the_settings_fitted_for_its_model_when_it_was_built(
        corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from rag import fitted
    from rag.search.live import open_index

    before = fitted.for_model(fitted_model := shared_model(None).name)
    old = tmp_path / "old"
    rag.build_index(corpus, old)
    assert store.load(old).fitted == before
    # `rag-bench tune --write` records new values for the model: new indexes take them, the old one keeps its own
    monkeypatch.setattr(fitted, "FILE", tmp_path / "fitted.json")
    changed = replace(before, chunk_size=400, chunk_overlap=100, dense_weight=0.5, no_answer_below=0.99)
    fitted.record(fitted_model, changed)
    new = tmp_path / "new"
    rag.build_index(corpus, new)
    assert store.load(new).fitted == changed and open_index(new).fitted == changed
    assert max(p.end - p.start for p in rag.retrieve("музей угля", k=20, index=new)) <= 400
    assert rag.answer("Где открылся музей угля?", index=new).answer is None  # the new threshold declines all
    assert open_index(old).fitted == before
    (corpus / "third.txt").write_text("Третья заметка: в Астане прошел форум.", encoding="utf-8")
    rag.build_index(corpus, old)  # an update keeps the index's own settings
    assert store.load(old).fitted == before


def test_a_model_never_tuned_gets_generic_settings_that_never_decline(tmp_path: Path, corpus: Path,
                                                                     tiny_model: Path) -> None:
    from rag.fitted import Fitted

    index = tmp_path / "index"
    rag.build_index(corpus, index, model=str(tiny_model))
    assert store.load(index).fitted == Fitted()
    assert rag.answer("Как приготовить бешбармак?", index=index).answer is not None


# --- the store: segments, deletions, merges, the commit point ------------------------------------------

def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its inode and modification time: what an update must leave alone."""
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def test_an_update_writes_only_the_change(corpus: Path, tmp_path: Path) -> None:
    from rag.models import navec

    index = tmp_path / "index"
    rag.build_index(corpus, index, model=navec.NAME)
    old_version = store.current_version(index)
    before, segments = _files(index / old_version), _files(index / "segments")
    answer = rag.answer("Когда открылся музей угля?", index=index)

    (corpus / "port.txt").write_text("В Актау построят порт для контейнеров.", encoding="utf-8")
    rag.build_index(corpus, index)
    assert _files(index / old_version) == before, "the old version is never touched: readers may hold it"
    added = set(_files(index / "segments")) - set(segments)
    assert {name.split(".")[0] for name in added} == {"s-00000002", "a-00000002"}, "new vectors and article rows alone"
    assert all(_files(index / "segments")[name] == stamp for name, stamp in segments.items())
    assert store.load(tmp_path / "index").manifest.segments[-1].rows == 1

    (corpus / "steppe.md").unlink()
    report = rag.build_index(corpus, index)
    assert report.removed == ["steppe.md"] and set(_files(index / "segments")) == set(segments) | added
    assert all(p.source != "steppe.md" for p in rag.retrieve("музей угля Караганда", k=50, index=index))
    assert rag.answer("Когда открылся музей угля?", index=index).answer != answer.answer


def test_segments_merge_by_size_class_and_optimize_leaves_one(corpus: Path, tmp_path: Path) -> None:
    from rag.index import merging
    from rag.models import navec

    index = tmp_path / "index"
    rag.build_index(corpus, index, model=navec.NAME)
    question = "Когда открылся музей угля?"
    for n in range(merging.MERGE_FACTOR + 2):
        (corpus / f"note{n}.txt").write_text(f"Заметка {n}: в Алматы прошел форум номер {n}. Второе предложение.",
                                             encoding="utf-8")
        rag.build_index(corpus, index)
        manifest = store.load(index).manifest
        assert len(manifest.segments) < merging.MERGE_FACTOR and len(manifest.articles.entries) < merging.MERGE_FACTOR
    (corpus / "note0.txt").unlink()
    rag.build_index(corpus, index)
    merged = sentence_vectors(index)
    assert len(merged) == store.load(index).manifest.passages and not any(k[0] == "note0.txt" for k in merged)
    found = sorted((p.source, p.start) for p in rag.retrieve(question, k=20, index=index))
    rag.build_index(corpus, index, optimize=True)
    manifest = store.load(index).manifest
    assert len(manifest.segments) == 1 and manifest.segments[0].rows == manifest.passages
    assert len(manifest.articles.entries) == 1 and not manifest.articles.entries[0].deleted  # the table too
    optimized = [(p.source, p.start, p.score) for p in rag.retrieve(question, k=20, index=index)]
    assert sorted(p[:2] for p in optimized) == found  # the same passages, scored without the deleted ones:
    fresh = tmp_path / "fresh"
    rag.build_index(corpus, fresh, model=navec.NAME)  # exactly as a fresh build scores them
    assert optimized == [(p.source, p.start, p.score) for p in rag.retrieve(question, k=20, index=fresh)]
    assert sentence_vectors(index) == sentence_vectors(fresh), "each passage's sentence vectors, merged with it"
    assert len(list((index / "segments").glob("*.faiss"))) <= 1 + 2 * merging.MERGE_FACTOR, "unused segments go"


def sentence_vectors(index: Path) -> dict[tuple[str, int], bytes]:
    """The stored sentence vectors of each live passage of an index, by its article and offset."""
    stored = store.load(index)
    ids = [i for _, entry in stored.manifest.articles.items() for i in entry.ids]
    passages = stored.words.passages(ids)
    found = dict(zip(ids, stored.vectors.sentences(ids)))
    return {(passages[i].source, passages[i].start): found[i].tobytes() for i in ids}


def test_an_index_without_sentence_vectors_answers_as_before_until_rebuilt(corpus: Path, tmp_path: Path) -> None:
    from tests.helpers import forge
    from rag.models import navec

    index, question = tmp_path / "index", "Когда открылся музей угля?"
    rag.build_index(corpus, index, model=navec.NAME)
    before = rag.answer(question, index=index).to_json()
    for path in (index / "segments").glob("*.sentence*.npy"):
        path.unlink()
    forge(index, lambda m: [m.update(format=5)] + [s.update(sentences=None, sentence_counts=None)
                                                   for s in m["segments"]])  # as format 5 wrote it
    assert rag.answer(question, index=index).to_json() == before, "its sentences encoded when first needed"
    (corpus / "port.txt").write_text("В Актау построят порт для контейнеров. Его откроют в 2027 году.",
                                     encoding="utf-8")
    rag.build_index(corpus, index)
    assert store.read_manifest(index)[1].format == FORMAT
    assert [s.sentences is None for s in store.read_manifest(index)[1].segments] == [True, False]
    quote = before["answer"]  # another article changes the word statistics, hence the lower passages
    assert quote and rag.answer(question, index=index).answer == quote
    rag.build_index(corpus, index, optimize=True)  # merged: the rows without sentence vectors stay so
    assert len(store.read_manifest(index)[1].segments) == 1
    assert rag.answer(question, index=index).answer == quote
    fresh = tmp_path / "fresh"
    rag.build_index(corpus, fresh, model=navec.NAME)
    rag.build_index(corpus, index, rebuild=True, model=navec.NAME)
    assert sentence_vectors(index) == sentence_vectors(fresh)
    assert rag.answer(question, index=index).answer == quote


def test_large_segments_are_searched_with_hnsw(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.index import vectors
    from rag.models import navec

    exact = tmp_path / "exact"
    rag.build_index(corpus, exact, model=navec.NAME)
    monkeypatch.setattr(vectors, "APPROXIMATE_FROM", 2)
    approximate = tmp_path / "approximate"
    rag.build_index(corpus, approximate, model=navec.NAME)
    assert [s.approximate for s in store.load(approximate).manifest.segments] == [True]
    for question in ("Когда открылся музей угля?", "дипломатические отношения Казахстана"):
        assert ([p.start for p in rag.retrieve(question, k=5, index=approximate)]
                == [p.start for p in rag.retrieve(question, k=5, index=exact)])


def test_status_json_prints_the_manifest(corpus: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from rag.cli import cli
    from rag.models import navec

    index = tmp_path / "index"
    rag.build_index(corpus, index, model=navec.NAME)
    result = CliRunner().invoke(cli, ["status", "--index", str(index), "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["model"] == navec.NAME and status["fitted"]["chunk_size"] > 0
    assert status["passages"] == sum(a["passages"] for a in status["articles"].values())
    assert len(status["articles"]["steppe.md"]["hash"]) == 64 and status["segments"][0]["rows"] == status["passages"]


def test_an_update_reads_only_new_and_modified_files(corpus: Path, word_index: Path, corpus_reads: list[int]) -> None:
    import os

    index, read = word_index, corpus_reads
    (corpus / "port.txt").write_text("В Актау построят порт для контейнеров.", encoding="utf-8")
    report = rag.build_index(corpus, index)
    assert len(read) == 1 and report.added == ["port.txt"] and sorted(report.unchanged) == [ARTICLE, "steppe.md"]

    read.clear()
    steppe = corpus / "steppe.md"
    steppe.write_text(SECOND.replace("понедельника", "воскресенья"), encoding="utf-8")  # the file changes
    os.utime(steppe, ns=(steppe.stat().st_atime_ns, steppe.stat().st_mtime_ns + 1_000_000))  # even within a tick
    assert rag.build_index(corpus, index).changed == ["steppe.md"] and len(read) == 1
    read.clear()
    port = corpus / "port.txt"
    os.utime(port, ns=(port.stat().st_atime_ns, port.stat().st_mtime_ns + 1_000_000))  # touched, text the same
    assert rag.build_index(corpus, index).unchanged and len(read) == 1  # read once, and its new time recorded
    assert rag.build_index(corpus, index).unchanged and len(read) == 1  # then known again by its stat
    (corpus / "copy.txt").write_text("В Актау построят порт для контейнеров.", encoding="utf-8")
    assert [s.reason for s in rag.build_index(corpus, index).skipped] == ["duplicate of port.txt"]
    assert len(rag.build_index(corpus, index, rebuild=True).unchanged) == 0
