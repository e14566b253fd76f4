"""Sentence vectors verified block by block as their rows are read: a damaged block fails the questions and
merges that read it, nothing else; segments written before, checksummed whole, still read."""

from __future__ import annotations

import logging

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import rag
from rag.cli import cli
from rag.index import checksums, store
from rag.models import navec
from tests.helpers import forge

GOOD = "Сколько электричества будет вырабатывать первая очередь?"
"""A question whose passages (the energy output's and two near the article's start) lie before the birds'."""
BAD = "Кого пригласила компания, чтобы изучить птиц?"
"""A question answered from the birds' passage, whose sentence vectors the tests damage."""
PORT = "В Актау построят порт для контейнеров. Его откроют в 2027 году."
"""A second article, so that an update with `optimize` merges two segments."""
BLOCK = 1024
"""Small blocks, so that the first article's sentence vectors (~28 KiB with navec) span many."""


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


def byte_of_row(index: Path, row: int) -> int:
    """Where a sentence row starts in the index's sentence file."""
    rows = store.load(index).vectors.segments[0].sentence_rows
    return rows.offset + row * rows.vectors.shape[1] * rows.vectors.itemsize


def blocks_of(index: Path, ids: list[int]) -> set[int]:
    """The blocks of the sentence file that the sentence vectors of passages `ids` lie in."""
    first = store.load(index).vectors.segments[0].sentence_rows.first
    return {b for i in ids for b in range(byte_of_row(index, int(first[i])) // BLOCK,
                                          (byte_of_row(index, int(first[i + 1])) - 1) // BLOCK + 1)}


def damage_block(index: Path, passage: int) -> int:
    """Flip a bit in the middle of a passage's sentence vectors, in place (as a failing disk would); returns the
    block."""
    first = store.load(index).vectors.segments[0].sentence_rows.first
    middle = byte_of_row(index, int(first[passage] + first[passage + 1]) // 2) + 7
    path = sentence_file(index)
    data = bytearray(path.read_bytes())
    data[middle] ^= 0x10
    path.write_bytes(bytes(data))
    return middle // BLOCK


def test_a_damaged_block_fails_the_questions_that_read_it_and_no_other(built: Path, clean: dict, tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="rag")
    index = copied(built, tmp_path)
    block = damage_block(index, clean[BAD].passages[0].id)
    assert block not in blocks_of(index, [p.id for p in clean[GOOD].passages]), "the test's premise"
    assert rag.answer(GOOD, index=index).to_json() == clean[GOOD].to_json(), "the index opens and answers"
    assert "sentences.npy is damaged" in caplog.text, "opening analysed the newest passages' sentences: noted"
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
    (corpus / "port.txt").write_text(PORT, encoding="utf-8")
    damage_block(index, clean[BAD].passages[0].id)
    pointer = (index / store.POINTER).read_text()
    with pytest.raises(rag.IndexDamaged, match=rf"{sentence_file(index).name} is damaged"):
        rag.build_index(corpus, index, optimize=True)  # two segments: merged into one
    assert (index / store.POINTER).read_text() == pointer
    assert not list((index / "segments").glob("*-m0.*")), "no merged segment"
    assert rag.answer(GOOD, index=index).to_json() == clean[GOOD].to_json()


def as_written_before(index: Path) -> None:
    """Make the index's segment as the version before block checksums wrote it: its sentence file checksummed
    whole, no blocks file."""
    (index / "segments" / sentence_file(index).name.replace(".sentences.", ".sentence_blocks.")).unlink()
    forge(index, lambda m: [s.pop("sentence_blocks") for s in m["segments"]])


def test_an_index_written_before_block_checksums_answers_the_same_and_merges_into_blocks(
        built: Path, clean: dict, article_corpus: Path, tmp_path: Path) -> None:
    index, corpus = copied(built, tmp_path), tmp_path / "corpus"
    shutil.copytree(article_corpus, corpus)
    as_written_before(index)
    for question, answer in clean.items():
        found = rag.answer(question, index=index)
        assert found.answer == answer.answer and [p.id for p in found.passages] == [p.id for p in answer.passages]
    (corpus / "port.txt").write_text(PORT, encoding="utf-8")
    rag.build_index(corpus, index, optimize=True)
    (merged,) = store.load(index).manifest.segments
    assert merged.sentence_blocks is not None
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



def test_blocks_are_verified_where_read_and_a_wrong_size_is_damage(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(checksums, "BLOCK", 100)
    data = bytes(range(250))
    sums = checksums.of_blocks(data)
    path = tmp_path / "file"
    path.write_bytes(data[:150] + b"x" + data[151:])  # block 1 damaged
    blocks = checksums.Blocks(path, sums)
    blocks.check(0, 100)
    blocks.check(200, 250)
    with pytest.raises(rag.IndexDamaged, match=rf"{path} is damaged \(block 1's"):
        blocks.check(99, 101)  # a range over blocks 0 and 1
    path.write_bytes(data[:150] + b"x" + data[151:] + bytes(60))  # a block more
    with pytest.raises(rag.IndexDamaged, match="its size is not the one recorded"):
        checksums.Blocks(path, sums)
