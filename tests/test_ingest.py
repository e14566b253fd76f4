"""Articles from the web: pages by link and saved pages, hostile links, feeds; all served by a real HTTP server
on 127.0.0.1 (bench.news_site), extracted by the real trafilatura, indexed with navec."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

import rag
from bench.news_site import BOILERPLATE, NewsSite, article_html, login_html, rss, story
from rag.cli import main
from rag.corpus import parse_article
from rag.errors import RagError
from rag.ingest.feeds import add_feed, list_feeds, update_feeds
from rag.models import navec


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A corpus of one article of our own and its navec index, shared by the module's tests."""
    folder = tmp_path_factory.mktemp("web")
    corpus, index = folder / "corpus", folder / "index"
    corpus.mkdir()
    title, paragraphs = story(0)
    (corpus / "first.md").write_text(f"---\ntitle: {title}\n---\n" + "\n\n".join(paragraphs), encoding="utf-8")
    rag.build_index(corpus, index, model=navec.NAME)
    return corpus, index


@pytest.fixture(autouse=True)
def local_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_FETCH_ALLOW_PRIVATE", "1")


def files(corpus: Path) -> set[str]:
    return {p.name for p in corpus.iterdir()}


def test_page_by_link_keeps_the_article_and_none_of_the_boilerplate(site: NewsSite, library) -> None:
    corpus, index = library
    title, paragraphs = story(1)
    url = site.route("/news/1?utm_source=tg", article_html(title, paragraphs, date="2026-05-12"))
    added = rag.add_url(url, corpus, index=index)
    saved = parse_article(added.path.name, added.path.read_text(encoding="utf-8"))
    assert (saved.title, saved.date, saved.publisher) == (title, "2026-05-12", "Вестник Велграда")
    assert saved.url == site.url("/news/1")  # canonical: the tracking parameter dropped
    assert "fetched_at: '20" in added.path.read_text(encoding="utf-8")
    indexed = rag.article_text(added.path.name, index).text
    assert all(p in indexed for p in paragraphs)
    assert not [phrase for phrase in BOILERPLATE if phrase in indexed]
    assert "Наконец-то" not in indexed  # the readers' comment


def test_same_link_again_replaces_a_changed_text_and_refuses_the_same(site: NewsSite, library) -> None:
    corpus, index = library
    title, paragraphs = story(2)
    url = site.route("/news/2", article_html(title, paragraphs))
    first = rag.add_url(url, corpus, index=index)
    with pytest.raises(RagError, match="is the same as the old"):
        rag.add_url(url, corpus, index=index)
    site.route("/news/2", article_html(title, [*paragraphs, "Дополнение: мост через реку Велу откроют в июне."]))
    again = rag.add_url(url, corpus, index=index)
    assert again.replaced and again.path == first.path
    assert "реку Велу" in rag.article_text(first.path.name, index).text


def test_windows_1251_page_without_a_declared_charset_reads_right(site: NewsSite, library) -> None:
    corpus, index = library
    title, paragraphs = story(3)
    url = site.route("/news/3", article_html(title, paragraphs, charset=None).encode("cp1251"),
                     content_type="text/html")
    added = rag.add_url(url, corpus, index=index)
    assert paragraphs[0] in rag.article_text(added.path.name, index).text


def test_redirects_are_followed_and_the_final_link_kept(site: NewsSite, library) -> None:
    corpus, index = library
    title, paragraphs = story(4)
    final = site.route("/news/4", article_html(title, paragraphs))
    site.redirect("/short/4b", final, 301)
    start = site.redirect("/short/4", site.url("/short/4b"))
    added = rag.add_url(start, corpus, index=index)
    assert parse_article(added.path.name, added.path.read_text(encoding="utf-8")).url == final


def _refused(url: str, library, match: str, **options) -> None:
    corpus, index = library
    before = files(corpus)
    with pytest.raises(RagError, match=match) as caught:
        rag.add_url(url, corpus, index=index, **options)
    assert caught.value.russian and files(corpus) == before


