"""Who may reach the chat and what they may do there (issue 10).

`rag serve` listens on loopback unless told otherwise, and beyond it only with a login (`--auth`,
`--auth-file`) or in `--read-only` mode. Adds are limited per client address, and an uploaded file is
deleted from Gradio's cache as soon as it is read. Real `rag serve` processes, real Gradio servers
(`ui.app.start`) on free ports, real clients.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

import rag
from rag.index import store
from tests.conftest import SEED_ARTICLE, Server, indexed_copy
from ui import app as ui_app
from ui import format, limits

RAG = [sys.executable, "-c", "from rag.cli import main; main()"]
USER, PASSWORD = "editor", "Velgrad-1312-secret"
QUESTION = "Со сколькими государствами у Казахстана дипломатические отношения?"


def rag_serve(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`rag serve` in a fresh process, offline, expected to stop by itself."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([*RAG, "serve", *args], capture_output=True, text=True, env=env, timeout=timeout,
                          check=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def expected_reply(index: Path) -> str:
    """What the chat answers to QUESTION: the library's answer, formatted."""
    return format.reply(rag.answer(QUESTION, k=ui_app.DEFAULT_K, index=index))


def corpus_state(server: Server) -> tuple[list[str], int | None]:
    return sorted(p.name for p in server.corpus.iterdir()), store.current_version(server.index)


def call(url: str, endpoint: str, *data: object) -> list:
    """Call a Gradio endpoint over plain HTTP (POST the inputs, read the result from the event stream)."""
    event = httpx.post(f"{url}gradio_api/call/{endpoint}", json={"data": list(data)}, timeout=30)
    event.raise_for_status()
    stream = httpx.get(f"{url}gradio_api/call/{endpoint}/{event.json()['event_id']}", timeout=60).text
    kind, payload = [line.split(": ", 1)[1] for line in stream.strip().splitlines()[-2:]]
    assert kind == "complete", stream
    return json.loads(payload)


@pytest.fixture
def writable_server(seed_article: Path, seed_index: Path, tmp_path: Path) -> Iterator[Server]:
    """A chat one can add articles to, with a fresh rate limit: a copy of the indexed first article."""
    corpus, index = indexed_copy(seed_article, seed_index, tmp_path)
    app, url = ui_app.start(index, corpus)
    yield Server(url, corpus, index, app)
    app.close()


# Beyond loopback: a login or read-only, or no server at all


@pytest.mark.parametrize("exposure", [["--host", "0.0.0.0"], ["--host", "::"], ["--host", "chat.example.org"],
                                      ["--share"]])
def test_serving_beyond_loopback_without_a_login_is_refused_in_one_line_before_anything_loads(
        exposure: list[str], tmp_path: Path) -> None:
    began = time.monotonic()
    result = rag_serve(*exposure, "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: ") and "so anyone could add articles" in result.stderr
    assert "add --auth USER:PASSWORD, --auth-file FILE or --read-only" in result.stderr
    assert time.monotonic() - began < 20  # no model, no index, no Gradio: the host is checked first
    assert not (tmp_path / "index").exists()


@pytest.mark.parametrize(("content", "message"), [
    (None, "Error: --auth-file {file}: No such file or directory"),
    ("\n# nobody yet\n", "Error: --auth-file {file} holds no USER:PASSWORD line"),
    (f"{USER}:{PASSWORD}\n{USER} {PASSWORD}\n", "Error: --auth-file {file} line 2 is not USER:PASSWORD"),
])
def test_a_missing_empty_or_malformed_auth_file_is_one_clear_error_that_shows_no_password(
        content: str | None, message: str, tmp_path: Path) -> None:
    logins = tmp_path / "logins.txt"
    if content is not None:
        logins.write_text(content, encoding="utf-8")
    result = rag_serve("--host", "0.0.0.0", "--auth-file", str(logins))
    assert result.returncode == 1
    assert result.stderr == message.format(file=logins) + "\n"
    assert PASSWORD not in result.stderr


