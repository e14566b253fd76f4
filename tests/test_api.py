"""The plain JSON API beside the chat (`ui.api`, issue 21): `POST /api/ask` on the real Gradio server, called
over plain HTTP (httpx), compared with `rag ask --json`; every refusal a 4xx with a JSON error; the chat's
login and a per-address rate limit; the docs at /docs."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.settings import MAX_K, MAX_QUESTION
from tests.conftest import Server
from tests.helpers import OWN_QUESTION as QUESTION
from ui import api
from ui import app as ui_app
from ui.limits import ASK_LIMIT, MAX_REQUEST_BYTES

USER, PASSWORD = "editor", "Velgrad-1312-secret"


@pytest.fixture(scope="module")
def server(word_server: Server) -> Server:
    """What the API returns is what `rag ask --json` prints, whatever the article and model: the chat over the
    first article and word vectors, which needs nothing from ../shared."""
    return word_server


def ask(url: str, body: object = None, **kwargs) -> httpx.Response:
    """POST /api/ask with `body` as JSON (or `content`/`headers` as given)."""
    if body is not None:
        kwargs["json"] = body
    return httpx.post(f"{url}api/ask", timeout=60, **kwargs)


def rag_ask_json(index: Path, *args: str) -> dict:
    """What `rag ask --json` prints for the arguments, parsed."""
    result = CliRunner().invoke(cli, ["ask", "--json", "--index", str(index), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(response: httpx.Response, status: int) -> str:
    """The error of a refusal with `status`, which must be JSON `{"error": …}` and nothing else."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert list(response.json()) == ["error"]
    return response.json()["error"]


def test_a_question_gets_exactly_what_rag_ask_json_prints(server: Server) -> None:
    response = ask(server.url, {"question": QUESTION})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    reply = response.json()
    assert reply == rag_ask_json(server.index, QUESTION)
    assert list(reply) == ["question", "answer", "passages", "confidence"] and len(reply["passages"]) == ui_app.DEFAULT_K
    assert "«Озёрстрой»" in reply["answer"]


def test_k_history_and_filters_are_passed_on_as_rag_ask_takes_them(server: Server) -> None:
    earlier = "Кто построил ветропарк у озера Лунного?"
    reply = ask(server.url, {"question": "А с какого года?", "k": 2, "history": [earlier]}).json()
    assert reply == rag_ask_json(server.index, "А с какого года?", "-k", "2", "--after", earlier)
    assert len(reply["passages"]) == 2 and "understood" in reply
    filters = {"since": "2030-01-01", "until": "2030-12-31", "publisher": "северозёрская правда"}
    reply = ask(server.url, {"question": QUESTION, "filters": filters}).json()
    assert reply == rag_ask_json(server.index, QUESTION, "--since", "2030-01-01", "--until", "2030-12-31",
                                 "--publisher", "северозёрская правда")
    assert reply["answer"] is None and reply["passages"] == []  # no article of 2030


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(("request_", "status", "error"), [
    ({"content": b'{"question": "x"', "headers": JSON}, 400, "the body is not valid JSON"),
    ({"content": b"", "headers": JSON}, 422, "the body: Field required"),
    ({"json": ["x"]}, 422, "the body: Input should be a valid dictionary"),
    ({"json": {"k": 3}}, 422, "question: Field required"),
    ({"json": {"question": " \n\t"}}, 422, "question: Value error, the question is empty"),
    ({"json": {"question": 42}}, 422, "question: Input should be a valid string"),
    ({"json": {"question": "я" * (MAX_QUESTION + 1)}}, 422,
     f"question: String should have at most {MAX_QUESTION} characters"),
    ({"json": {"question": QUESTION, "k": 0}}, 422, "k: Input should be greater than or equal to 1"),
    ({"json": {"question": QUESTION, "k": MAX_K + 1}}, 422, f"k: Input should be less than or equal to {MAX_K}"),
    ({"json": {"question": QUESTION, "k": "3"}}, 422, "k: Input should be a valid integer"),
    ({"json": {"question": QUESTION, "k": True}}, 422, "k: Input should be a valid integer"),
    ({"json": {"question": QUESTION, "history": "Где?"}}, 422, "history: Input should be a valid list"),
    ({"json": {"question": QUESTION, "history": [1]}}, 422, "history.0: Input should be a valid string"),
    ({"json": {"question": QUESTION, "filters": {"since": "2024-13-01"}}}, 422, "is not a date: use YYYY-MM-DD"),
    ({"json": {"question": QUESTION, "filters": {"publisher": "Нет такого"}}}, 422,
     "no article of publisher 'Нет такого' in the index"),
    ({"json": {"question": QUESTION, "filters": {"source": "x"}}}, 422, "filters.source: Extra inputs are not"),
    ({"json": {"question": QUESTION, "top_k": 3}}, 422, "top_k: Extra inputs are not permitted"),
    ({"data": {"question": QUESTION}}, 415, "send the question as JSON (Content-Type: application/json)"),
    ({"content": iter([b'{"question": "x"}']), "headers": JSON}, 411, "send the body with a Content-Length"),
    ({"json": {"question": QUESTION, "history": ["я" * 900] * 40}}, 413, f"the body is over {api.MAX_BODY} bytes"),
    ({"content": b" " * (MAX_REQUEST_BYTES + 1), "headers": JSON}, 413,
     f"request body over {MAX_REQUEST_BYTES} bytes"),
], ids=["bad-json", "no-body", "not-an-object", "no-question", "blank-question", "question-not-text",
        "long-question", "k-0", "k-over", "k-text", "k-bool", "history-text", "history-numbers", "bad-date",
        "unknown-publisher", "unknown-filter", "unknown-field", "form", "chunked", "big-body", "huge-body"])
