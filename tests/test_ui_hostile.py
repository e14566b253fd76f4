"""The `ask` endpoint under odd questions, hostile articles and 16 clients at once."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser

import pytest
from gradio_client import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rag
from tests.conftest import ROOT
from tests.conftest import Server
from tests.helpers import HOSTILE, OWN_QUESTION
from ui import format

ALLOWED_TAGS = {"p", "b", "em", "strong", "blockquote", "mark", "details", "summary", "ol", "ul", "li", "a", "br",
                "code", "small", "span", "div", "table", "tr", "td", "th", "thead", "tbody"}
QUESTIONS = [json.loads(line)["question"]
             for line in (ROOT / "corpus" / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
HOSTILE_ARTICLE = f"""---
title: "{HOSTILE.replace('"', "'")}"
---
Хакеры написали статью о тюльпанах. {HOSTILE} Тюльпаны цветут в апреле в степях Казахстана.
"""


class Tags(HTMLParser):
    """Collects the tags and attributes a reply would render."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)
        self.links.extend(value or "" for name, value in attrs if name in ("href", "src"))


def assert_inert(reply: str) -> None:
    """Only the formatter's own tags, no event handlers, no scripts; links to the web or to the article view."""
    parser = Tags()
    parser.feed(reply)
    assert parser.tags <= ALLOWED_TAGS, parser.tags - ALLOWED_TAGS
    assert not {a for a in parser.attributes if a.startswith("on")}
    assert all(re.match(r"https?://|article\?source=[^\s\"'<>]+$", link) for link in parser.links)  # or the article view


@pytest.fixture(scope="module")
def server(word_server: Server) -> Server:
    """The chat server with a hostile article added to its index (word vectors: what is shown holds for any
    model)."""
    (word_server.corpus / "hostile.md").write_text(HOSTILE_ARTICLE, encoding="utf-8")
    rag.build_index(word_server.corpus, word_server.index)
    return word_server


def test_a_hostile_article_is_quoted_as_text(server: Server, client: Client) -> None:
    reply = client.predict("Когда цветут тюльпаны в степях?", api_name="/ask")
    assert "Тюльпаны цветут в апреле" in reply
    assert format.escape(HOSTILE) in reply
    assert_inert(reply)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=st.text(max_size=200) | st.sampled_from([HOSTILE, "", " ", "\x00", "😀" * 50, "# *a* `b`"]))
def test_any_question_gets_an_inert_reply(client: Client, question: str) -> None:
    reply = client.predict(question, api_name="/ask")
    assert isinstance(reply, str) and reply
    assert_inert(reply)


def test_a_20000_character_question_is_cut_with_a_notice(client: Client) -> None:
    reply = client.predict("Сколько стран в ООН? " * 1000, api_name="/ask")
    assert "слишком длинный" in reply
    assert_inert(reply)


@pytest.mark.parametrize("clients, each", [pytest.param(16, 10, marks=pytest.mark.slow, id="16-clients"),
                                           pytest.param(6, 3, id="6-clients")])
def test_clients_at_once_get_the_one_at_a_time_replies(server: Server, clients: int, each: int) -> None:
    """16 clients of 10 questions each in `make test-all`; 6 of 3 in `make test`."""
    asked = {n: [QUESTIONS[(n + i) % 20] for i in range(each)] for n in range(clients)}
    single = Client(server.url, verbose=False)
    expected = {q: single.predict(q, api_name="/ask") for q in {q for batch in asked.values() for q in batch}}

    def client_asks(n: int) -> list[tuple[str, str]]:
        client = Client(server.url, verbose=False)
        return [(q, client.predict(q, api_name="/ask")) for q in asked[n]]

    with ThreadPoolExecutor(max_workers=clients) as pool:
        replies = [pair for batch in pool.map(client_asks, range(clients)) for pair in batch]
    assert len(replies) == clients * each
    assert all(reply == expected[q] for q, reply in replies)


def test_a_request_body_over_the_limit_is_refused(server: Server, client: Client) -> None:
    import httpx

    from ui.limits import MAX_REQUEST_BYTES

    big = "б" * MAX_REQUEST_BYTES
    response = httpx.post(f"{server.url.rstrip('/')}/gradio_api/call/ask", json={"data": [big]}, timeout=30)
    assert response.status_code == 413
    assert "«Озёрстрой»" in client.predict(OWN_QUESTION, api_name="/ask")
