"""The corpus's articles one at a time: adding one (checked, safely named, written atomically), replacing or
removing an indexed one. One rule: `add_article`, `replace_article` and `remove_article` update the index
incrementally (only that article's passages are embedded or deleted); `save_article` and `rewrite_article`
only write the corpus file, for callers that index several articles at once. Listing the articles and reading
one whole are `rag.index.listing`'s, here too for callers of this module.

    path = add_article("corpus", title="Новость", text="Текст статьи…", index="index").path   # and indexed
    replace_article("corpus", path.name, index="index", text="Новый текст…")
    article_text(path.name, "index").text       # what the passages' offsets point into
    remove_article("corpus", path.name, index="index")
    [a.title for a in list_articles("index")]
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

import yaml

from rag import dates
from rag.corpus import (
    ARTICLE_SUFFIXES,
    decode,
    future_date,
    load_corpus,
    parse_article,
    source_name,
    text_hash,
)
from rag.errors import RagError
from rag.index import store
from rag.index.listing import (  # noqa: F401  (listing and reading are offered here too)
    ArticleInfo,
    ArticleText,
    article_text,
    corpus_file,
    indexed,
    list_articles,
)
from rag.index.manifest import Manifest
from rag.index.update import BuildReport, build_index

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
        shown = Path(filename).name
        raise RagError(f"{shown!r} is not accepted: only {allowed} files can be added",
                       russian=f"файл «{shown}» не принят: можно загрузить только {allowed}")
    return suffix


def _raw_text(text: str | None, data: bytes | None) -> str:
    """The article's text from pasted `text` or uploaded `data`, checked for size and binary content."""
    if text is None and data is None:
        raise RagError("no article given: pass its text or a file", russian="вставьте текст статьи или загрузите файл")
    if text is not None and data is not None:
        raise RagError("both a text and a file given: pass one of them",
                       russian="нужен либо текст статьи, либо файл, не оба сразу")
    size = len(data) if data is not None else len(text.encode("utf-8"))
    if size > MAX_ADD_BYTES:
        raise RagError(f"the article is too large ({size // 1024} KiB; the limit is {MAX_ADD_BYTES // 1024} KiB)",
                       russian=f"статья слишком большая ({size // 1024} КиБ; предел {MAX_ADD_BYTES // 1024} КиБ)")
    if data is None:
        if "\x00" in text:
            raise RagError("the text contains NUL bytes: it is not an article",
                           russian="текст содержит нулевые байты: это не статья")
        return text
    try:
        return decode(data)[0]
    except ValueError as exc:
        raise RagError(f"the file cannot be read as text: {exc}",
                       russian=f"файл не читается как текст: {exc}") from None


def _one_line(value: str | None, limit: int = MAX_TITLE) -> str | None:
    """`value` with whitespace runs (newlines included) made single spaces, cut to `limit`; None when blank."""
    cleaned = _SPACES.sub(" ", value or "").strip()[:limit].strip()
    return cleaned or None


