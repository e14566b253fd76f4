"""The seed article: the first article of the corpus, a Zakon.kz review that lives in ../shared/seeds (third-party
text, never copied into the project). The article question sets (corpus/eval/) are about it.

`make run` adds it to an empty corpus with `rag add` and the title, name and publisher below; the benchmarks,
tuning and tests add it the same way (`rag.save_article`) to a corpus of their own, and skip it when absent.
"""

from __future__ import annotations

from pathlib import Path

PATH = Path("../shared/seeds/000_15e088e1b15391c7.txt")
"""Where it lies beside a checkout (the Makefile's SEED)."""
NAME = "000_kazakhstan_foreign_policy.md"
"""Its file name in a corpus (the source passages and `rag status` name)."""
TITLE = "Внешняя политика Казахстана: прагматизм, многовекторность и нейтралитет"
PUBLISHER = "Zakon.kz"


def missing(seed: Path) -> str | None:
    """Why the seed article cannot be read at `seed` (a sentence), or None when it can."""
    return None if seed.is_file() else f"no seed article at {seed}"


def add_to(corpus: Path, seed: Path = PATH) -> Path:
    """Add the seed article at `seed` to the corpus folder `corpus` (created) as `make run` does: its title and
    publisher given, its date its own; returns its file there."""
    from rag.articles import save_article

    return save_article(corpus, title=TITLE, publisher=PUBLISHER, data=seed.read_bytes(), filename=NAME)
