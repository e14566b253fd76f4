"""The chat server: the real Gradio app on a free port, called with gradio_client; and its reply formatting."""

from __future__ import annotations

import html
import threading
import time
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client, handle_file

import rag
from rag.articles import ArticleInfo
from rag.index import store
from rag.search.answer import NO_ANSWER
from rag.search.retriever import Passage
from tests.conftest import Server, indexed_copy
from tests.helpers import HOSTILE, NEW_BODY, NEW_QUESTION, QUESTION
from ui import app as ui_app
from ui import article_page, format



def test_ask_endpoint_replies_with_the_highlighted_quote_and_its_source(server: Server, client: Client) -> None:
    reply = client.predict(QUESTION, api_name="/ask")
    expected = rag.answer(QUESTION, k=ui_app.DEFAULT_K, index=server.index)
    assert reply == format.reply(expected)
    assert "186 государствами" in expected.answer
    assert f"<mark>{format.escape(expected.answer)}</mark>" in reply
    assert reply.startswith(f"<blockquote class='key-quote'>{format.escape(expected.answer)}</blockquote>")  # first, whole
    assert "<b>Источник:</b> <a class=\"article-link\" href=\"article?source=000_kazakhstan_foreign_policy.md&amp;" \
        f"start={expected.quote_start}&amp;end={expected.quote_end}#quote\"" in reply
    assert "«Внешняя политика Казахстана" in reply and "4 марта 2026 · Zakon.kz" in reply
    assert "<details><summary>Источники (3)</summary>" in reply


def test_ask_says_plainly_when_the_articles_hold_no_answer(client: Client) -> None:
    reply = client.predict("Как приготовить бешбармак в домашних условиях?", api_name="/ask")
    assert reply.startswith(f"<p><em>{NO_ANSWER}</em></p>")
    assert "<blockquote>" not in reply and "<mark>" not in reply


