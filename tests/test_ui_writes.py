"""The one handler every change to the articles goes through (`ui.writes`): its refusals, without a server (the
chat's add, replace and remove go through it in tests/test_serve_access.py and tests/test_ui_server.py)."""

from __future__ import annotations

import errno
from pathlib import Path

from rag.errors import RagError
from ui.limits import RateLimit
from ui.writes import Writes


def shown(line: str) -> tuple[str, str]:
    """A panel's outputs for a refusal: the line, the rest left as it was."""
    return line, "unchanged"


def refused() -> tuple[str, str]:
    raise RagError("give the article a title", russian="укажите заголовок статьи")


def test_a_refusal_is_one_russian_line_and_counts_toward_the_limit_unless_refunded(tmp_path: Path) -> None:
    writes = Writes(tmp_path / "index", tmp_path / "cache", RateLimit(limit=1))
    for _ in range(3):  # refunded: a corrected add may follow at once
        assert writes.change(None, "Статья не добавлена", refused, shown, refund=True) == \
            ("<p>⚠️ Статья не добавлена: укажите заголовок статьи</p>", "unchanged")
    assert writes.change(None, "Текст не заменён", refused, shown)[0] == \
        "<p>⚠️ Текст не заменён: укажите заголовок статьи</p>"
    line = writes.change(None, "Статья не удалена", refused, shown)[0]  # the one call of the window was spent
    assert line.startswith("<p>⚠️ Статья не удалена: слишком много статей с вашего адреса (не больше 1 за 60 с)")


def test_a_failed_write_is_said_and_an_upload_refused_unread_is_removed(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "0abc").mkdir(parents=True)
    upload = cache / "0abc" / "article.md"
    upload.write_text("# Кортания\n\nСтолица Кортании — Велград.\n", encoding="utf-8")
    writes = Writes(tmp_path / "index", cache, RateLimit(limit=1))

    def disk_full() -> tuple[str, str]:
        raise OSError(errno.ENOSPC, "No space left on device")

    assert writes.change(None, "Статья не добавлена", disk_full, shown)[0] == \
        "<p>⚠️ Статья не добавлена: ошибка записи (No space left on device)</p>"
    assert upload.exists()  # not this handler's to read: only a refused one is removed unread
    line = writes.change(None, "Статья не добавлена", disk_full, shown, upload=str(upload))[0]
    assert "слишком много статей" in line and not upload.exists()
