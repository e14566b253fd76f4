"""The one way the chat's panels change the articles (add, replace, remove): rate-limited per client address,
the new index version live at once, a failure turned into the panel's Russian line instead of a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import gradio as gr

from rag.errors import RagError
from rag.search.live import open_index
from ui import format
from ui.limits import RateLimit, discard_upload

Outputs = TypeVar("Outputs", bound=tuple)


def too_many(seconds: float, what: str, limit: RateLimit) -> str:
    """The panel's message for a client over `limit` (`what` was not done): the limit, and when to try again."""
    return format.problem(f"{what}: слишком много статей с вашего адреса (не больше {limit.limit} "
                          f"за {limit.window_s:.0f} с). Подождите {max(1, round(seconds))} с и попробуйте снова.")


def client(request: gr.Request | None) -> str:
    """The address a panel action counts against."""
    return request.client.host if request and request.client else "unknown"


class Writes:
    """The changes to the articles of `index`, all counted against one per-address rate limit; uploads that are
    refused unread are removed from Gradio's `upload_cache`."""

    def __init__(self, index: Path, upload_cache: str | Path, limit: RateLimit | None = None) -> None:
        self.index, self.upload_cache = index, upload_cache
        self.limit = RateLimit() if limit is None else limit  # (an empty RateLimit is falsy: it has a length)

    def change(self, request: gr.Request | None, refused: str, work: Callable[[], Outputs],
               shown: Callable[[str], Outputs], *, upload: str | None = None, refund: bool = False) -> Outputs:
        """`work()`'s outputs, with the index version it wrote live here (not on the next question); over the
        limit or on a `RagError` (or a failed write), `shown` of the line saying why, starting with `refused`
        («Статья не добавлена»). With `refund`, a refusal does not count toward the limit: it changed nothing,
        and a client who corrects it must not be told to wait."""
        address = client(request)
        if wait := self.limit.wait(address):
            if upload:
                discard_upload(upload, self.upload_cache)
            return shown(too_many(wait, refused, self.limit))
        try:
            outputs = work()
            open_index(self.index)
        except (RagError, OSError) as exc:
            if refund:
                self.limit.refund(address)
            return shown(format.problem(f"{refused}: {format.failure(exc)}"))
        return outputs