@pytest.mark.parametrize(("path", "body", "options", "match"), [
    ("/big", "<html><body>" + "<p>Слово.</p>" * 500_000 + "</body></html>", {}, "larger than 5 MiB"),
    ("/report.pdf", b"%PDF-1.7 ...", {"content_type": "application/pdf"}, "application/pdf, not a web page"),
    ("/login", login_html(), {}, "no article text"),
    ("/slow", article_html(*story(5)), {"delay": 2.0}, "did not answer within 0.5 s"),
])
def test_pages_that_are_no_article_are_refused(site: NewsSite, library, path, body, options, match) -> None:
    url = site.route(path, body, **options)
    _refused(url, library, match, timeout=0.5)


def test_missing_page_and_endless_redirects_are_refused(site: NewsSite, library) -> None:
    _refused(site.url("/nothing-here"), library, "HTTP 404")
    for n in range(7):
        site.redirect(f"/loop/{n}", site.url(f"/loop/{n + 1}"))
    _refused(site.url("/loop/0"), library, "more than 5 times")


@pytest.mark.parametrize(("url", "match"), [
    ("file:///etc/passwd", "only http:// and https://"),
    ("javascript:alert(1)", "only http:// and https://"),
    ("http://127.0.0.1:9/", "private or local address \\(127.0.0.1\\)"),
    ("http://localhost:9/", "private or local address"),
    ("http://[::1]:9/", "private or local address \\(::1\\)"),
    ("http://10.1.2.3/", "private or local address"),
    ("http://169.254.169.254/latest/meta-data/", "private or local address"),
])
def test_hostile_links_are_refused_without_a_request(library, monkeypatch, url, match) -> None:
    monkeypatch.delenv("RAG_FETCH_ALLOW_PRIVATE")
    _refused(url, library, match)


def test_every_redirect_hop_is_checked(site: NewsSite, library) -> None:
    """Even with private addresses allowed (the local site), a hop to the metadata service or to a file is
    refused."""
    _refused(site.redirect("/to-metadata", "http://169.254.169.254/latest/meta-data/"), library, "169.254.169.254")
    _refused(site.redirect("/to-file", "file:///etc/passwd"), library, "only http:// and https://")


def _resolver(monkeypatch: pytest.MonkeyPatch, name: str, answers: list[str]) -> list[str]:
    """Make `name` resolve to `answers[0]`, then to `answers[1]` for every later lookup (as a DNS server under an
    attacker's control can); returns the log of lookups of `name`."""
    real, asked = socket.getaddrinfo, []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[min(len(asked), len(answers)) - 1], port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_name_that_rebinds_to_a_local_address_after_the_check_does_not_reach_it(site: NewsSite, library,
                                                                                   monkeypatch) -> None:
    """DNS rebinding: the name answers a public address to the check and the local site's to the connection; the
    fetch connects to the address it checked (which does not answer here), so the local site sees no request."""
    monkeypatch.delenv("RAG_FETCH_ALLOW_PRIVATE")
    port = site.server.server_address[1]
    site.route("/inside", article_html(*story(3)))
    asked = _resolver(monkeypatch, "rebind.test", ["8.8.8.8", "127.0.0.1"])
    _refused(f"http://rebind.test:{port}/inside", library, "did not answer|could not be fetched", timeout=1.0)
    assert asked == ["rebind.test"] and "/inside" not in [path for path, _, _ in site.requests]


def test_a_page_by_name_is_fetched_from_the_address_checked_with_its_name_as_host(site: NewsSite, library,
                                                                                    monkeypatch) -> None:
    port = site.server.server_address[1]
    site.route("/named", article_html(*story(30)))
    _resolver(monkeypatch, "news.test", ["127.0.0.1"])
    added = rag.add_url(f"http://news.test:{port}/named", library[0], index=library[1])
    assert story(30)[0] in added.path.read_text(encoding="utf-8")
    assert [h.get("Host") for path, _, h in site.requests if path == "/named"] == [f"news.test:{port}"]


