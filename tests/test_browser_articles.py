"""The real page in headless Chromium: a source opens its article at the quote, filters, 👍/👎 with a comment,
replacing and removing an article from the panel, and the chat on a phone."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

import rag
from tests.conftest import ROOT, Server, indexed_copy
from tests.helpers import ARGS, CHROMIUM, HERALD, QUESTION, TIMEOUT, ask

ARTIFACTS = ROOT / "test-artifacts"
HERALD_TITLE = "Визы и дипломатия"
MUSEUM = "Какой музей открылся под Карагандой?"
MOVED = "В марте в степи под Карагандой открылся музей соли и горняцкого быта."

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}: run `make browser`")


@pytest.fixture(scope="module")
def news(seed_article: Path, seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The chat over the seed article (Zakon.kz, 2026) and a short one of another publisher (2025)."""
    from ui.app import start

    folder = tmp_path_factory.mktemp("news")
    corpus, index = indexed_copy(seed_article, seed_index, folder)
    (corpus / "herald.md").write_text(HERALD, encoding="utf-8")
    app, url = start(index, corpus)
    yield Server(url, corpus, index, app)
    app.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def open_chat(browser, server: Server, width: int = 1400, height: int = 1100):
    """A fresh tab on the chat, once its article list is shown."""
    page = browser.new_page(locale="ru-RU", viewport={"width": width, "height": height})
    page.set_default_timeout(TIMEOUT)
    page.goto(server.url)
    page.locator("#articles").get_by_text("Внешняя политика Казахстана").wait_for()
    return page


def last_reply(page):
    return page.locator("#chat .message-row.bot-row").last


def test_a_source_opens_the_whole_article_with_the_quote_marked_and_in_view(browser, news: Server) -> None:
    page = open_chat(browser, news)
    ask(page, QUESTION)
    quote = rag.answer(QUESTION, index=news.index).answer
    with page.expect_popup() as opened:
        last_reply(page).locator("a.article-link").first.click()
    article = opened.value
    article.wait_for_load_state()
    mark = article.locator("mark#quote")
    assert mark.inner_text() == quote
    expect(mark).to_be_in_viewport()
    assert article.locator("h1").inner_text().startswith("Внешняя политика Казахстана")
    assert len(article.locator(".text").inner_text()) > 5 * len(quote), "the whole article, not the passage"
    ARTIFACTS.mkdir(exist_ok=True)
    article.screenshot(path=str(ARTIFACTS / "article.png"))
    page.close()


def test_filters_restrict_the_sources_and_bad_dates_get_a_russian_line(browser, news: Server) -> None:
    page = open_chat(browser, news)
    page.get_by_text("Фильтры: даты и издание").click()
    page.locator("#publisher input").click()
    page.get_by_role("option", name="Степной вестник").click()
    ask(page, MUSEUM)
    assert last_reply(page).inner_text().startswith("Искали только в статьях издания «Степной вестник».")
    assert "музей угля" in last_reply(page).locator("blockquote.key-quote").inner_text()
    page.locator("#publisher input").click()
    page.get_by_role("option", name="Zakon.kz").click()
    ask(page, MUSEUM)
    links = last_reply(page).locator("a.article-link").evaluate_all("links => links.map(a => a.href)")
    assert links and all("source=000_kazakhstan_foreign_policy.md" in link for link in links)
    page.locator("#since input, #since textarea").first.fill("2025-13-01")
    ask(page, QUESTION)
    assert "«2025-13-01» — не дата: укажите её как ГГГГ-ММ-ДД" in last_reply(page).inner_text()
    page.close()


