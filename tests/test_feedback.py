"""Readers' 👍/👎 on answers: bounded JSON lines beside the index, safe across processes, and the report of
the failing questions (`rag-bench eval --feedback`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import rag
from bench.cli import cli as bench_cli
from rag import feedback
from rag.search.answer import Answer
from tests.conftest import ROOT

GOOD = "Со сколькими государствами у Казахстана дипломатические отношения?"
BAD = "Кто заявил о приоритетах внешней политики?"


def test_a_verdict_is_one_bounded_line_with_question_answer_passages_and_time(word_index: Path) -> None:
    reply = rag.answer(GOOD, k=3, index=word_index)
    rag.record_feedback(word_index, reply, liked=True)
    rag.record_feedback(word_index, reply, liked=False, comment="  не та цитата " + "!" * 5000)
    lines = (word_index / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert (first["question"], first["answer"], first["liked"], first["comment"]) == (GOOD, reply.answer, True, None)
    assert [p["source"] for p in first["passages"]] == [p.source for p in reply.passages]
    assert first["quote"] == [reply.quote_start, reply.quote_end] and first["time"].startswith("20")
    assert second["comment"].startswith("не та цитата") and len(second["comment"]) == feedback.MAX_COMMENT
    huge = Answer("?" * 50_000, "x" * 50_000, reply.passages * 30)
    rag.record_feedback(word_index, huge, liked=False)
    assert len(feedback.path(word_index).read_bytes().splitlines()[-1]) < feedback.MAX_ENTRY_BYTES


def test_the_file_stops_growing_at_its_bound(word_index: Path) -> None:
    file = feedback.path(word_index)
    file.write_bytes(b"")
    os.truncate(file, feedback.MAX_FILE_BYTES - 100)  # sparse: as full as years of verdicts, without writing them
    with pytest.raises(rag.RagError) as caught:
        rag.record_feedback(word_index, Answer(GOOD, None), liked=False)
    assert caught.value.russian == "отзывов накопилось слишком много: новые пока не записываются"
    assert file.stat().st_size == feedback.MAX_FILE_BYTES - 100


def test_processes_recording_at_once_never_interleave_lines(tmp_path: Path) -> None:
    script = ("import sys; from rag.feedback import record_feedback; from rag.search.answer import Answer\n"
              "for n in range(100): record_feedback(sys.argv[1], Answer(sys.argv[2] * 3000 + str(n), None), n % 2 == 0)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), letter], env=env) for letter in "абв"]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
    entries = feedback.read_feedback(tmp_path)
    assert len(entries) == 300 == len(feedback.path(tmp_path).read_bytes().splitlines())
    assert sorted({e["question"][0] for e in entries}) == ["а", "б", "в"]


def test_eval_feedback_reports_the_disliked_questions_asked_again(word_index: Path) -> None:
    for question, liked, comment in [(GOOD, True, None), (BAD, False, "не тот человек"), (BAD, False, None),
                                     (GOOD, False, "цитата обрезана")]:
        rag.record_feedback(word_index, rag.answer(question, index=word_index), liked, comment)
    with feedback.path(word_index).open("a", encoding="utf-8") as fh:
        fh.write('{"question": "обрыв строки при сбое')  # a line cut by a crash is skipped
    result = CliRunner().invoke(bench_cli, ["eval", "--feedback", "--index", str(word_index)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "# 2 failing question(s) from readers' 👎"
    assert lines[4].startswith(f"| 2 | 0 | {BAD} |") and lines[4].endswith("| не тот человек |")
    assert lines[5].startswith(f"| 1 | 1 | {GOOD} |") and "| (same) | цитата обрезана |" in lines[5]


def test_eval_feedback_without_verdicts_says_so(word_index: Path) -> None:
    result = CliRunner().invoke(bench_cli, ["eval", "--feedback", "--index", str(word_index)])
    assert result.output.strip() == "No answer was marked 👎: nothing to report."


def test_a_short_write_leaves_no_half_line(tmp_path: Path) -> None:
    script = ("import resource, signal, sys; from rag.errors import RagError; from rag.feedback import record_feedback\n"
              "from rag.search.answer import Answer\n"
              "record_feedback(sys.argv[1], Answer('первый', None), True)\n"
              "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (400, 400))  # the file may not grow past 400 bytes\n"
              "try: record_feedback(sys.argv[1], Answer('второй ' * 40, None), True)\n"
              "except RagError as exc: print(exc.russian)\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "отзыв не записан: нет места на диске", done.stderr
    assert [e["question"] for e in feedback.read_feedback(tmp_path)] == ["первый"]
    assert feedback.path(tmp_path).read_bytes().endswith(b"}\n")
