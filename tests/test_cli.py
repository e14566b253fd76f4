"""The `rag` command: the JSON contract, batch mode, status, adding an article (as `make run` adds the seed), and
one clear line for every mistake."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.articles import MAX_ADD_BYTES
from rag.cli import EXIT_SKIPPED, cli
from rag.corpus import load_corpus
from rag.models import navec
from tests.conftest import ROOT, SEED, SEED_ARTICLE
from tests.helpers import run




def check_passage(passage: dict, seed_text: str) -> None:
    assert set(passage) == {"title", "source", "text", "start", "end", "score", "date", "publisher", "url",
                            "same_story", "article"}
    assert passage["article"] == passage["title"]  # the title's old key, kept until 0.2
    assert seed_text[passage["start"]:passage["end"]] == passage["text"]
    assert isinstance(passage["score"], float)


def test_batch_json_answers_one_line_per_question(seed_index: Path, seed_text: str) -> None:
    questions = "Сколько составили глобальные военные расходы?\n\nКак приготовить плов?\n"
    result = run("ask", "--json", "--index", str(seed_index), "-k", "4", input=questions)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    answered, declined = (json.loads(line) for line in lines)
    assert set(answered) == {"question", "answer", "passages", "confidence"}
    assert 0 <= answered["confidence"] <= 1  # the no-answer rule's probability that the quote answers
    assert answered["question"] == "Сколько составили глобальные военные расходы?"
    assert "2,7 трлн долларов" in answered["answer"] and answered["answer"] in answered["passages"][0]["text"]
    assert len(answered["passages"]) == 4 and answered["passages"][0]["source"] == SEED_ARTICLE
    for passage in answered["passages"]:
        check_passage(passage, seed_text)
    scores = [p["score"] for p in answered["passages"]]
    assert scores == sorted(scores, reverse=True)
    assert declined["answer"] is None and declined["passages"]


def test_asking_never_builds_an_index_and_says_how_to(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    result = run("ask", "Где выступал Токаев в декабре 2025 года?",
                 env={"RAG_CORPUS": str(corpus), "RAG_INDEX": str(index)})
    assert result.returncode == 1 and not index.exists()
    assert result.stderr.strip() == f"Error: no index in {index}: run: rag index --index {index}"
    assert run("status", "--index", str(index)).stderr == result.stderr


def test_human_output_quotes_then_lists_sources_and_status_describes_the_index(seed_index: Path) -> None:
    runner = CliRunner()
    asked = runner.invoke(cli, ["ask", "--index", str(seed_index), "-k", "2",
                                "Сколько составили глобальные военные расходы в прошлом году?"])
    assert asked.exit_code == 0
    lines = asked.output.splitlines()
    quote, source, _, heading = lines[:4]
    assert quote.startswith("«") and "2,7 трлн долларов" in quote and quote.endswith("»")
    assert source.startswith("— Внешняя политика Казахстана") and "(2026-03-04, Zakon.kz)" in source
    assert f"{SEED_ARTICLE}, символы " in source
    assert heading == "Источники:"
    assert [line[:4] for line in lines if line[:1].isdigit()] == ["1. [", "2. ["]
    assert quote[1:-1] in "\n".join(lines[4:]).replace("\n   ", "\n")  # the quote stands in the first passage
    declined = runner.invoke(cli, ["ask", "--index", str(seed_index), "Как приготовить плов?"])
    assert declined.output.startswith("В статьях нет ответа на этот вопрос.\nПричина: ")  # why, in one line
    assert "\n\nБлижайшие отрывки:" in declined.output
    status = runner.invoke(cli, ["status", "--index", str(seed_index)])
    assert status.exit_code == 0
    assert "articles: 1" in status.output and "multilingual-e5-small-q4 (384 dimensions)" in status.output
    assert SEED_ARTICLE in status.output and "2026-03-04" in status.output


def test_index_exits_3_when_files_were_skipped(corpus: Path, tmp_path: Path) -> None:
    (corpus / "empty.txt").write_text("")
    result = CliRunner().invoke(cli, ["index", "--corpus", str(corpus), "--index", str(tmp_path / "index")])
    assert result.exit_code == EXIT_SKIPPED
    assert "skipped: empty.txt: empty article" in result.output
    assert "1 new, 0 changed, 0 removed, 0 unchanged, 1 skipped" in result.output
    passages = re.search(r"skipped article\(s\): (\d+) passages", result.output).group(1)
    # the progress bar counts passages, with their rate and the time left, and ends at their number
    assert re.search(rf"embedding: 100%.* {passages}/{passages} \[[0-9:]+<00:00, +[0-9.]+(?:passage/s|s/passage)\]", result.stderr)


@pytest.mark.parametrize("args, message", [
    (["index", "--corpus", "/nonexistent/folder"], "corpus folder /nonexistent/folder does not exist"),
    (["index", "--index", "/etc/hostname"], "is a file, not a folder"),
    (["status", "--index", "/nonexistent/index"], "no index in /nonexistent/index: run: rag index"),
    (["ask", "--no-such-option"], "No such option"),
    (["ask", "-k", "0", "x"], "Invalid value for '-k'"),
], ids=["missing-corpus", "index-is-a-file", "no-index", "unknown-option", "bad-k"])
def test_mistakes_get_one_clear_line(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.returncode in (1, 2)
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_make_run_adds_the_seed_from_shared_with_rag_add_and_it_answers(seed_article: Path, tmp_path: Path) -> None:
    """On a fresh clone the corpus holds no article, so `make run` first adds the seed from ../shared with its
    `rag add` line: the very file the tests' corpora hold, dated by the seed's first line."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    recipe = subprocess.run(["make", "-n", "-C", str(ROOT), "-o", ".venv/.installed", "run", f"SEED={SEED}"],
                            capture_output=True, text=True, check=True, timeout=60).stdout
    (line,) = [line for line in recipe.splitlines() if "/rag add " in line]
    args = shlex.split(line.split("/rag ", 1)[1].rstrip(" ;\\"))
    assert args[:2] == ["add", str(SEED)]
    corpus.mkdir()
    run_cli = CliRunner().invoke
    assert run_cli(cli, ["index", "--corpus", str(corpus), "--index", str(index), "--model", navec.NAME]).exit_code == 0
    added = run_cli(cli, [*args, "--corpus", str(corpus), "--index", str(index)])
    assert added.exit_code == 0, added.output
    assert f"added {corpus / SEED_ARTICLE}\n" in added.output and "indexed 1 new" in added.output
    assert (corpus / SEED_ARTICLE).read_bytes() == seed_article.read_bytes()
    asked = run_cli(cli, ["ask", "В скольких странах казахстанцы могут бывать без визы?", "--index", str(index)])
    assert "более 80-ти стран" in asked.output
    assert f"(2026-03-04, Zakon.kz), {SEED_ARTICLE}, символы " in asked.output


