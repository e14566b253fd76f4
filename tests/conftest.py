"""Shared fixtures: a copy of the first article as a corpus, its index, and a tiny transformer model.

Every test works in temporary folders; the repository's corpus/ and index/ are never touched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "corpus" / "000_kazakhstan_foreign_policy.md"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def article_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus folder holding only the first article."""
    folder = tmp_path_factory.mktemp("corpus")
    shutil.copy(ARTICLE, folder / ARTICLE.name)
    return folder


@pytest.fixture(scope="session")
def article_index(article_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first article indexed with the default (offline, here) model; tests must not modify it."""
    import rag

    index = tmp_path_factory.mktemp("index")
    rag.build_index(article_corpus, index)
    return index


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random BERT sentence-transformers model with prompts, built offline from the article."""
    from tests.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-bert"), [ARTICLE.read_text(encoding="utf-8")])
