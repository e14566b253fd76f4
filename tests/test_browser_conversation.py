"""A conversation in the real page (headless Chromium): follow-ups understood from the question before,
a summary for «О чём статья?», and honest input: an empty message gets a hint, a long one is counted
before it is sent and the answer says where the search stopped."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rag.search.answer import clean_question
from rag.settings import MAX_QUESTION
from tests.conftest import ROOT
from tests.helpers import CHROMIUM, ask
from ui.format import ECHO_CHARS

ARTIFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}: run `make browser`")


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def last_reply(page) -> str:
    return page.locator("#chat .message-row.bot-row").last.inner_text()


def test_a_follow_up_is_understood_from_the_question_before(page) -> None:
    ask(page, "Кто заявил о приоритетах внешней политики?")
    ask(page, "А когда это было?")
    reply = last_reply(page)
    assert "Понял вопрос как: «Когда заявил о приоритетах внешней политики?»." in reply
    assert "в конце декабря 2025 года" in page.locator("#chat blockquote.key-quote").last.inner_text()
    screenshot(page, "follow-up.png")


def test_clearing_the_chat_forgets_the_questions_before(page) -> None:
    page.get_by_text("Очистить чат", exact=True).click()
    page.locator("#chat .message-row").first.wait_for(state="detached")
    ask(page, "А когда это было?")
    assert "Понял вопрос как" not in last_reply(page)


def test_what_the_article_is_about_gets_its_summary(page, lead: str) -> None:
    ask(page, "О чём эта статья?")
    summary = page.locator("#chat ol.summary").last
    assert "Кратко о статье «Внешняя политика Казахстана" in last_reply(page)
    assert 3 <= summary.locator("blockquote").count() <= 5
    assert summary.locator("blockquote").first.inner_text() == lead
    assert "символы 0–" in summary.inner_text()
    screenshot(page, "summary.png")


def test_an_empty_message_gets_a_hint_and_changes_nothing(page) -> None:
    messages = page.locator("#chat .message-row").count()
    page.locator("#question textarea").fill("   ")
    page.locator("#question textarea").press("Enter")
    expect(page.locator("#question-count")).to_have_text("⚠️ Напишите вопрос: пустое сообщение не отправляется.")
    assert page.locator("#chat .message-row").count() == messages


def test_a_long_question_is_counted_before_sending_and_the_answer_says_where_it_was_cut(page) -> None:
    box = page.locator("#question textarea")
    assert f"до {MAX_QUESTION} символов" in box.get_attribute("placeholder")
    question = "Сколько составили глобальные военные расходы в прошлом году? " * 50  # 3,050 characters
    box.fill(question)
    searched = len(clean_question(question)[0])  # cut at a word's end: the counter and the answer say the same
    expect(page.locator("#question-count")).to_contain_text(f"{len(question)} / {MAX_QUESTION} символов: искать "
                                                            f"будем по первым {searched},")
    box.press("Enter")
    page.locator("#chat .message-row.bot-row").last.get_by_text("Вопрос слишком длинный").wait_for()
    reply = last_reply(page)
    assert (f"Вопрос слишком длинный ({len(question.strip())} символов, можно до {MAX_QUESTION}): искали по первым "
            f"{searched}," in reply)
    echo = page.locator("#chat .message-row.user-row").last
    assert f"(показано {ECHO_CHARS} из {len(question)} символов)" in echo.inner_text()
    assert echo.bounding_box()["height"] < 250  # not a page-long bubble
    assert "2,7 трлн долларов" in page.locator("#chat blockquote.key-quote").last.inner_text()
    expect(page.locator("#question-count")).to_have_text(f"0 / {MAX_QUESTION} символов")
    screenshot(page, "long-question.png")


def test_the_ask_api_takes_the_earlier_questions(client) -> None:
    before = ["Где ООН разрешила Казахстану разместить контингент под своим флагом?"]
    reply = client.predict("А когда?", 3, history=before, api_name="/ask")
    assert "Понял вопрос как: «Когда ООН разрешила Казахстану разместить контингент под своим флагом?»." in reply
    assert "<mark>А в 2024 году" in reply
    assert "Понял вопрос как" not in client.predict("А когда?", api_name="/ask")  # no history: nothing to complete


@pytest.mark.slow
def test_a_question_over_the_address_s_limit_stays_in_the_box_with_a_notice(seed_article, seed_index, tmp_path) -> None:
    """A chat allowing one question a minute: the second is not asked, the box keeps it, the notice says why."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import indexed_copy
    from tests.helpers import ARGS, QUESTION, TIMEOUT
    from ui.app import start

    app, url = start(*reversed(indexed_copy(seed_article, seed_index, tmp_path)), questions_per_minute=1)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(locale="ru-RU")
            page.set_default_timeout(TIMEOUT)
            page.goto(url)
            ask(page, QUESTION)
            page.locator("#question textarea").fill("А когда?")
            page.locator("#question textarea").press("Enter")
            expect(page.locator("#question-count")).to_contain_text(
                "Слишком много вопросов с вашего адреса: не больше 1 в минуту. Спросите снова через", timeout=TIMEOUT)
            assert page.locator("#question textarea").input_value() == "А когда?"
            assert page.locator("#chat .message-row.bot-row").count() == 1
            browser.close()
    finally:
        app.close()