def test_cli_adds_a_link_and_refuses_a_hostile_one_in_one_line(site: NewsSite, library) -> None:
    corpus, index = library
    url = site.route("/news/6", article_html(*story(6)))
    places = ["--corpus", str(corpus), "--index", str(index)]
    ok = CliRunner().invoke(main, ["add", url, *places])
    assert ok.exit_code == 0 and ok.output.startswith("added ")
    bad = CliRunner().invoke(main, ["add", "file:///etc/passwd", *places])
    assert bad.exit_code == 1 and bad.output.strip().count("\n") == 0 and bad.output.startswith("Error: ")


def test_saved_page_file_is_extracted_like_a_fetched_one(library, tmp_path: Path) -> None:
    corpus, index = library
    title, paragraphs = story(7)
    page = tmp_path / "saved.html"
    page.write_text(article_html(title, paragraphs), encoding="utf-8")
    result = CliRunner().invoke(main, ["add", str(page), "--corpus", str(corpus), "--index", str(index)])
    assert result.exit_code == 0, result.output
    saved = Path(result.output.split()[1])
    text = rag.article_text(saved.name, index).text
    assert paragraphs[-1] in text and "Читайте также" not in text


def test_feed_followed_twice_adds_new_items_once_and_asks_conditionally(site: NewsSite, library) -> None:
    corpus, index = library
    links = [site.route(f"/feed-news/{n}", article_html(*story(n))) for n in (10, 11)]
    dead = site.url("/feed-news/gone")
    site.route("/rss", rss([(f"n{n}", link) for n, link in enumerate([*links, dead])]),
               content_type="application/rss+xml", etag='"v1"')
    add_feed(site.url("/rss"), index=index)
    first = update_feeds(corpus, index, delay=0)
    assert len(first.added) == 2 and [link for link, _ in first.skipped] == [dead]
    assert "HTTP 404" in first.skipped[0][1] and first.index.added
    asked = len(site.requests)
    second = update_feeds(corpus, index, delay=0)
    assert (second.added, second.skipped, second.unchanged) == ([], [], [site.url("/rss")])
    assert [(path, status) for path, status, _ in site.requests[asked:] if path != "/robots.txt"] == [("/rss", 304)]
    assert site.requests[-1][2].get("If-None-Match") == '"v1"'
    newer = site.route("/feed-news/12", article_html(*story(12)))
    site.route("/rss", rss([("n12", newer), *[(f"n{n}", link) for n, link in enumerate(links)]]),
               content_type="application/rss+xml", etag='"v2"')
    third = update_feeds(corpus, index, delay=0)
    assert [p.name for p in third.added] == [p.name for p in third.added[:1]] and len(third.added) == 1
    assert list_feeds(index)[0].etag == '"v2"'
    result = CliRunner().invoke(main, ["feeds", "list", "--json", "--index", str(index)])
    assert '"items_seen": 3' in result.output


def test_feeds_update_exits_3_when_an_item_was_skipped(site: NewsSite, tmp_path: Path, library) -> None:
    _, index = library
    other = tmp_path / "index"
    site.route("/robots.txt", "User-agent: *\nDisallow: /private-news/\n", content_type="text/plain")
    kept_out = site.route("/private-news/1", article_html(*story(20)))
    site.route("/rss-dead", rss([("x", site.url("/feed-news/none")), ("y", kept_out)]),
               content_type="application/rss+xml")
    runner = CliRunner()
    assert runner.invoke(main, ["feeds", "add", site.url("/rss-dead"), "--index", str(other)]).exit_code == 0
    result = runner.invoke(main, ["feeds", "update", "--delay", "0", "--corpus", str(tmp_path / "c"), "--index",
                                  str(other)])
    assert result.exit_code == 3 and "HTTP 404" in result.output and "robots.txt of 127.0.0.1" in result.output
    assert "/private-news/1" not in [path for path, _, _ in site.requests]
    not_a_feed = runner.invoke(main, ["feeds", "add", site.route("/plain", login_html()), "--index", str(other)])
    assert not_a_feed.exit_code == 1 and not_a_feed.output.startswith("Error: ")
