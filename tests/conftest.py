"""Shared fixtures: a copy of the first article as a corpus, its index, and a tiny transformer model.

Every test works in temporary folders; the repository's corpus/ and index/ are never touched.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "corpus" / "000_kazakhstan_foreign_policy.md"
SHARED = ROOT.parent / "shared"


def copy_article(folder: Path) -> Path:
    """Make `folder` a corpus holding a copy of the first article; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ARTICLE, folder / ARTICLE.name)
    return folder


@pytest.fixture(scope="session")
def article_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus folder holding only the first article; tests must not modify it."""
    return copy_article(tmp_path_factory.mktemp("corpus"))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A corpus folder of this test's own, starting with the first article."""
    return copy_article(tmp_path / "corpus")


@pytest.fixture(scope="session")
def article_index(article_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first article indexed with the default (offline, here) model; tests must not modify it."""
    import rag

    index = tmp_path_factory.mktemp("index")
    rag.build_index(article_corpus, index)
    return index


@dataclass
class Server:
    """A running chat app: its URL, folders and Blocks."""

    url: str
    corpus: Path
    index: Path
    app: object


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The chat app over its own copy of the first article, on a free port (one per test module)."""
    from ui.app import start

    folder = tmp_path_factory.mktemp("chat")
    corpus, index = copy_article(folder / "corpus"), folder / "index"
    app, url = start(index, corpus)
    yield Server(url, corpus, index, app)
    app.close()


@pytest.fixture(scope="module")
def client(server: Server):
    """A gradio_client connected to the module's server."""
    from gradio_client import Client

    return Client(server.url, verbose=False)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random BERT sentence-transformers model with prompts, built offline from the article."""
    from tests.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-bert"), [ARTICLE.read_text(encoding="utf-8")])


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
def corpus_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the corpus files read (decoded) while the test runs, in order."""
    from rag import corpus as corpus_module

    read: list[int] = []
    decode = corpus_module.decode
    monkeypatch.setattr(corpus_module, "decode", lambda data: read.append(len(data)) or decode(data))
    return read
