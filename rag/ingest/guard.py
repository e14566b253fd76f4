"""Which links the server may fetch: http(s) only, and never an address inside this machine or its network.

A link typed by an outsider must not reach the loopback, a private network, a link-local address or a cloud
metadata service (169.254.169.254): every name is resolved and every address it gives is checked, at every
redirect hop, and the connection is made to the address checked (`address`, `rag.ingest.fetch.PinnedTransport`),
never by resolving the name again: a name that answers a public address to the check and a private one to the
connection (DNS rebinding) cannot lead inside. `RAG_FETCH_ALLOW_PRIVATE=1` lets loopback and private addresses
through (tests serve pages from 127.0.0.1); link-local ones, the metadata service's among them, stay refused.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

from rag.errors import RagError

SCHEMES = ("http", "https")
MAX_URL = 2000
"""Longest link accepted, in characters."""


class FetchRefused(RagError):
    """A link the server will not fetch (scheme, address) or a page it will not take (size, type, status)."""


def allow_private() -> bool:
    """True when `RAG_FETCH_ALLOW_PRIVATE=1`: private and loopback addresses may be fetched (never link-local
    ones, where cloud metadata services answer)."""
    return os.environ.get("RAG_FETCH_ALLOW_PRIVATE") == "1"


def _refused(address: str) -> bool:
    """Whether the server must not connect to `address`: anything not global, link-local even when allowed."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return True
    return not ip.is_global and not allow_private()


def check_url(url: str) -> str:
    """`url` itself when the server may fetch it, else FetchRefused (`address`)."""
    address(url)
    return url


def check_link(url: str) -> tuple[str, int | None, bool]:
    """The host and port of `url` and whether it is https, when it is an http(s) link with a host of at most
    `MAX_URL` characters (its addresses not checked yet: `address`); else FetchRefused."""
    shown = url[:200]
    if len(url) > MAX_URL:
        raise FetchRefused(f"the link is longer than {MAX_URL} characters",
                           russian=f"ссылка длиннее {MAX_URL} символов")
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        raise FetchRefused(f"{shown!r} is not a valid link", russian=f"«{shown}» — не ссылка") from None
    if parts.scheme.lower() not in SCHEMES or not host:
        raise FetchRefused(f"only http:// and https:// links can be fetched, not {shown!r}",
                           russian=f"загрузить можно только ссылку http:// или https://, а не «{shown}»")
    return host, port, parts.scheme.lower() == "https"


def address(url: str) -> str:
    """The address to connect to for `url` (the first its host resolves to), when the server may fetch it: a link
    `check_link` takes, whose every resolved address is public (or private with `allow_private`); else
    FetchRefused."""
    shown = url[:200]
    host, port, https = check_link(url)
    try:
        infos = socket.getaddrinfo(host, port or (443 if https else 80),
                                   type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise FetchRefused(f"the host {host!r} of {shown!r} is not found",
                           russian=f"сайт «{host}» не найден") from None
    private = sorted({info[4][0] for info in infos if _refused(info[4][0])})
    if private:
        raise FetchRefused(f"{shown!r} leads to a private or local address ({private[0]}): refused",
                           russian=f"ссылка «{shown}» ведёт на внутренний адрес ({private[0]}): не загружаю")
    return infos[0][4][0]
