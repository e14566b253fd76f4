"""Adding an article to the corpus folder (checked, safely named, written atomically) and listing the indexed ones.

    path = add_article("corpus", title="Новость", text="Текст статьи…")
    rag.build_index("corpus", "index")          # embeds only the new article
    [a.title for a in list_articles("index")]
"""

from __future__ import annotations

import datetime
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from rag.corpus import (
    ARTICLE_SUFFIXES,
    decode,
    future_date,
    load_corpus,
    parse_article,
    text_hash,
)
from rag.errors import RagError
from rag.index import store
from rag.index.manifest import Manifest
from rag.search.live import open_index

MAX_ADD_BYTES = 1024 * 1024
"""Largest article accepted by `add_article` (1 MiB): a news article is a few KiB."""

MAX_TITLE = 300
"""Titles are cut to this many characters."""

MAX_STEM = 60
"""File names are cut to this many characters before the suffix."""

_TRANSLIT = str.maketrans({
    **dict(zip("абвгдеёжзийклмнопрстуфхцчшщыэюяәғқңөұүһі",
               "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch y e yu ya a g q n o u u h i".split())),
    "ъ": "", "ь": "",
})
"""Russian and Kazakh letters to Latin, for file names (the hard and soft signs are dropped)."""
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class ArticleInfo:
    """An indexed article as the live index lists it: where it is, its title, date, publisher and passages."""

    source: str
    title: str
    date: str | None
    publisher: str | None
    url: str | None
    chunks: int


def slug(name: str) -> str:
    """A safe file stem for `name`: Latin letters, digits and '_' only (Cyrillic transliterated), never empty."""
    text = unicodedata.normalize("NFKC", name).lower()
    stem = _NOT_SLUG.sub("_", text.translate(_TRANSLIT)).strip("_")[:MAX_STEM].strip("_")
    return stem or "article"


def _suffix(filename: str | None) -> str:
    """The article suffix of an uploaded file's name ('.md' for pasted text); other suffixes are refused."""
    if filename is None:
        return ".md"
    suffix = Path(filename.replace("\\", "/")).suffix.lower()
    if suffix not in ARTICLE_SUFFIXES:
        allowed = ", ".join(ARTICLE_SUFFIXES)
        raise RagError(f"файл «{Path(filename).name}» не принят: можно загрузить только {allowed}")
    return suffix


def _raw_text(text: str | None, data: bytes | None) -> str:
    """The article's text from pasted `text` or uploaded `data`, checked for size and binary content."""
    if text is None and data is None:
        raise RagError("вставьте текст статьи или загрузите файл")
    if text is not None and data is not None:
        raise RagError("нужен либо текст статьи, либо файл, не оба сразу")
    size = len(data) if data is not None else len(text.encode("utf-8"))
    if size > MAX_ADD_BYTES:
        raise RagError(f"статья слишком большая ({size // 1024} КиБ; предел {MAX_ADD_BYTES // 1024} КиБ)")
    if data is None:
        if "\x00" in text:
            raise RagError("текст содержит нулевые байты: это не статья")
        return text
    try:
        return decode(data)[0]
    except ValueError as exc:
        raise RagError(f"файл не читается как текст: {exc}") from None


def _one_line(value: str | None, limit: int = MAX_TITLE) -> str | None:
    """`value` with whitespace runs (newlines included) made single spaces, cut to `limit`; None when blank."""
    cleaned = _SPACES.sub(" ", value or "").strip()[:limit].strip()
    return cleaned or None


def _checked_date(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        raise RagError(f"дата «{value}» не в формате ГГГГ-ММ-ДД") from None


def _checked_url(value: str | None) -> str | None:
    if value is not None and not re.match(r"https?://[^\s/]+", value, re.I):
        raise RagError(f"ссылка «{value}» должна начинаться с http:// или https://")
    return value


def _unique_link(tmp: Path, folder: Path, stem: str, suffix: str) -> Path:
    """Hard-link `tmp` as `folder/stem+suffix`, or `stem_2+suffix`, ...: never replaces an existing file."""
    for n in range(1, 10_000):
        target = folder / f"{stem}{'' if n == 1 else f'_{n}'}{suffix}"
        try:
            os.link(tmp, target)
            return target
        except FileExistsError:
            continue
    raise RagError(f"в {folder} слишком много файлов с именем {stem}{suffix}")


def add_article(
    corpus: str | Path,
    *,
    title: str,
    text: str | None = None,
    data: bytes | None = None,
    filename: str | None = None,
    date: str | None = None,
    source: str | None = None,
    url: str | None = None,
    index: str | Path | None = None,
) -> Path:
    """Save a pasted (`text`) or uploaded (`data`, `filename`) article into `corpus`; returns the new file.

    The article is checked as the indexer reads it (suffix, size, encoding, front matter, empty body,
    duplicate body); a rejected one raises RagError with the reason and writes nothing. Front matter of
    an uploaded file is kept, `title`/`date`/`source`/`url` given here take precedence. The file name is
    a slug of the upload's name (or the title), always directly inside `corpus`, never replacing a file.
    Index it with `rag.build_index(corpus, index)`; given that `index`, the duplicate check reads only the
    corpus files changed since it was built (an archive is not read whole for one article).
    """
    folder = Path(corpus)
    suffix = _suffix(filename)
    name = None if filename is None else Path(filename.replace("\\", "/")).name
    if name is None and not _one_line(title):
        raise RagError("укажите заголовок статьи")
    raw = _raw_text(text, data)
    try:
        parsed = parse_article(name or f"pasted{suffix}", raw)
    except ValueError as exc:
        raise RagError(f"статья не принята: {exc}") from None
    meta = {
        "title": _one_line(title) or _one_line(parsed.title),
        "date": _checked_date(_one_line(date)) or parsed.date,
        "source": _one_line(source) or parsed.publisher,
        "url": _checked_url(_one_line(url, 2000)) or parsed.url,
    }
    if future_date(meta["date"]):
        raise RagError(f"дата статьи «{meta['date']}» ещё не наступила: проверьте её")
    folder.mkdir(parents=True, exist_ok=True)
    digest = text_hash(parsed.text)
    manifest = _manifest(index)
    scan = load_corpus(folder, manifest.articles.stats() if manifest else {})  # indexed files known by their stat
    existing = next((source for source, seen in scan.seen.items() if seen.text_hash == digest), None)
    if existing is not None:
        raise RagError(f"такая статья уже есть в корпусе: {existing}")
    front = yaml.safe_dump({k: v for k, v in meta.items() if v}, allow_unicode=True, sort_keys=False, width=10_000)
    content = f"---\n{front}---\n{parsed.text}\n".encode("utf-8")
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        return _unique_link(tmp, folder, slug(Path(name).stem if name else meta["title"]), suffix)
    finally:
        tmp.unlink(missing_ok=True)


def _manifest(index: str | Path | None) -> Manifest | None:
    """The live manifest of `index`, or None when there is none to go by."""
    try:
        return None if index is None else store.read_manifest(index)[1]
    except RagError:
        return None


def list_articles(index: str | Path) -> list[ArticleInfo]:
    """The articles of the index version now answering questions, in corpus order (by file name)."""
    manifest = open_index(index).stored.manifest
    return sorted((ArticleInfo(source, a.title, a.date, a.publisher, a.url, a.passages)
                   for source, a in manifest.articles.items()), key=lambda a: a.source)
