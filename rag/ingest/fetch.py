"""Getting one page from the web within bounds: every redirect hop checked by `guard` and connected to the address
it checked (`PinnedTransport`), at most 5 of them, a time limit, a size cap applied while the body streams in,
only the content types asked for, and the text decoded by the header's charset, else the page's
`<meta charset>`, else detection.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx
from charset_normalizer import from_bytes

from rag.ingest.guard import FetchRefused, address, check_link

MAX_PAGE_BYTES = 5 * 1024 * 1024
"""Largest body read (5 MiB): a news page is a few hundred KiB; the stream stops at the cap."""

MAX_REDIRECTS = 5
HTML_TYPES = ("text/html", "application/xhtml+xml")
USER_AGENT = "Mozilla/5.0 (compatible; rag-ru-news/0.1; +https://pypi.org/project/trafilatura/) news QA reader"
"""Sent with every request: sites see who fetches and that it is no browser pretending."""

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def default_timeout() -> float:
    """Seconds a fetch may take in all: `$RAG_FETCH_TIMEOUT`, else 20."""
    try:
        return max(0.1, float(os.environ.get("RAG_FETCH_TIMEOUT", "20")))
    except ValueError:
        return 20.0


class PinnedTransport(httpx.HTTPTransport):
    """Sends each request to the address `guard.address` checked for its link, not to whatever the name resolves
    to when the connection opens (DNS rebinding: a public answer to the check, a private one to the connection);
    the Host header and TLS (SNI and the certificate's name) keep the link's name, as safehttpx does for async."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        name = request.url.host
        request.url = request.url.copy_with(host=address(str(request.url)))
        request.extensions = {**request.extensions, "sni_hostname": name}
        return super().handle_request(request)


@dataclass(frozen=True)
class Fetched:
    """A response read whole: the final link after redirects, its body (empty when not modified) and headers."""

    url: str
    status: int
    content_type: str
    charset: str | None
    data: bytes
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        """True for a 304: the conditional request found nothing new."""
        return self.status == 304


def fetch(url: str, *, types: tuple[str, ...] = HTML_TYPES, timeout: float | None = None,
          etag: str | None = None, last_modified: str | None = None, max_bytes: int = MAX_PAGE_BYTES) -> Fetched:
    """GET `url` with its redirects followed by hand (each hop checked, and connected to the address checked),
    refusing with FetchRefused a link `guard` refuses, an error status, a body over `max_bytes`, a content type
    not in `types`, or a fetch taking over `timeout` seconds. `etag`/`last_modified` make the request conditional (a 304 comes back
    with no body)."""
    timeout = default_timeout() if timeout is None else timeout
    deadline = time.monotonic() + timeout
    headers = {"User-Agent": USER_AGENT, "Accept": ", ".join(types) + ";q=1.0, */*;q=0.1"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    with httpx.Client(transport=PinnedTransport(trust_env=False), follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_link(url)  # its addresses are checked by the transport, which connects to the one checked
            try:
                with client.stream("GET", url, headers=headers, timeout=httpx.Timeout(timeout)) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    return _read(url, response, types, (deadline, timeout), max_bytes)
            except httpx.TimeoutException:
                raise _timed_out(url, timeout) from None
            except httpx.HTTPError as exc:
                raise FetchRefused(f"{url[:200]} could not be fetched ({type(exc).__name__}: {exc})",
                                   russian=f"страница «{url[:200]}» не загружается ({exc})") from None
        raise FetchRefused(f"{url[:200]} redirects more than {MAX_REDIRECTS} times",
                           russian=f"страница перенаправляет больше {MAX_REDIRECTS} раз")


def _timed_out(url: str, timeout: float) -> FetchRefused:
    return FetchRefused(f"{url[:200]} did not answer within {timeout:g} s",
                        russian=f"сайт не ответил за {timeout:g} с: «{url[:200]}»")


def _read(url: str, response: httpx.Response, types: tuple[str, ...], limit: tuple[float, float],
          max_bytes: int) -> Fetched:
    """The response's body, streamed up to `max_bytes` before the `limit` (deadline, timeout), once its status
    and type are right."""
    shown = url[:200]
    if response.status_code == 304:
        return Fetched(url, 304, "", None, b"", response.headers.get("etag"), response.headers.get("last-modified"))
    if response.status_code >= 400 or response.status_code < 200:
        raise FetchRefused(f"{shown} answered HTTP {response.status_code}",
                           russian=f"сайт ответил ошибкой {response.status_code}: «{shown}»")
    mime, _, params = response.headers.get("content-type", "").partition(";")
    mime = mime.strip().lower()
    if mime not in types:
        raise FetchRefused(f"{shown} is {mime or 'of no stated type'}, not a web page",
                           russian=f"по ссылке не веб-страница, а {mime or 'файл неизвестного типа'}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(shown, max_bytes)
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise _too_large(shown, max_bytes)
        if time.monotonic() > limit[0]:
            raise _timed_out(url, limit[1])
    charset = re.search(r"charset\s*=\s*\"?([\w.:-]+)", params, re.I)
    return Fetched(url, response.status_code, mime, charset.group(1) if charset else None, bytes(body),
                   response.headers.get("etag"), response.headers.get("last-modified"))


def _too_large(shown: str, max_bytes: int) -> FetchRefused:
    return FetchRefused(f"{shown} is larger than {max_bytes // 2**20} MiB",
                        russian=f"страница больше {max_bytes // 2**20} МиБ: не загружаю")


def decode_html(data: bytes, charset: str | None = None) -> str:
    """A page's text: by the header's `charset`, else its `<meta charset>` (in the first 4 KiB), else UTF-8
    when it decodes, else detection (windows-1251 and koi8-r pages without a declaration read right)."""
    declared = _META_CHARSET.search(data[:4096])
    for name in (charset, declared.group(1).decode("ascii") if declared else None):
        if name:
            try:
                return data.decode(name)
            except (LookupError, UnicodeDecodeError):
                continue
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        best = from_bytes(data).best()
        return str(best) if best is not None else data.decode("utf-8", errors="replace")
