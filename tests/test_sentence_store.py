"""Sentence vectors as stored: int8, verified block by block as their rows are read (a damaged block fails the
questions and merges that read it, nothing else), and the float16, whole-file-checksummed segments written
before still read."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import rag
from rag.cli import cli
from rag.index import checksums, milvus, store
from rag.index import sentences as sentence_store
from rag.models import navec, shared_model
from tests.helpers import forge

GOOD = "Сколько электричества будет вырабатывать первая очередь?"
"""A question whose passages (the energy output's and two near the article's start) lie before the birds'."""
BAD = "Кого пригласила компания, чтобы изучить птиц?"
"""A question answered from the birds' passage, whose sentence vectors the tests damage."""
BLOCK = 1024
"""Small blocks, so that the first article's sentence vectors (~14 KiB with navec) span many."""


@pytest.fixture(scope="module")
def built(article_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first article indexed with navec in blocks of `BLOCK` bytes; tests work on copies (`copied`)."""
    index = tmp_path_factory.mktemp("blocks") / "index"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(checksums, "BLOCK", BLOCK)
        rag.build_index(article_corpus, index, model=navec.NAME)
    return index


@pytest.fixture(scope="module")
def clean(built: Path) -> dict[str, rag.Answer]:
    """The answers to `GOOD` and `BAD` over the undamaged index."""
    return {q: rag.answer(q, index=built) for q in (GOOD, BAD)}


def copied(index: Path, folder: Path) -> Path:
    shutil.copytree(index, folder / "index")
    return folder / "index"


def sentence_file(index: Path) -> Path:
    (segment,) = store.load(index).manifest.segments
    return index / "segments" / f"{segment.name}.sentences.npy"


def blocks_of(index: Path, ids: list[int]) -> set[int]:
    """The blocks of the sentence file that the sentence vectors of passages `ids` lie in."""
    rows = store.load(index).vectors.segments[0].sentence_rows
    row_bytes = rows.vectors.shape[1] * rows.vectors.itemsize
    return {b for i in ids for b in range((rows.offset + int(rows.first[i]) * row_bytes) // BLOCK,
                                            (rows.offset + int(rows.first[i + 1]) * row_bytes - 1) // BLOCK + 1)}


def damage_block(index: Path, passage: int) -> int:
    """Flip a bit in the middle of a passage's sentence vectors, in place (as a failing disk would); returns the
    block."""
    rows = store.load(index).vectors.segments[0].sentence_rows
    middle = rows.offset + int(rows.first[passage] + rows.first[passage + 1]) // 2 * rows.vectors.shape[1] + 7
    path = sentence_file(index)
    data = bytearray(path.read_bytes())
    data[middle] ^= 0x10
    path.write_bytes(bytes(data))
    return middle // BLOCK


def test_a_damaged_block_fails_the_questions_that_read_it_and_no_other(built: Path, clean: dict, tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    index = copied(built, tmp_path)
    assert np.load(sentence_file(index), mmap_mode="r").dtype == sentence_store.STORED
    block = damage_block(index, clean[BAD].passages[0].id)
    assert block not in blocks_of(index, [p.id for p in clean[GOOD].passages]), "the test's premise"
    assert rag.answer(GOOD, index=index).to_json() == clean[GOOD].to_json(), "the index opens and answers"
    assert "sentences.npy is damaged" in caplog.text, "opening analysed the newest passages' sentences: logged"
    for _ in range(2):  # a damaged block is never taken for verified
        with pytest.raises(rag.IndexDamaged, match=rf"{sentence_file(index)} is damaged \(block {block}'s.*"
                                                   r"run: rag index --rebuild"):
            rag.answer(BAD, index=index)
    asked = CliRunner().invoke(cli, ["ask", "--index", str(index), BAD])
    assert asked.exit_code == 1 and asked.output.startswith("Error: ") and asked.output.count("\n") == 1
    assert sentence_file(index).name in asked.output and "Traceback" not in asked.output


def test_a_merge_over_a_damaged_block_fails_and_writes_nothing(built: Path, clean: dict, article_corpus: Path,
                                                               tmp_path: Path) -> None:
    index, corpus = copied(built, tmp_path), tmp_path / "corpus"
    shutil.copytree(article_corpus, corpus)
    (corpus / "port.txt").write_text("В Актау построят порт для контейнеров. Его откроют в 2027 году.", encoding="utf-8")
    damage_block(index, clean[BAD].passages[0].id)
    pointer = (index / store.POINTER).read_text()
    with pytest.raises(rag.IndexDamaged, match=rf"{sentence_file(index).name} is damaged"):
        rag.build_index(corpus, index, optimize=True)  # two segments: merged into one
    assert (index / store.POINTER).read_text() == pointer
    assert not list((index / "segments").glob("*-m0.*")), "no merged segment"
    assert rag.answer(GOOD, index=index).to_json() == clean[GOOD].to_json()


def as_written_before(index: Path) -> None:
    """Rewrite the index's segment as the version before block checksums wrote it: float16 sentence vectors,
    checksummed whole, no blocks file."""
    path = sentence_file(index)
    np.save(path, sentence_store.unit(np.load(path)).astype(np.float16))
    (index / "segments" / path.name.replace(".sentences.", ".sentence_blocks.")).unlink()
    forge(index, lambda m: [s.pop("sentence_blocks") and s.update(sentences=checksums.of_file(path))
                            for s in m["segments"]])


def test_an_index_written_before_block_checksums_answers_the_same_and_merges_into_int8(
        built: Path, clean: dict, article_corpus: Path, tmp_path: Path) -> None:
    index, corpus = copied(built, tmp_path), tmp_path / "corpus"
    shutil.copytree(article_corpus, corpus)
    as_written_before(index)
    assert np.load(sentence_file(index)).dtype == np.float16
    for question, answer in clean.items():
        found = rag.answer(question, index=index)
        assert found.answer == answer.answer and [p.id for p in found.passages] == [p.id for p in answer.passages]
    (corpus / "port.txt").write_text("В Актау построят порт для контейнеров. Его откроют в 2027 году.", encoding="utf-8")
    rag.build_index(corpus, index, optimize=True)
    (merged,) = store.load(index).manifest.segments
    assert merged.sentence_blocks is not None and np.load(sentence_file(index)).dtype == sentence_store.STORED
    assert rag.answer(BAD, index=index).answer == clean[BAD].answer


def test_a_flipped_bit_in_a_sentence_file_written_before_block_checksums_is_found_at_opening(
        built: Path, tmp_path: Path) -> None:
    index = copied(built, tmp_path)
    as_written_before(index)
    path = sentence_file(index)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(rag.IndexDamaged, match=rf"{path.name} is damaged.*run: rag index --rebuild"):
        store.load(index)


def test_int8_keeps_cosines_within_a_thousandth_of_float32(article_text: str) -> None:
    model = shared_model(navec.NAME)
    sentences = [article_text[a:b] for a, b in sentence_store.sentence_spans(article_text)]
    exact = np.asarray(model.encode_passages(sentences), dtype=np.float32)
    stored = sentence_store.stored(exact)
    assert stored.dtype == np.int8 and (np.abs(stored).max(axis=1) == 127).all()
    questions = np.asarray(model.encode_queries([GOOD, BAD, "Сколько стоил проект?"]), dtype=np.float32)
    error = np.abs(sentence_store.unit(stored) @ questions.T - exact @ questions.T)
    assert error.mean() < 5e-4 and error.max() < 2e-3
    assert np.array_equal(sentence_store.stored(sentence_store.unit(stored)), stored), "a merge rewrites them as they were"


def test_milvus_rows_keep_reading_float16_and_hold_twice_the_sentences_in_int8() -> None:
    vectors = sentence_store.unit(sentence_store.stored(np.random.default_rng(1).normal(size=(3, 384))))
    assert np.array_equal(milvus.unpacked(milvus.packed(vectors), 384, "c"), sentence_store.stored(vectors))
    before = base64.b64encode(vectors.astype(np.float16).tobytes()).decode("ascii")  # as rows were written before
    assert np.array_equal(milvus.unpacked(before, 384, "c"), vectors.astype(np.float16))
    assert milvus.packed(np.ones((127, 384))) != milvus.NOT_STORED == milvus.packed(np.ones((128, 384)))
    with pytest.raises(rag.IndexDamaged, match="Milvus collection c"):
        milvus.unpacked(milvus.INT8 + "!!", 384, "c")