def _checked_date(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return dates.parse(value).isoformat()
    except ValueError:
        raise RagError(f"date {value!r} is not YYYY-MM-DD", russian=f"дата «{value}» не в формате ГГГГ-ММ-ДД") from None


def _checked_url(value: str | None) -> str | None:
    if value is not None and not re.match(r"https?://[^\s/]+", value, re.I):
        raise RagError(f"link {value!r} must start with http:// or https://",
                       russian=f"ссылка «{value}» должна начинаться с http:// или https://")
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
    raise RagError(f"{folder} holds too many files named {stem}{suffix}",
                   russian=f"в {folder} слишком много файлов с именем {stem}{suffix}")


def _prepared(corpus: Path, raw: str, name: str, meta: dict, manifest: Manifest | None,
              replacing: str | None = None, kept: dict | None = None, fetched_at: str | None = None
              ) -> tuple[dict, bytes]:
    """The article file for `raw` text (read as a file called `name`; "" names no title): its metadata, `meta`
    given here taking precedence over its front matter, and that over what it `kept` from the text it
    replaces; `fetched_at` (when a page was fetched from the web) added to its front matter; and its bytes.
    RagError when it would not be indexed, or when the corpus already holds its text (in another file than
    the one it is `replacing`)."""
    try:
        parsed = parse_article(name, raw)
    except ValueError as exc:
        raise RagError(f"the article is not accepted: {exc}", russian=f"статья не принята: {exc}") from None
    found = {"title": _one_line(parsed.title), "date": parsed.date, "publisher": parsed.publisher, "url": parsed.url}
    meta = {key: meta.get(key) or found[key] or (kept or {}).get(key) for key in found}
    if future_date(meta["date"]):
        raise RagError(f"the article's date {meta['date']} is in the future: check it",
                       russian=f"дата статьи «{meta['date']}» ещё не наступила: проверьте её")
    corpus.mkdir(parents=True, exist_ok=True)
    digest = text_hash(parsed.text)
    scan = load_corpus(corpus, manifest.articles.stats() if manifest else {})  # indexed files known by their stat
    existing = next((source for source, seen in scan.seen.items() if seen.text_hash == digest), None)
    if existing is not None and existing == replacing:
        raise RagError(f"the new text of {existing} is the same as the old: nothing to replace",
                       russian=f"новый текст статьи {existing} совпадает с прежним: заменять нечего")
    if existing is not None:
        raise RagError(f"the corpus already holds this article: {existing}",
                       russian=f"такая статья уже есть в корпусе: {existing}")
    fields = {k: v for k, v in meta.items() if v} | ({"fetched_at": fetched_at} if fetched_at else {})
    front = yaml.safe_dump(fields, allow_unicode=True, sort_keys=False, width=10_000)
    return meta, f"---\n{front}---\n{parsed.text}\n".encode("utf-8")


def _written(folder: Path, suffix: str, content: bytes, place) -> Path:
    """Write `content` to a temporary file in `folder`, flushed, then `place(tmp)` puts it where it belongs."""
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        return place(tmp)
    finally:
        tmp.unlink(missing_ok=True)


def _given(title: str | None, date: str | None, publisher: str | None, url: str | None) -> dict:
    """Metadata typed in (checked and made single lines); missing ones None."""
    return {"title": _one_line(title), "date": _checked_date(_one_line(date)), "publisher": _one_line(publisher),
            "url": _checked_url(_one_line(url, 2000))}


def _publisher(publisher: str | None, source: str | None) -> str | None:
    """The publisher given as `publisher=`, or as `source=`: its old name, accepted with a warning until 0.2 (a
    source names an article's file everywhere else)."""
    if source is not None:
        warnings.warn("add_article(source=...) is deprecated and goes in 0.2: give the publisher as publisher=...",
                      DeprecationWarning, stacklevel=3)
    return publisher if publisher is not None else source


@dataclass(frozen=True)
class Added:
    """An article saved into the corpus: its file, whether it replaced the one at the same link (an article from
    the web, `rag.add_url`), and the index update (None when the caller indexes later)."""

    path: Path
    replaced: bool = False
    report: BuildReport | None = None


def save_article(
    corpus: str | Path,
    *,
    title: str,
    text: str | None = None,
    data: bytes | None = None,
    filename: str | None = None,
    date: str | None = None,
    publisher: str | None = None,
    url: str | None = None,
    index: str | Path | None = None,
    fetched_at: str | None = None,
    source: str | None = None,
) -> Path:
    """Save a pasted (`text`) or uploaded (`data`, `filename`) article into `corpus`, not indexed yet (see
    `add_article`); returns the new file.

    The article is checked as the indexer reads it (suffix, size, encoding, front matter, empty body,
    duplicate body); a rejected one raises RagError with the reason and writes nothing. Front matter of
    an uploaded file is kept, `title`/`date`/`publisher`/`url` given here take precedence (`fetched_at`: when
    a web page was fetched, see `rag.add_url`; `source`: the publisher's old name, deprecated). The file name
    is a slug of the upload's name (or the title), always directly inside `corpus`, never replacing a file.
    Given the `index`, the duplicate check reads only the corpus files changed since it was built (an
    archive is not read whole for one article).
    """
    folder = Path(corpus)
    suffix = _suffix(filename)
    name = None if filename is None else Path(filename.replace("\\", "/")).name
    if name is None and not _one_line(title):
        raise RagError("the article needs a title", russian="укажите заголовок статьи")
    raw = _raw_text(text, data)
    given = _given(title, date, _publisher(publisher, source), url)
    meta, content = _prepared(folder, raw, name or f"pasted{suffix}", given, _manifest(index), fetched_at=fetched_at)
    stem = slug(Path(name).stem if name else meta["title"])
    return _written(folder, suffix, content, lambda tmp: _unique_link(tmp, folder, stem, suffix))


def add_article(corpus: str | Path, *, title: str, index: str | Path | None = None, **article) -> Added | Path:
    """Save an article into `corpus` as `save_article` does (same arguments, checks and naming) and index it
    alone, as `replace_article` and `remove_article` update the index; returns its file and the index update.

    Without `index` it only saves and returns the file's path, as it did until 0.2 (deprecated: call
    `save_article`)."""
    if index is None:
        warnings.warn("add_article without index= is deprecated and goes in 0.2: it will index what it adds; "
                      "call save_article to only save", DeprecationWarning, stacklevel=2)
        return save_article(corpus, title=title, **article)
    path = save_article(corpus, title=title, index=index, **article)
    return Added(path, False, index_article(corpus, path, index=index))


def index_article(corpus: str | Path, path: Path, *, index: str | Path) -> BuildReport:
    """Index the saved article at `path` alone (`build_index(only=...)`): for callers that save first and must
    tell a refused article from one saved but not indexed (the chat, pages fetched from the web)."""
    return build_index(corpus, index, only=[source_name(Path(corpus), path)])


def remove_article(corpus: str | Path, source: str, *, index: str | Path) -> BuildReport:
    """Delete the indexed article `source` (its name in the index, e.g. `rag status` lists) from `corpus` and
    from the index, incrementally: its passages are deleted, nothing else is re-embedded, and no other file
    of the corpus is looked at (`build_index(only=...)`)."""
    corpus = Path(corpus)
    indexed(store.read_manifest(index)[1], source)
    corpus_file(corpus, source).unlink(missing_ok=True)  # already gone: the index is brought in line
    return build_index(corpus, index, only=[source])


def replace_article(corpus: str | Path, source: str, *, index: str | Path, text: str | None = None,
                    data: bytes | None = None, filename: str | None = None) -> BuildReport:
    """Give the indexed article `source` a new pasted `text` or uploaded file (`data`, `filename`) and update
    the index: its old passages are deleted and the new ones embedded. The file keeps its name; its title,
    date, publisher and link stay unless the new text's front matter gives others. Checked as `add_article`
    checks (a text another article already has, or the same text again, is refused)."""
    rewrite_article(corpus, source, index=index, text=text, data=data, filename=filename)
    return build_index(corpus, index, only=[source])


def rewrite_article(corpus: str | Path, source: str, *, index: str | Path, text: str | None = None,
                    data: bytes | None = None, filename: str | None = None, fetched_at: str | None = None) -> Path:
    """`replace_article` without the index update: the corpus file of `source` rewritten, checked the same
    way; returns it. For callers that index several changed articles at once (`rag feeds update`)."""
    corpus = Path(corpus)
    entry = indexed(store.read_manifest(index)[1], source)
    _suffix(filename)
    path = corpus_file(corpus, source)
    raw = _raw_text(text, data)
    kept = {"title": entry.title, "date": entry.date, "publisher": entry.publisher, "url": entry.url}
    _, content = _prepared(corpus, raw, "", {}, _manifest(index), replacing=source, kept=kept, fetched_at=fetched_at)
    return _written(path.parent, path.suffix, content, lambda tmp: os.replace(tmp, path) or path)


def _manifest(index: str | Path | None) -> Manifest | None:
    """The live manifest of `index`, or None when there is none to go by."""
    try:
        return None if index is None else store.read_manifest(index)[1]
    except RagError:
        return None