def test_rag_add_still_takes_the_publisher_as_source_for_one_release_and_warns(tmp_path: Path) -> None:
    """`--source` was the publisher's flag until `--publisher` (a source is a file everywhere else)."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    file = tmp_path / "news.md"
    file.write_text("Текст новой статьи о порте.", encoding="utf-8")
    run_cli = CliRunner().invoke
    assert run_cli(cli, ["index", "--corpus", str(corpus), "--index", str(index), "--model", navec.NAME]).exit_code == 0
    added = run_cli(cli, ["add", str(file), "--source", "Вестник", "--corpus", str(corpus), "--index", str(index)])
    assert added.exit_code == 0, added.output
    assert added.stderr.startswith("warning: --source is deprecated and goes in 0.2: use --publisher\n")
    assert load_corpus(corpus).articles[0].publisher == "Вестник"


@pytest.mark.parametrize("name, content, options, message", [
    ("nope.txt", None, [], "No such file or directory: "),
    ("report.pdf", "Текст отчёта.", [], "'report.pdf' is not accepted: only .txt, .md files can be added"),
    ("empty.md", "  \n", [], "the article is not accepted: empty article"),
    ("copy.txt", "Текст первой статьи.", [], "the corpus already holds this article: first.md"),
    ("big.txt", "а" * (MAX_ADD_BYTES // 2 + 1), [], "big.txt is too large (1024 KiB; an article is at most 1024 KiB)"),
    ("dated.md", "Текст второй статьи.", ["--date", "2026-02-30"], "date '2026-02-30' is not YYYY-MM-DD"),
    ("linked.md", "Текст второй статьи.", ["--url", "ftp://example.org"], "must start with http:// or https://"),
], ids=["missing", "not-an-article", "empty", "duplicate", "too-large", "bad-date", "bad-url"])
def test_rag_add_refuses_bad_input_in_one_line_and_writes_nothing(tmp_path: Path, name: str, content: str | None,
                                                                  options: list[str], message: str) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "first.md").write_text("---\ntitle: Первая\n---\nТекст первой статьи.\n", encoding="utf-8")
    file = tmp_path / name
    if content is not None:
        file.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(cli, ["add", str(file), *options, "--corpus", str(corpus), "--index", str(index)])
    assert result.exit_code == 1 and result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert message in result.output
    assert [p.name for p in corpus.iterdir()] == ["first.md"] and not index.exists()