def test_rag_serve_on_all_interfaces_with_an_auth_file_asks_every_client_to_log_in(
        seed_corpus: Path, seed_index: Path, tmp_path: Path) -> None:
    logins = tmp_path / "logins.txt"
    logins.write_text(f"# who may use the chat\n{USER}:{PASSWORD}\n", encoding="utf-8")
    port, log = free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}/"
    with log.open("w") as out:  # the port from $RAG_PORT, as `RAG_PORT=… make run` gives it
        process = subprocess.Popen(
            [*RAG, "serve", "--host", "0.0.0.0", "--auth-file", str(logins),
             "--corpus", str(seed_corpus), "--index", str(seed_index)],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1", "RAG_PORT": str(port)})
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "rag serve did not start"
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        refused = httpx.post(f"{url}gradio_api/call/ask", json={"data": [QUESTION]}, timeout=10)
        assert refused.status_code == 401
        reply = Client(url, auth=(USER, PASSWORD), verbose=False).predict(QUESTION, api_name="/ask")
        assert reply == expected_reply(seed_index)
    finally:
        process.terminate()
        process.wait(timeout=30)
    printed = log.read_text()
    assert PASSWORD not in printed
    assert printed.count(f"The chat is ready: open http://") == 1 and f":{port}/ in a browser" in printed
    assert "share=True" not in printed


def test_a_taken_port_is_one_line_saying_how_to_pick_another(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:  # another chat, say
        port = taken.getsockname()[1]
        result = rag_serve("--port", str(port), "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "i"))
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"Error: port {port} on 127.0.0.1 is taken")
    assert f"make run PORT={port + 1}" in result.stderr and not (tmp_path / "i").exists()


# Logins and read-only mode, on servers started by ui.app.start


def test_with_a_login_only_a_logged_in_client_gets_answers(seed_corpus: Path, seed_index: Path) -> None:
    app, url = ui_app.start(seed_index, seed_corpus, auth=[(USER, PASSWORD)])
    try:
        assert httpx.post(f"{url}gradio_api/call/ask", json={"data": [QUESTION]}, timeout=10).status_code == 401
        assert httpx.get(f"{url}config", timeout=10).status_code == 401
        with pytest.raises(Exception, match="credentials were not provided"):
            Client(url, verbose=False)
        with pytest.raises(ValueError, match="Could not login"):
            Client(url, auth=(USER, "wrong"), verbose=False)
        reply = Client(url, auth=(USER, PASSWORD), verbose=False).predict(QUESTION, api_name="/ask")
        assert reply == expected_reply(seed_index)
        article = f"{url}article?source={SEED_ARTICLE}"
        refused = httpx.get(article, timeout=10)
        assert refused.status_code == 401 and "Сначала войдите в чат" in refused.text
        with httpx.Client(timeout=10) as browser:
            assert browser.post(f"{url}login", data={"username": USER, "password": PASSWORD}).status_code == 200
            assert browser.get(article).status_code == 200
    finally:
        app.close()


def test_a_read_only_chat_answers_but_has_no_add_panel_and_no_add_endpoint(
        seed_corpus: Path, seed_index: Path) -> None:
    before = sorted(p.name for p in seed_corpus.iterdir())
    app, url = ui_app.start(seed_index, seed_corpus, read_only=True)
    try:
        client = Client(url, verbose=False)
        assert client.predict(QUESTION, api_name="/ask") == expected_reply(seed_index)
        with pytest.raises(ValueError, match="Cannot find a function with `api_name`: /add_article"):
            client.predict(None, "Столица Кортании", "Столица Кортании — Велград.", "", "", "",
                           api_name="/add_article")
        page = httpx.get(url, timeout=10).text + httpx.get(f"{url}config", timeout=10).text
        assert "Статьи в индексе" in page and "Только чтение" in page
        assert "add-article" not in page and "Добавить статью" not in page and "add_article" not in page
        assert "manage-article" not in page and "remove_article" not in page and "replace_article" not in page
        for endpoint in ("/remove_article", "/replace_article"):
            with pytest.raises(ValueError, match=f"Cannot find a function with `api_name`: {endpoint}"):
                client.predict(SEED_ARTICLE, api_name=endpoint)
    finally:
        app.close()
    assert sorted(p.name for p in seed_corpus.iterdir()) == before


# Adding articles: at most ADD_LIMIT a minute per client, and no upload left behind


def test_the_sixth_add_within_a_minute_is_refused_and_writes_nothing(writable_server: Server) -> None:
    server = writable_server
    client = Client(server.url, verbose=False)
    for n in range(ui_app.ADD_LIMIT):
        status = client.predict(None, f"Новость {n}", f"Город номер {n} получил новую библиотеку.", "", "", "",
                                api_name="/add_article")[0]
        assert "✓ Добавлена статья" in status
    before = corpus_state(server)
    assert len(before[0]) == 1 + ui_app.ADD_LIMIT
    status = client.predict(None, "Ещё одна", "Город номер шесть получил новый парк.", "", "", "",
                            api_name="/add_article")[0]
    assert status.startswith("<p>⚠️ Статья не добавлена: слишком много статей с вашего адреса")
    assert f"не больше {ui_app.ADD_LIMIT} за 60 с" in status and "Подождите" in status
    assert corpus_state(server) == before
    assert client.predict(QUESTION, api_name="/ask") == expected_reply(server.index)  # questions still answered


def test_an_uploaded_file_is_deleted_from_the_cache_once_read(writable_server: Server) -> None:
    server, name = writable_server, f"kortania-{time.time_ns()}.md"
    sent = httpx.post(f"{server.url}gradio_api/upload", timeout=30,
                      files={"files": (name, "# Кортания\n\nСтолица Кортании — город Велград.\n".encode())})
    uploaded = Path(sent.json()[0])
    assert uploaded.is_file() and uploaded.name == name
    status = call(server.url, "add_article", {"path": str(uploaded), "meta": {"_type": "gradio.FileData"}},
                  "", "", "", "", "")[0]
    assert "✓ Добавлена статья" in status
    assert not uploaded.exists()
    added = set(server.corpus.iterdir()) - {server.corpus / SEED_ARTICLE}
    assert len(added) == 1 and "Столица Кортании — город Велград." in added.pop().read_text(encoding="utf-8")


def test_only_files_inside_the_upload_cache_are_ever_deleted(tmp_path: Path) -> None:
    cache, outside = tmp_path / "gradio", tmp_path / "article.md"
    (cache / "0abc").mkdir(parents=True)
    inside = cache / "0abc" / "article.md"
    for file in (inside, outside):
        file.write_text("x", encoding="utf-8")
    limits.discard_upload(outside, cache)
    limits.discard_upload(cache / "0abc" / ".." / ".." / "article.md", cache)
    assert outside.exists()
    limits.discard_upload(inside, cache)
    assert not inside.exists()


def test_the_rate_limit_forgets_clients_after_a_window_and_never_remembers_too_many() -> None:
    now = [0.0]
    limit = limits.RateLimit(limit=2, window_s=60, max_keys=3, clock=lambda: now[0])
    assert limit.wait("10.0.0.1") == 0 and limit.wait("10.0.0.1") == 0
    now[0] = 15.0
    assert limit.wait("10.0.0.1") == 45.0  # the first of its two calls leaves the window in 45 s
    assert limit.wait("10.0.0.2") == 0  # every address has its own count
    now[0] = 61.0
    assert limit.wait("10.0.0.1") == 0  # a minute later it may add again
    assert len(limit) == 2
    now[0] = 200.0
    for n in range(10):
        assert limit.wait(f"10.1.0.{n}") == 0
    assert len(limit) == 3  # idle addresses were dropped, then the least recently seen ones


def test_replace_and_remove_count_against_the_same_limit_as_adds(writable_server: Server) -> None:
    server = writable_server
    client = Client(server.url, verbose=False)
    moved = "Порт Актау теперь принимает паромы из Баку каждый день, сообщили в администрации порта."
    assert "Текст не заменён: выберите статью в списке" in client.predict(None, None, "", api_name="/replace_article")[0]
    status, table = client.predict(SEED_ARTICLE, None, moved, api_name="/replace_article")[:2]
    assert f"✓ Текст статьи <code>{format.escape(SEED_ARTICLE)}</code> заменён" in status
    assert rag.article_text(SEED_ARTICLE, server.index).text == moved and "Внешняя политика" in table
    status, table = client.predict(SEED_ARTICLE, api_name="/remove_article")  # (the confirmation is not an output)
    assert "удалена; индекс обновлён" in status and "В индексе пока нет статей" in table
    assert not (server.corpus / SEED_ARTICLE).exists() and rag.list_articles(server.index) == []
    for _ in range(2):
        status = client.predict(SEED_ARTICLE, api_name="/remove_article")[0]
        assert format.escape(f"Статья не удалена: в индексе нет статьи «{SEED_ARTICLE}»") in status
    status = client.predict(SEED_ARTICLE, api_name="/remove_article")[0]
    assert status.startswith("<p>⚠️ Статья не удалена: слишком много статей с вашего адреса")


def test_refused_adds_do_not_count_toward_the_limit(writable_server: Server) -> None:
    client = Client(writable_server.url, verbose=False)
    body = "Столица Республики Кортания — город Велград, основанный в 1312 году на берегу реки Ольхи."
    for _ in range(limits.ADD_LIMIT + 1):  # no title: refused, nothing written
        assert "Статья не добавлена: укажите заголовок" in client.predict(None, "", body, "", "", "",
                                                                           api_name="/add_article")[0]
    status = client.predict(None, "Столица Кортании", body, "", "", "", api_name="/add_article")[0]
    assert "✓ Добавлена статья" in status
