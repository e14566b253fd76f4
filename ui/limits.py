"""What keeps an outsider from overloading the chat server: the size of a request, the rate of adds, questions and
JSON API requests per client address, uploaded files left in Gradio's cache, and who is logged in."""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
import time
from collections.abc import Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse

from rag.articles import MAX_ADD_BYTES
from rag.errors import RagError

MAX_REQUEST_BYTES = 2 * MAX_ADD_BYTES
"""Largest request body accepted: an upload of the largest article with room for its form encoding."""


class BodyLimit:
    """ASGI middleware refusing request bodies over `max_bytes`, so no single request can fill the memory; the
    refusal is JSON, as the JSON API's own are."""

    def __init__(self, app, max_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
            if not declared.isdigit() or int(declared) > self.max_bytes:
                response = JSONResponse({"error": f"request body over {self.max_bytes} bytes"}, status_code=413)
                return await response(scope, receive, send)
            receive = self._counting(receive)
        await self.app(scope, receive, send)

    def _counting(self, receive):
        """`receive`, failing once a body sent without (or beyond) its Content-Length grows too large."""
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise ValueError(f"request body over {self.max_bytes} bytes")
            return message

        return limited


ADD_LIMIT = 5
"""Add requests one client address may make per `ADD_WINDOW_S`, whether the article is then accepted or not."""

ADD_WINDOW_S = 60.0
"""The rate limit's window, in seconds."""

ASK_LIMIT = 60
"""Requests one client address may send the JSON API (`ui.api`) per `ASK_WINDOW_S`, answered or refused."""

ASK_WINDOW_S = 60.0
"""The JSON API's rate limit window, in seconds."""

MAX_TRACKED_CLIENTS = 10_000
"""Client addresses the rate limit remembers at most; the least recently seen are forgotten first."""

class RateLimit:
    """At most `limit` calls per `window_s` seconds for each key (a client address), thread-safe.

    Keys are kept in the order they were last used; those idle for a whole window are dropped on every call,
    and beyond `max_keys` the least recently used go too, so the table stays small whatever the traffic.
    """

    def __init__(self, limit: int = ADD_LIMIT, window_s: float = ADD_WINDOW_S,
                 max_keys: int = MAX_TRACKED_CLIENTS, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or max_keys < 1:
            raise ValueError("limit and max_keys must be at least 1")
        self.limit, self.window_s, self.max_keys, self.clock = limit, window_s, max_keys, clock
        self._calls: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """0.0 if `key` may call now (the call is counted), else the seconds until it may."""
        with self._lock:
            now = self.clock()
            start = now - self.window_s
            recent = [t for t in self._calls.pop(key, []) if t > start]
            allowed = len(recent) < self.limit
            if allowed:
                recent.append(now)
            self._calls[key] = recent  # last in the table: the most recently seen
            while True:  # drop from the least recently seen; `key` itself is fresh, so this stops
                oldest = next(iter(self._calls))
                if len(self._calls) <= self.max_keys and self._calls[oldest][-1] > start:
                    break
                del self._calls[oldest]
            return 0.0 if allowed else recent[0] + self.window_s - now

    def refund(self, key: str) -> None:
        """Take back `key`'s latest counted call: a refused one (a duplicate, a bad date) changed nothing, and
        a client who corrects it must not be told to wait."""
        with self._lock:
            if self._calls.get(key):
                self._calls[key].pop()

    def __len__(self) -> int:
        return len(self._calls)


def discard_upload(path: str | Path, cache: str | Path) -> None:
    """Delete an uploaded file, but only if it lies inside Gradio's upload `cache` folder."""
    file, folder = Path(path).resolve(), Path(cache).resolve()
    if file.is_relative_to(folder) and file != folder:
        file.unlink(missing_ok=True)


def take_upload(path: str | Path, cache: str | Path) -> dict:
    """An uploaded article as `rag.add_article`'s `data` and `filename`, read (at most one byte over the limit,
    so the library can say it is too large) and then removed from the upload `cache`: no copy is kept."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_ADD_BYTES + 1)
    except FileNotFoundError:
        raise RagError("загруженный файл уже удалён — загрузите его снова") from None
    finally:
        discard_upload(path, cache)
    return {"data": data, "filename": Path(path).name}


def client_address(request: Request) -> str:
    """The address a request counts against (a local proxy's `X-Forwarded-For`, as uvicorn reads it)."""
    return request.client.host if request.client else "unknown"


def logged_in(request: Request) -> bool:
    """Whether a request to a route of our own (article view, JSON API) may pass the chat's login: always
    without one; else with the chat's session cookie or HTTP Basic with one of its (user, password) pairs."""
    app = request.app
    if getattr(app, "auth", None) is None and getattr(app, "auth_dependency", None) is None:
        return True
    if app.auth_dependency is not None:
        return app.auth_dependency(request) is not None
    token = (request.cookies.get(f"access-token-{app.cookie_id}")
             or request.cookies.get(f"access-token-unsecure-{app.cookie_id}"))
    return app.tokens.get(token) is not None or _basic_login(request.headers.get("authorization", ""), app.auth)


def _basic_login(header: str, accounts: dict[str, str]) -> bool:
    """Whether an `Authorization: Basic …` header names a user of `accounts` with its password."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, colon, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected = accounts.get(user.strip())
    return bool(colon) and expected is not None and hmac.compare_digest(password.encode(), expected.encode())