def test_a_bad_request_gets_a_4xx_with_a_json_error(server: Server, request_: dict, status: int, error: str) -> None:
    # one request each: this module's requests from 127.0.0.1 stay under ASK_LIMIT a minute
    assert error in refused(httpx.post(f"{server.url}api/ask", timeout=60, **request_), status)


def test_over_the_rate_limit_an_address_gets_429_and_others_are_still_answered(server: Server) -> None:
    """Through a local proxy (X-Forwarded-For from 127.0.0.1) each address has its own count; every request
    counts, refused or not, so the limit is reached with cheap ones."""
    proxied = {"x-forwarded-for": "203.0.113.7"}
    for _ in range(ASK_LIMIT):
        assert ask(server.url, {"k": 3}, headers=proxied).status_code == 422
    response = ask(server.url, {"question": QUESTION}, headers=proxied)
    assert f"too many requests from your address (at most {ASK_LIMIT} in 60 s)" in refused(response, 429)
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert ask(server.url, {"question": QUESTION}, headers={"x-forwarded-for": "203.0.113.8"}).status_code == 200
    assert ask(server.url, {"question": QUESTION}).status_code == 200


def test_the_docs_describe_the_json_api(server: Server) -> None:
    page = httpx.get(f"{server.url}docs", timeout=10)
    assert page.status_code == 200 and "swagger-ui" in page.text and "openapi.json" in page.text
    schema = httpx.get(f"{server.url}openapi.json", timeout=10).json()
    assert list(schema["paths"]) == [api.PATH]  # the API only, not Gradio's internals
    parts = schema["components"]["schemas"]
    assert set(parts["AskRequest"]["properties"]) == {"question", "k", "history", "filters"}
    assert parts["AskRequest"]["required"] == ["question"]
    reply = ask(server.url, {"question": QUESTION}).json()
    assert set(reply) <= set(parts["AskReply"]["properties"])
    assert set(reply["passages"][0]) == set(parts["Passage"]["properties"])
    operation = schema["paths"][api.PATH]["post"]["responses"]
    assert {"200", "400", "401", "413", "422", "429"} <= set(operation)


def test_behind_a_login_only_a_logged_in_client_is_answered(server: Server) -> None:
    app, url = ui_app.start(server.index, server.corpus, auth=[(USER, PASSWORD)])
    try:
        def basic(user: str, password: str) -> dict:
            return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

        for headers in ({}, basic(USER, "wrong"), basic("nobody", PASSWORD), {"authorization": "Basic !!"},
                        {"authorization": f"Bearer {PASSWORD}"}):
            response = ask(url, {"question": QUESTION}, headers=headers)
            assert "log in first" in refused(response, 401)
            assert response.headers["www-authenticate"].startswith("Basic")
        for path in ("docs", "openapi.json"):
            assert "log in first" in refused(httpx.get(f"{url}{path}", timeout=10), 401)
        expected = ask(server.url, {"question": QUESTION}).json()
        assert httpx.post(f"{url}api/ask", json={"question": QUESTION}, auth=(USER, PASSWORD),
                          timeout=60).json() == expected
        assert httpx.get(f"{url}docs", auth=(USER, PASSWORD), timeout=10).status_code == 200
        with httpx.Client(timeout=60) as browser:  # the chat's session cookie does as well
            assert browser.post(f"{url}login", data={"username": USER, "password": PASSWORD}).status_code == 200
            assert browser.post(f"{url}api/ask", json={"question": QUESTION}).json() == expected
    finally:
        app.close()
