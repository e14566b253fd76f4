"""Shared fixtures: the tests' own first article as a corpus, the seed article and its index, a tiny transformer
model, and a news site.

The tests' own first article (tests/data, Russian news written for this repository) is what most tests need: *an*
article to add to, index, search and break. The seed article in ../shared/seeds (`$RAG_SHARED` names another shared
folder) is third-party text kept out of the repository; the tests about its content (and the chat, which answers
about it) use the `seed_*` fixtures and skip when it is absent. Every test works in temporary folders; the
repository's corpus/ and index/ are never touched.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from bench.news_site import NewsSite

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("RAG_SHARED") or ROOT.parent / "shared")
SEED = SHARED / "seeds" / "000_15e088e1b15391c7.txt"
"""The seed article in the shared folder (`bench.seed.PATH` beside a checkout; test_corpus checks they agree)."""
OWN_ARTICLE = ROOT / "tests" / "data" / "000_severozersk_wind_farm.md"
"""The tests' own first article: invented news with its title, date and publisher in front matter."""
ARTICLE = OWN_ARTICLE.name
"""The first article's name in a corpus: the source its passages give."""
SEED_ARTICLE = "000_kazakhstan_foreign_policy.md"
"""The seed article's name in a corpus (`bench.seed.NAME`, as `make run` names it; test_corpus checks they agree)."""


def copy_article(article: Path, folder: Path) -> Path:
    """Make `folder` a corpus holding a copy of the article file `article`; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(article, folder / article.name)
    return folder


@pytest.fixture(scope="session")
def article(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first article's file as a corpus holds it (front matter, then the text the offsets refer to)."""
    return copy_article(OWN_ARTICLE, tmp_path_factory.mktemp("article")) / ARTICLE


@pytest.fixture(scope="session")
def article_text(article: Path) -> str:
    """The first article's text, as passages' offsets refer to it."""
    return _text(article)


def _text(article: Path) -> str:
    from rag.corpus import parse_article

    return parse_article(article.name, article.read_text(encoding="utf-8")).text


