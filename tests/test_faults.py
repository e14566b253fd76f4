"""Damaged indexes get a clear error that says what to run; a running process keeps its last good index;
a full disk during an update leaves the old index intact."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import rag
from rag.index import store
from rag.search.live import open_index
from tests.conftest import ROOT
from tests.helpers import forge

QUESTION = "Со сколькими государствами у Казахстана дипломатические отношения?"


@pytest.fixture
def index(word_index: Path) -> Path:
    """The first article indexed with the word-vector model: damage and recovery do not depend on the model,
    and `rag index` processes over it start in a second."""
    return word_index


def live(index: Path) -> Path:
    return index / store.current_version(index)


@pytest.mark.parametrize("damage", ["truncate-vectors", "delete-vectors", "delete-ids", "delete-words",
                                    "garble-manifest", "wrong-dimension",
                                    "pointer-to-nowhere", "pointer-outside"])
def test_damage_is_reported_with_the_fix(index: Path, damage: str) -> None:
    folder = live(index)
    segment = index / "segments" / "s-00000001.faiss"
    if damage == "truncate-vectors":
        segment.write_bytes(segment.read_bytes()[: segment.stat().st_size // 2])
    elif damage == "delete-vectors":
        segment.unlink()
    elif damage == "delete-ids":
        (index / "segments" / "s-00000001.ids.npy").unlink()
    elif damage == "delete-words":
        (folder / "words" / "meta.json").unlink()
    elif damage == "garble-manifest":
        (folder / "manifest.json").write_text('{"model": "x"')
    elif damage == "wrong-dimension":
        manifest = json.loads((folder / "manifest.json").read_text())
        (folder / "manifest.json").write_text(json.dumps({**manifest, "dimension": manifest["dimension"] + 1}))
    elif damage == "pointer-to-nowhere":
        (index / "CURRENT").write_text("v-99999999")
    else:
        (index / "CURRENT").write_text(str(folder.resolve()))
    with pytest.raises(rag.IndexDamaged, match=r"run: rag index --rebuild"):
        store.load(index)


def test_an_index_built_by_a_version_with_another_no_answer_rule_answers_with_this_one_s(index: Path) -> None:
    """The rule's weights belong to the signals a version computes: an index recording an earlier version's rule
    (six weights, no signal names) is read with the rule fitted now for its model, not refused."""
    from rag.fitted import for_model

    def earlier(manifest: dict) -> None:
        del manifest["fitted"]["no_answer_signals"]
        manifest["fitted"]["no_answer_rule"] = [1.0] * 7

    forge(index, earlier)
    opened = store.load(index).manifest
    assert opened.fitted.no_answer_rule == for_model(opened.model).no_answer_rule


def flip_a_bit(path: Path) -> None:
    """Flip one bit in the middle of a file in place, keeping its size (as a failing disk would)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damaged", ["vectors", "ids", "words", "articles", "manifest"])
def test_a_flipped_bit_in_any_stored_file_is_an_error_naming_it_not_another_answer(index: Path, damaged: str) -> None:
    folder = live(index)
    path = {
        "vectors": index / "segments" / "s-00000001.faiss",
        "ids": index / "segments" / "s-00000001.ids.npy",
        "words": max((folder / "words").glob("*.store"), key=lambda p: p.stat().st_size),
        "articles": index / "segments" / "a-00000001.arrow",
        "manifest": folder / "manifest.json",
    }[damaged]
    flip_a_bit(path)
    with pytest.raises(rag.IndexDamaged, match=rf"{path.name}.*damaged.*run: rag index --rebuild"):
        rag.answer(QUESTION, index=index)


def test_a_server_keeps_answering_from_the_last_good_index(index: Path, caplog: pytest.LogCaptureFixture) -> None:
    before = rag.answer(QUESTION, index=index)
    good, pointer = live(index), (index / "CURRENT").read_text()
    broken = index / "v-99999999"
    shutil.copytree(good, broken)
    (broken / "manifest.json").write_text((broken / "manifest.json").read_text().replace("s-00000001", "s-gone"))
    (index / "CURRENT").write_text(broken.name)
    assert rag.answer(QUESTION, index=index) == before
    assert "keeping the previous index" in caplog.text
    (index / "CURRENT").write_text(pointer)
    assert open_index(index).version == good.name


def test_a_full_disk_during_an_update_keeps_the_old_index(index: Path, corpus: Path) -> None:
    (corpus / "long.txt").write_text("Новая длинная статья о степи и реках. " * 3000, encoding="utf-8")
    before_version, before = store.current_version(index), rag.answer(QUESTION, index=index)

    def small_disk() -> None:  # writes past 64 KiB fail with EFBIG, as on a full disk, even for root
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    result = subprocess.run(
        [sys.executable, "-c", "from rag.cli import main; main()", "index", "--corpus", str(corpus),
         "--index", str(index)],
        capture_output=True, text=True, cwd=ROOT, preexec_fn=small_disk, timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("Error: File too large") and "Traceback" not in result.stderr
    assert store.current_version(index) == before_version
    assert rag.answer(QUESTION, index=index) == before
    assert rag.build_index(corpus, index).added == ["long.txt"]  # with room again, the update goes through
    assert not list(index.glob(".tmp-*"))
