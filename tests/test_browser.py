"""The real page in headless Chromium: asking, hostile input shown as text, adding an article and asking about it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

import rag
from tests.conftest import ROOT, Server
from tests.helpers import CHROMIUM, HOSTILE, NEW_BODY, NEW_QUESTION, QUESTION, TIMEOUT, ask

SCREENSHOT = ROOT / "test-artifacts" / "chat.png"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}: run `make browser`")
expect.set_options(timeout=TIMEOUT)


def test_example_question_is_answered_with_the_highlighted_quote(page, server: Server) -> None:
    page.locator("#examples").get_by_text(QUESTION[:30]).click()
    expect(page.locator("#question textarea")).to_have_value(QUESTION)
    ask(page, QUESTION)
    quote = rag.answer(QUESTION, index=server.index).answer
    reply = page.locator("#chat .message-row.bot-row").last
    first = reply.locator("blockquote").first  # the key quote comes first, whole, then where it is from
    assert "key-quote" in first.get_attribute("class") and first.inner_text() == quote
    assert reply.inner_text().index(quote) < reply.inner_text().index("Источник: «Внешняя политика Казахстана")
    assert "4 марта 2026" in reply.locator("p", has_text="Источник:").inner_text()
    passage = reply.locator("details.passage")  # the passage it comes from, folded, the quote marked in it
    assert passage.get_attribute("open") is None and passage.locator("mark").text_content() == quote
    assert reply.locator("details summary").last.inner_text() == "Источники (3)"
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_html_question_is_shown_as_text_and_never_run(page) -> None:
    ask(page, HOSTILE)
    assert HOSTILE in page.locator("#chat").inner_text()
    assert page.evaluate("window.__pwned") is None and page.dialogs == []
    assert page.locator("#chat img[src=x], #chat script").count() == 0


def test_article_added_through_the_page_is_answered(page) -> None:
    page.get_by_text("Добавить статью", exact=True).click()
    page.locator("#new-title textarea, #new-title input").first.fill("Столица <b>Кортании</b>")
    page.locator("#new-text textarea").fill(NEW_BODY)
    page.locator("#add").click()
    page.locator("#add-status").get_by_text("Добавлена статья").wait_for()
    assert "Столица <b>Кортании</b>" in page.locator("#articles").inner_text()
    ask(page, NEW_QUESTION)
    assert "Велград" in page.locator("#chat blockquote.key-quote").last.inner_text()


def test_number_of_passages_can_be_changed(page) -> None:
    page.locator("#k input[type=number]").fill("5")
    page.locator("#k input[type=number]").press("Enter")
    ask(page, QUESTION)
    assert page.locator("#chat details summary").last.inner_text() == "Источники (5)"


def test_clear_button_empties_the_chat(page) -> None:
    page.get_by_text("Очистить чат", exact=True).click()
    page.locator("#chat .message-row").first.wait_for(state="detached")


def test_on_a_phone_the_reply_starts_in_view_and_the_articles_are_a_tap_away(page, server: Server) -> None:
    phone = page.context.browser.new_page(locale="en-US", viewport={"width": 390, "height": 844})
    try:
        phone.goto(server.url)
        phone.locator("#articles").get_by_text("Внешняя политика Казахстана").wait_for()
        to_articles = phone.get_by_text("Статьи и добавление статьи ↓")
        assert to_articles.bounding_box()["y"] < 844  # on the first screen
        ask(phone, QUESTION)
        quote = phone.locator("#chat blockquote.key-quote").last
        box = quote.bounding_box()  # its first line is on top where it is, not under a label
        on_top = phone.evaluate("([x, y]) => document.elementFromPoint(x, y)?.closest('blockquote.key-quote') !== null",
                                [box["x"] + 20, box["y"] + 8])
        assert on_top and box["y"] >= phone.locator("#chat").bounding_box()["y"]
        phone.screenshot(path=str(SCREENSHOT.parent / "phone.png"))
        to_articles.click()
        phone.get_by_text("Добавить статью", exact=True).click()
        phone.locator("#add-article").get_by_text("Файл .txt, .md", exact=False).wait_for()
        phone.wait_for_timeout(500)
        text = phone.locator("body").inner_text()  # an English browser: Gradio's words in Russian too
        assert "Перетащите файл сюда" in text and "Drop File Here" not in text and "Click to Upload" not in text
        assert not any(0x1F300 <= ord(c) <= 0x1FAFF or c == "\u2705" for c in text)  # no emoji Debian draws as boxes
        expect(phone.locator("#articles")).to_be_in_viewport()
        phone.screenshot(path=str(SCREENSHOT.parent / "phone-articles.png"))
    finally:
        phone.close()