@pytest.fixture(scope="session")
def article_corpus(article: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus folder holding only the first article; tests must not modify it."""
    return copy_article(article, tmp_path_factory.mktemp("corpus"))


@pytest.fixture
def corpus(article: Path, tmp_path: Path) -> Path:
    """A corpus folder of this test's own, starting with the first article."""
    return copy_article(article, tmp_path / "corpus")


@pytest.fixture(scope="session")
def seed_article(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed article's file as the corpus holds it: added by `rag.add_article` with its title and publisher as
    `make run` adds it (`bench.seed`). Skips the test when the seed is absent."""
    from bench import seed

    if (why := seed.missing(SEED)) is not None:
        pytest.skip(f"{why}; set RAG_SHARED to the shared folder")
    return seed.add_to(tmp_path_factory.mktemp("seed"), SEED)


@pytest.fixture(scope="session")
def seed_text(seed_article: Path) -> str:
    """The seed article's text, as passages' offsets refer to it."""
    return _text(seed_article)


@pytest.fixture
def seed_corpus(seed_article: Path, tmp_path: Path) -> Path:
    """A corpus folder of this test's own, starting with the seed article."""
    return copy_article(seed_article, tmp_path / "corpus")


@pytest.fixture(scope="session")
def lead(seed_text: str) -> str:
    """The seed article's first sentence."""
    return seed_text.split("\n")[0].split(". ")[0] + "."


@pytest.fixture(scope="session")
def seed_index(seed_article: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed article indexed with the default (offline, here) model; tests must not modify it."""
    import rag

    index = tmp_path_factory.mktemp("index")
    rag.build_index(copy_article(seed_article, tmp_path_factory.mktemp("corpus")), index)
    return index


def indexed_copy(article: Path, index: Path, folder: Path) -> tuple[Path, Path]:
    """A corpus holding a copy of the article file `article` and a copy of `index`, its index, in `folder`: a
    chat started over them finds its article indexed (same text) instead of embedding it again."""
    shutil.copytree(index, folder / "index")
    return copy_article(article, folder / "corpus"), folder / "index"


@dataclass
class Server:
    """A running chat app: its URL, folders and Blocks."""

    url: str
    corpus: Path
    index: Path
    app: object


@pytest.fixture(scope="module")
def server(seed_article: Path, seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The chat app over its own copy of the seed article and its index, on a free port (one per test module)."""
    corpus, index = indexed_copy(seed_article, seed_index, tmp_path_factory.mktemp("chat"))
    yield from serve(corpus, index)


@pytest.fixture(scope="module")
def word_server(article: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The chat app over its own copy of the first article indexed with navec's word vectors (built in a second),
    on a free port (one per test module): for the chat's tests that hold whatever the article and model."""
    import rag
    from rag.models import navec

    folder = tmp_path_factory.mktemp("chat")
    corpus, index = copy_article(article, folder / "corpus"), folder / "index"
    rag.build_index(corpus, index, model=navec.NAME)
    yield from serve(corpus, index)


def serve(corpus: Path, index: Path) -> Iterator[Server]:
    """Start the chat app over `corpus` and `index` on a free port, yield it, and close it."""
    from ui.app import start

    app, url = start(index, corpus, questions_per_minute=0)  # tests ask faster than people; the limit's own test
    yield Server(url, corpus, index, app)
    app.close()


@pytest.fixture(scope="module")
def page(server: Server):
    """The chat's page (over the module's `server`) in Chromium; alerts are recorded in `page.dialogs` (and
    dismissed), and `expect` waits as long as a reply may take."""
    from playwright.sync_api import expect, sync_playwright

    from tests.helpers import ARGS, CHROMIUM, TIMEOUT

    expect.set_options(timeout=TIMEOUT)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(locale="ru-RU", viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(TIMEOUT)
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(server.url)
        page.locator("#articles").get_by_text("Внешняя политика Казахстана").wait_for()
        yield page
        browser.close()


@pytest.fixture(scope="module")
def client(server: Server):
    """A gradio_client connected to the module's server."""
    from gradio_client import Client

    return Client(server.url, verbose=False)


@pytest.fixture(scope="module")
def site() -> Iterator[NewsSite]:
    """A news site of our own on 127.0.0.1 (`bench.news_site`), one per test module; fetching from it needs
    `RAG_FETCH_ALLOW_PRIVATE=1`."""
    from bench.news_site import NewsSite

    site = NewsSite.start()
    yield site
    site.stop()


TINY_CORPUS = ROOT / "tests" / "data" / "tiny_corpus.txt"
"""Russian text written for the tests (no article's), which the tiny model's tokenizer is trained on."""


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random BERT sentence-transformers model with prompts, built offline from `TINY_CORPUS`: it needs
    nothing from ../shared."""
    from tests.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-bert"), [TINY_CORPUS.read_text(encoding="utf-8")])


@pytest.fixture
def word_index(corpus: Path, tmp_path: Path) -> Path:
    """This test's corpus indexed with the word-vector model: built in a second, and `rag index` processes
    over it start in seconds."""
    import rag
    from rag.models import navec

    index = tmp_path / "index"
    rag.build_index(corpus, index, model=navec.NAME)
    return index


@pytest.fixture
def word_model(monkeypatch: pytest.MonkeyPatch) -> str:
    """Make navec's word vectors the default model of new indexes ($RAG_MODEL, which `rag` processes the test
    starts inherit): for tests about the index and the corpus, which hold for any model and build in a second
    what e5 builds in several."""
    from rag.models import navec

    monkeypatch.setenv("RAG_MODEL", navec.NAME)
    return navec.NAME


@pytest.fixture
def corpus_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the corpus files read (decoded) while the test runs, in order."""
    from rag import corpus as corpus_module

    read: list[int] = []
    decode = corpus_module.decode
    monkeypatch.setattr(corpus_module, "decode", lambda data: read.append(len(data)) or decode(data))
    return read