def test_only_the_ask_endpoint_is_documented(client: Client) -> None:
    assert set(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == {"/ask"}


def test_an_address_over_its_question_limit_is_told_to_wait_and_others_are_still_answered(
        seed_article: Path, seed_index: Path, tmp_path: Path) -> None:
    """Through a local proxy (X-Forwarded-For from 127.0.0.1) each address has its own count of questions."""
    corpus, index = indexed_copy(seed_article, seed_index, tmp_path)
    app, url = ui_app.start(index, corpus, questions_per_minute=2)
    try:
        flooding = Client(url, verbose=False, headers={"x-forwarded-for": "203.0.113.7"})
        answered = [flooding.predict(QUESTION, api_name="/ask") for _ in range(2)]
        refused = flooding.predict(QUESTION, api_name="/ask")
        other = Client(url, verbose=False, headers={"x-forwarded-for": "203.0.113.8"}).predict(QUESTION, api_name="/ask")
    finally:
        app.close()
    assert all("186 государствами" in reply for reply in answered) and other == answered[0]
    assert "Слишком много вопросов с вашего адреса: не больше 2 в минуту. Спросите снова через" in refused
    assert "186 государствами" not in refused


def test_a_chat_over_no_article_says_so_and_answers_from_the_first_one_added(tmp_path: Path) -> None:
    """`make run` without ../shared opens the chat over an empty corpus: a question gets a Russian line saying
    what to do, and the article added in the chat answers the next one."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / ".gitkeep").touch()
    app, url = ui_app.start(tmp_path / "index", corpus)
    try:
        client = Client(url, verbose=False)
        assert client.predict(NEW_QUESTION, api_name="/ask") == \
            "<p>⚠️ В индексе пока нет статей: спрашивать не о чем. Добавьте статью справа, в «Добавить статью».</p>"
        status = client.predict(None, "Столица Кортании", NEW_BODY, "", "", "", api_name="/add_article")[0]
        assert f"✓ Добавлена статья <code>{format.escape('stolitsa_kortanii.md')}</code>" in status
        assert "<mark>Столица Республики Кортания — город Велград." in client.predict(NEW_QUESTION, api_name="/ask")
    finally:
        app.close()


@pytest.mark.parametrize("read_only", [False, True], ids=["can-add", "read-only"])
def test_a_chat_that_can_add_loads_the_passage_encoder_at_start(seed_article: Path, seed_index: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch, read_only: bool) -> None:
    """So that its first add does not wait seconds for torch; a read-only chat never encodes a passage."""
    from rag.models.base import SentenceTransformerEmbedder

    loaded, load = threading.Event(), SentenceTransformerEmbedder.load
    monkeypatch.setattr(SentenceTransformerEmbedder, "load", lambda model: (load(model), loaded.set())[0])
    app, _ = ui_app.start(*reversed(indexed_copy(seed_article, seed_index, tmp_path)), read_only=read_only)
    try:
        assert loaded.wait(0.5 if read_only else 30) is not read_only
    finally:
        app.close()


def test_bad_upload_gets_a_message_and_changes_nothing(server: Server, client: Client, tmp_path: Path) -> None:
    before = (sorted(p.name for p in server.corpus.iterdir()), store.current_version(server.index))
    empty = tmp_path / "empty.md"
    empty.write_text("   \n", encoding="utf-8")
    status = client.predict(handle_file(empty), "", "", "", "", "", api_name="/add_article")[0]
    assert "Статья не добавлена" in status and "empty article" in status
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    with pytest.raises(Exception, match="Invalid file type"):
        client.predict(handle_file(pdf), "", "", "", "", "", api_name="/add_article")
    status = client.predict(None, "", NEW_BODY, "", "", "", api_name="/add_article")[0]
    assert "укажите заголовок" in status
    assert (sorted(p.name for p in server.corpus.iterdir()), store.current_version(server.index)) == before


def test_article_added_while_serving_is_answered_after_the_swap(server: Server, client: Client) -> None:
    with store.writing(server.index):  # the update has to wait: questions meanwhile use the previous index
        job = client.submit(None, "Столица Кортании", NEW_BODY, "2026-05-01", "Вестник", "", api_name="/add_article")
        deadline = time.monotonic() + 30
        while not (server.corpus / "stolitsa_kortanii.md").exists():
            assert time.monotonic() < deadline, "the article was not saved"
            time.sleep(0.05)
        assert client.predict(NEW_QUESTION, api_name="/ask").startswith(f"<p><em>{NO_ANSWER}")
        assert "186 государствами" in client.predict(QUESTION, api_name="/ask")
    status, table = job.result(timeout=60)[:2]
    assert "Добавлена статья <code>stolitsa&#95;kortanii.md</code>" in status
    assert "Столица Кортании" in table and "1 мая 2026" in table
    reply = client.predict(NEW_QUESTION, api_name="/ask")
    assert "<mark>" in reply and "Велград" in reply and "Вестник" in reply


def test_an_article_saved_while_another_update_hangs_is_kept_and_the_chat_says_so(
        server: Server, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_LOCK_TIMEOUT", "1")
    with store.writing(server.index):
        status = client.predict(None, "Порт Кортании", "В порту Велграда построят новый причал для паромов.", "", "",
                                "", api_name="/add_article")[0]
    assert "Статья сохранена как port&#95;kortanii.md, но индекс не обновлён: индекс сейчас обновляет другой процесс" in status
    assert (server.corpus / "port_kortanii.md").exists()
    ui_app.reconcile(server.index, server.corpus)  # what the next start of `rag serve` does
    assert "port_kortanii.md" in store.read_manifest(server.index)[1].articles


def test_errors_reach_the_chat_as_one_russian_line(client: Client) -> None:
    assert client.predict(QUESTION, 500, api_name="/ask") == "<p>⚠️ число отрывков должно быть от 1 до 50, а не 500</p>"


def test_serve_listens_on_loopback_without_a_share_link(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    launched: dict = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kwargs: (launched.update(kwargs), "http://x/", None))
    monkeypatch.setattr(gr.Blocks, "block_thread", lambda self: None)
    ui_app.serve(index=server.index, corpus=server.corpus)
    assert (launched["server_name"], launched["server_port"], launched["share"]) == ("127.0.0.1", 7860, False)
    assert launched["max_file_size"] == 1024 * 1024
    assert launched["quiet"]  # Gradio's lines (and its «set share=True» hint) left out: serve prints its own


def test_questions_and_article_text_are_shown_as_text_never_as_markup() -> None:
    shown = format.question(HOSTILE + "\n\n# не заголовок\n1. не список")
    for markup in ("<script", "<img", "**", "[ссылка]", "$$", "\n"):
        assert markup not in shown
    assert shown.startswith("<p>&lt;script&gt;window.&#95;&#95;pwned=1&lt;/script&gt;&lt;img src=x")
    text = f"До. {HOSTILE}\n\nПосле."
    passage = Passage(f"<b>{HOSTILE}</b>", "x/<i>.md", text, 10, 10 + len(text), 0.5, "<i>2026</i>", "<u>Изд</u>",
                      "javascript:alert(1)")
    reply = format.reply(rag.Answer("q", HOSTILE, [passage], 14, 14 + len(HOSTILE)))
    assert "<script" not in reply and "<img" not in reply and 'href="javascript' not in reply
    assert 'href="article?source=x%2F%3Ci%3E.md&amp;start=14&amp;end=' in reply  # the article view's address, encoded
    assert f"<mark>{format.escape(HOSTILE)}</mark>" in reply
    table = format.articles_table([ArticleInfo("a.md", HOSTILE, None, None, "https://e.org/?a=1&b=\"2\"", 1)])
    assert "<script" not in table and 'href="https://e.org/?a=1&amp;b=&quot;2&quot;"' in table


def test_the_article_view_shows_an_indexed_article_whole_with_the_quote_marked(server: Server) -> None:
    import httpx

    expected = rag.answer(QUESTION, index=server.index)
    source = expected.passages[0].source
    shown = httpx.get(f"{server.url}article", params={"source": source, "start": expected.quote_start,
                                                      "end": expected.quote_end}, timeout=10)
    assert shown.status_code == 200 and shown.headers["content-security-policy"].startswith("default-src 'none'")
    assert f"<mark id='quote'>{html.escape(expected.answer)}</mark>" in shown.text
    assert html.escape(rag.article_text(source, server.index).text[:200]) in shown.text
    for params, status, says in [
        ({"source": "../../../etc/passwd"}, 404, "в индексе нет статьи «../../../etc/passwd»"),
        ({"source": "/etc/passwd"}, 404, "в индексе нет статьи"),
        ({"source": ""}, 400, "Не указано, какую статью показать"),
        ({"source": source, "start": "-1", "end": "5"}, 400, "целыми числами"),
        ({"source": source, "start": "10", "end": "5"}, 400, "Цитата должна лежать внутри статьи"),
        ({"source": source, "start": "0", "end": "99999999"}, 400, "Цитата должна лежать внутри статьи"),
        ({"source": source, "start": "0"}, 400, "Цитата должна лежать внутри статьи"),
    ]:
        refused = httpx.get(f"{server.url}article", params=params, timeout=10)
        assert (refused.status_code, says in refused.text) == (status, True), params


def test_the_article_view_shows_hostile_article_text_as_text() -> None:
    article = rag.ArticleText("x/<i>.md", HOSTILE, "<b>2026</b>", "<u>Изд</u>", "javascript:alert(1)",
                              f"До. {HOSTILE} После.", False)
    shown = article_page.page(article, 4, 4 + len(HOSTILE))
    assert "<script" not in shown and "<img" not in shown and "href='javascript" not in shown
    assert f"<mark id='quote'>{html.escape(HOSTILE)}</mark>" in shown
    assert "Файл статьи изменился после индексации" in shown
