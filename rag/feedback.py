"""Readers' verdicts on answers (👍/👎 and a comment), kept as JSON lines beside the index.

    rag.record_feedback("index", rag.answer("Кто заявил…?"), liked=False, comment="не та цитата")
    [entry["question"] for entry in read_feedback("index") if not entry["liked"]]

Each verdict is one line of `<index>/feedback.jsonl`: time, verdict, question, answer, quote offsets, the
passages shown (source, offsets, score, the start of their text) and the comment, every field cut to a
bound, so an entry never exceeds `MAX_ENTRY_BYTES`. Lines are appended under an exclusive `flock` with one
`write` each, so processes recording at once never interleave; the file stops growing at `MAX_FILE_BYTES`.
`rag-bench eval --feedback` turns the 👎 into a report of failing questions.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
from pathlib import Path

from rag.errors import IndexMissing, RagError
from rag.search.answer import Answer
from rag.settings import MAX_K, MAX_PASSAGE, MAX_QUESTION

FILE = "feedback.jsonl"
MAX_COMMENT = 1000
"""Characters of a comment kept."""
MAX_SHOWN = 300
"""Characters of each passage's text kept: enough to recognise it; offsets locate the rest."""
MAX_ENTRY_BYTES = 64 * 1024
"""Bound on one line (what the bounds on each field add up to, with room for JSON escapes)."""
MAX_FILE_BYTES = 64 * 1024 * 1024
"""The file stops taking verdicts at this size (about a thousand verdicts a day for years)."""


def path(index: str | Path) -> Path:
    """Where the index's feedback is kept."""
    return Path(index) / FILE


def entry(answer: Answer, liked: bool, comment: str | None = None) -> dict:
    """The JSON object recorded for a verdict on `answer`, every field bounded."""
    return {
        "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "liked": bool(liked),
        "question": str(answer.question)[:MAX_QUESTION],
        "answer": None if answer.answer is None else answer.answer[:MAX_PASSAGE],
        "quote": None if answer.quote_start is None else [answer.quote_start, answer.quote_end],
        "notice": (answer.notice or "")[:MAX_QUESTION] or None,
        "passages": [{"source": p.source[:500], "start": p.start, "end": p.end, "score": p.score,
                      "text": p.text[:MAX_SHOWN]} for p in answer.passages[:MAX_K]],
        "comment": (comment or "").strip()[:MAX_COMMENT] or None,
    }


def record_feedback(index: str | Path, answer: Answer, liked: bool, comment: str | None = None) -> None:
    """Append a reader's verdict on `answer` (given by this index) to its feedback file, safely beside other
    processes doing the same; RagError when the index is missing or the file is full."""
    folder = Path(index)
    if not folder.is_dir():
        raise IndexMissing(f"no index in {folder}: run: rag index --index {folder}")
    line = (json.dumps(entry(answer, liked, comment), ensure_ascii=False) + "\n").encode("utf-8")
    if len(line) > MAX_ENTRY_BYTES:  # only JSON escapes of odd characters could get here
        raise RagError("the verdict is too long to record", russian="отзыв слишком длинный: сократите комментарий")
    fd = os.open(path(folder), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_size + len(line) > MAX_FILE_BYTES:
            raise RagError(f"{path(folder)} is full ({MAX_FILE_BYTES // 2**20} MiB): move it away to record more",
                           russian="отзывов накопилось слишком много: новые пока не записываются")
        _append(fd, line, path(folder))
    finally:
        os.close(fd)  # also releases the lock


def _append(fd: int, line: bytes, where: Path) -> None:
    """Write `line` at the end of the locked file in one `write`; a short one (a full disk, a file size limit)
    is taken back, so that no half line is left for the next writer to continue."""
    size = os.fstat(fd).st_size
    try:
        written = os.write(fd, line)
    except OSError:
        written = -1
    if written != len(line):
        os.ftruncate(fd, size)
        raise RagError(f"could not write to {where}", russian="отзыв не записан: нет места на диске")


def read_feedback(index: str | Path) -> list[dict]:
    """Every verdict recorded for the index, oldest first (none when there is no file); a line that is not a
    verdict (cut by a crash, edited by hand) is skipped."""
    try:
        lines = path(index).read_bytes().splitlines()
    except FileNotFoundError:
        return []
    found = []
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and isinstance(item.get("question"), str) and isinstance(item.get("liked"), bool):
            found.append(item)
    return found
