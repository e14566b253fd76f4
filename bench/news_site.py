"""A news site of our own on 127.0.0.1, for the tests and the ingest benchmark: Russian article pages wrapped
in the boilerplate real sites have (menu, cookie banner, «Читайте также», comments, footer), feeds, and
whatever status, type, delay or redirect a test needs.

    site = NewsSite.start()
    site.route("/news/1", page(1))
    rag.add_url(site.url("/news/1"), ...)    # with RAG_FETCH_ALLOW_PRIVATE=1
    site.stop()
"""

from __future__ import annotations

import html
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BOILERPLATE = ("Главная Политика Экономика Спорт Культура", "Мы используем файлы cookie",
               "Читайте также", "Комментарии читателей", "Все права защищены")
"""A phrase of each boilerplate block of `article_html`: none may reach the corpus."""

WORDS = ("правительство область строительство бюджет завод дорога школа больница выставка фестиваль урожай "
         "инвестиции мост аэропорт университет проект договор делегация рынок экспорт").split()


def story(n: int, paragraphs: int = 4) -> tuple[str, list[str]]:
    """Article `n`'s title and paragraphs: Russian news text, different for every `n`."""
    pick = lambda k: WORDS[(n * 7 + k) % len(WORDS)]  # noqa: E731
    title = f"Новость номер {n}: {pick(0)} и {pick(1)}"
    body = [f"В городе Велград {n} мая объявили, что {pick(i)} получит {100 + n * 13 + i} миллионов рублей "
            f"на развитие, а {pick(i + 3)} откроется к осени. Об этом сообщил пресс-секретарь администрации "
            f"Иван Петров номер {n}, добавив, что работы по проекту {pick(i + 5)} идут по графику."
            for i in range(paragraphs)]
    return title, body


def article_html(title: str, paragraphs: list[str], *, date: str = "2026-05-12", site: str = "Вестник Велграда",
                 charset: str | None = "utf-8", canonical: str | None = None) -> str:
    """A news page as sites make them: the article between a menu, a cookie banner, links to other stories,
    readers' comments and a footer."""
    meta = f'<meta charset="{charset}">' if charset else ""
    link = f'<link rel="canonical" href="{html.escape(canonical)}">' if canonical else ""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="ru"><head>{meta}<title>{html.escape(title)} — {html.escape(site)}</title>
<meta property="og:title" content="{html.escape(title)}"><meta property="og:site_name" content="{html.escape(site)}">
<meta property="article:published_time" content="{date}T10:00:00+03:00">{link}</head>
<body>
<header><nav><ul><li><a href="/">Главная</a></li> <li><a href="/p">Политика</a></li> <li><a href="/e">Экономика</a></li>
<li><a href="/s">Спорт</a></li> <li><a href="/c">Культура</a></li></ul></nav></header>
<div class="cookie-banner" id="cookies">Мы используем файлы cookie, чтобы сайт работал лучше. <button>Принять</button></div>
<main><article>
<h1>{html.escape(title)}</h1>
<time datetime="{date}">{date}</time>
{body}
</article>
<aside class="related"><h3>Читайте также</h3><ul><li><a href="/x1">Мэр открыл новый сквер</a></li>
<li><a href="/x2">В области прошёл фестиваль</a></li></ul></aside>
<section class="comments" id="comments"><h3>Комментарии читателей</h3>
<div class="comment"><b>Гость</b>: Наконец-то, давно пора было это сделать!</div></section>
</main>
<footer>© 2026 {html.escape(site)}. Все права защищены. <a href="/about">О редакции</a></footer>
</body></html>"""


def login_html() -> str:
    """A page with no article: a login form."""
    return """<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>Вход</title></head><body>
<form method="post"><label>Логин <input name="login"></label><label>Пароль <input type="password" name="p"></label>
<button>Войти</button></form><footer>Все права защищены</footer></body></html>"""


def rss(items: list[tuple[str, str]], title: str = "Вестник Велграда") -> str:
    """An RSS 2.0 feed of (title, link) items."""
    entries = "\n".join(f"<item><title>{html.escape(t)}</title><link>{html.escape(link)}</link>"
                        f"<guid>{html.escape(link)}</guid></item>" for t, link in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{html.escape(title)}</title>'
            f"<link>http://example.org/</link><description>Новости</description>{entries}</channel></rss>")


@dataclass
class Route:
    """What the site answers at one path."""

    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    etag: str | None = None
    """When set, sent as ETag with a Last-Modified, and a request bringing it back gets 304."""


class NewsSite:
    """The site: a ThreadingHTTPServer on a free port of 127.0.0.1, its routes changeable while it runs, and the
    requests it answered (path, status, headers) for tests to look at."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, int, dict[str, str]]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                route = site.routes.get(self.path) or Route(b"not found", "text/plain", 404)
                time.sleep(route.delay)
                fresh = route.etag is not None and self.headers.get("If-None-Match") == route.etag
                status = 304 if fresh else route.status
                site.requests.append((self.path, status, dict(self.headers)))
                self.send_response(status)
                headers = {"Content-Type": route.content_type, **route.headers}
                if route.etag:
                    headers |= {"ETag": route.etag, "Last-Modified": formatdate(0, usegmt=True)}
                for name, value in headers.items():
                    self.send_header(name, value)
                body = b"" if fresh else route.body
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # a client that stopped reading (size cap)
                    pass

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @classmethod
    def start(cls) -> NewsSite:
        return cls()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def route(self, path: str, body: str | bytes, **options) -> str:
        """Serve `body` at `path` (text is sent as UTF-8 unless `content_type` says otherwise); returns its URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(data, **options)
        return self.url(path)

    def redirect(self, path: str, to: str, status: int = 302) -> str:
        """Redirect `path` to the link `to`; returns its URL."""
        self.routes[path] = Route(status=status, headers={"Location": to})
        return self.url(path)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