def test_a_disliked_answer_is_recorded_with_its_comment(browser, news: Server) -> None:
    page = open_chat(browser, news)
    ask(page, QUESTION)
    page.locator("#feedback-comment textarea").fill("цитата слишком длинная")
    page.locator("#chat").get_by_role("button", name="Не нравится").last.click()
    page.locator("#feedback-status").get_by_text("Спасибо, оценка записана").wait_for()
    expect(page.locator("#feedback-comment textarea")).to_have_value("")
    entry = json.loads((news.index / "feedback.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert (entry["question"], entry["liked"], entry["comment"]) == (QUESTION, False, "цитата слишком длинная")
    assert entry["answer"] == rag.answer(QUESTION, index=news.index).answer
    page.close()


def test_an_article_is_replaced_and_removed_from_the_panel_after_a_confirmation(browser, news: Server) -> None:
    page = open_chat(browser, news)
    page.get_by_text("Изменить или удалить статью").click()
    page.locator("#manage-source input").click()
    page.get_by_role("option", name=f"{HERALD_TITLE} — herald.md").click()
    page.locator("#replace-text textarea").fill(MOVED)
    page.locator("#replace").click()
    page.locator("#manage-status").get_by_text("Текст статьи herald.md заменён").wait_for()
    assert "соли" in (news.corpus / "herald.md").read_text(encoding="utf-8")
    ask(page, MUSEUM)
    assert "музей соли" in last_reply(page).inner_text()

    page.locator("#remove").click()
    expect(page.locator("#confirm-remove")).to_contain_text("Удалить herald.md из корпуса и индекса?")
    page.locator("#remove-no").click()
    expect(page.locator("#confirm-remove")).to_be_hidden()
    assert (news.corpus / "herald.md").exists()
    page.locator("#remove").click()
    page.locator("#remove-yes").click()
    page.locator("#manage-status").get_by_text("Статья herald.md удалена").wait_for()
    expect(page.locator("#articles")).not_to_contain_text(HERALD_TITLE)
    assert not (news.corpus / "herald.md").exists()
    assert [a.source for a in rag.list_articles(news.index)] == ["000_kazakhstan_foreign_policy.md"]
    page.close()


def test_on_a_phone_nothing_scrolls_sideways_sources_fold_and_the_interface_is_russian(browser, news: Server) -> None:
    page = open_chat(browser, news, 390, 844)
    ask(page, QUESTION)
    sources = last_reply(page).locator("details").last
    assert sources.get_attribute("open") is None, "the sources start folded"
    sources.locator("summary").click()
    expect(sources.locator("ol")).to_be_visible()
    for panel in ("Фильтры: даты и издание", "Добавить статью", "Изменить или удалить статью"):
        page.get_by_text(panel).click()
    page.wait_for_timeout(500)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shown = page.locator("body").inner_text()
    latin = set(re.findall(r"[A-Za-z]{2,}", shown))
    # Latin only in the names of sources and in file suffixes («Файл .txt, .md или сохранённая страница .html»)
    assert latin <= {"Zakon", "kz", "kazakhstan", "foreign", "policy", "md", "txt", "html"}, latin
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "phone.png"), full_page=True)
    page.close()


def test_link_field_fetches_the_page_and_a_refused_link_gets_a_russian_line(browser, news: Server,
                                                                             monkeypatch) -> None:
    from bench.news_site import NewsSite, article_html, story

    monkeypatch.setenv("RAG_FETCH_ALLOW_PRIVATE", "1")  # the page comes from a local site
    site = NewsSite.start()
    try:
        title, paragraphs = story(30)
        url = site.route("/news/30", article_html(title, paragraphs))
        page = open_chat(browser, news)
        page.get_by_text("Добавить статью", exact=True).click()
        page.locator("#new-url textarea, #new-url input").first.fill(url)
        page.locator("#add").click()
        page.locator("#add-status").get_by_text("Добавлена статья со страницы").wait_for()
        assert title in page.locator("#articles").inner_text()
        page.locator("#new-url textarea, #new-url input").first.fill("file:///etc/passwd")
        page.locator("#add").click()
        page.locator("#add-status").get_by_text("загрузить можно только ссылку http:// или https://").wait_for()
        page.close()
    finally:
        site.stop()
