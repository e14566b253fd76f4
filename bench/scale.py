"""Scale benchmark: today's index (a baseline commit) against the working tree on generated archives.

    python -m bench.scale [--sizes 100000,1000000] [--baseline 02d5e61] [--baseline-max 100000]
                          [--only current|baseline] [--timeout 7200] [--work /tmp/rag-scale] [--seed 0] [--reuse-index]
                          [--backend local|milvus] [--out docs/scale.md]

Why: the seed corpus holds two articles, so how the index behaves with 100k or 1M passages (build time,
memory, the cost of adding one article, latency, disk) can only be seen on a generated archive. The
archive is synthetic Russian news (words drawn from navec's vocabulary with their real corpus
frequencies, so term statistics look like real text), and the index uses the small word-vector model
`navec-news-v1-static`, so that encoding passages and questions is cheap and the index itself is measured.

How: both implementations are run through the public CLI and Python API only, each in a child process of
the same interpreter with `PYTHONPATH` set to its tree (a git worktree of the baseline commit, or this
repository's working tree), from a neutral working folder; every child is checked to import `rag` from
the intended tree. Times are wall-clock around the child process, peak memory is the child's own
`ru_maxrss` (from `os.wait4` on its pid). Everything generated lives in the work folder, never in the repo.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import numpy as np

from bench.report import write_section

REPO = Path(__file__).resolve().parents[1]
MODEL = "navec-news-v1-static"
PUBLISHERS = np.array(["ТАСС", "РИА Новости", "Интерфакс", "Коммерсантъ", "Ведомости", "РБК", "Известия"],
                      dtype=object)
FIRST_DAY, DAYS = np.datetime64("2019-01-01"), 7 * 365
"""Article dates are spread over seven years from FIRST_DAY."""
BLOCK = 1000
"""Articles generated (and written into one subfolder) per seeded random stream."""
CALIBRATION_ARTICLES = 300
"""Articles indexed once to learn how many passages an article makes with the implementation's chunker."""
QUESTIONS = 200
ADDED = "added"
"""Corpus subfolder holding the one article added to a built index; removed after each implementation."""
INDEX_OK = (0, 3)
"""`rag index` exit statuses that mean the index was built (3: some files skipped)."""
ADDED_STREAM, QUESTION_STREAM = 10**9, 10**9 + 1
"""Random streams (after the seed) of the added article and of the questions, apart from the archive's blocks."""
_CYRILLIC_WORD = re.compile(r"[а-яё]+(?:-[а-яё]+)*")
_QUESTION_WORD = re.compile(r"\w+(?:-\w+)*")

COUNT_AND_LATENCY = """
import json, sys, time
import rag
index, model, questions_file, added = sys.argv[1:]
out = {"rag_file": rag.__file__}
if questions_file:
    from rag.models import shared_model
    questions = json.loads(open(questions_file, encoding="utf-8").read())
    encoder = shared_model(model)
    rag.retrieve(questions[0], k=3, index=index)
    encoder.encode_queries([questions[0]])
    out["total"], out["encode"] = [], []
    for q in questions:
        t = time.perf_counter(); rag.retrieve(q, k=3, index=index); out["total"].append(time.perf_counter() - t)
        t = time.perf_counter(); encoder.encode_queries([q]); out["encode"].append(time.perf_counter() - t)
kept = [a for a in rag.list_articles(index) if not a.source.startswith(added)]
out["articles"], out["passages"] = len(kept), sum(a.passages for a in kept)
print(json.dumps(out))
"""
"""Child script: articles and passages of an index (the added article left out) and, given a questions
file, warm `rag.retrieve` latency after one warm-up call, with the model's question encoding timed apart."""


# --- the archive -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """Cyrillic words of navec's vocabulary, capitalised forms, and the cumulative share of their counts."""

    words: np.ndarray
    capitalised: np.ndarray
    cdf: np.ndarray


def load_vocabulary() -> Vocabulary:
    """navec's vocabulary (shipped in `natasha`) with its corpus counts as sampling weights.

    The vocabulary is stored alphabetically, not by frequency, so the counts (from 1.2 billion words of
    Russian news; rank-frequency slope about -1 over ranks 1000-10000, i.e. Zipf-like) are the weights.
    """
    import natasha
    from navec import Navec

    path = Path(natasha.__file__).parent / "data" / "emb" / "navec_news_v1_1B_250K_300d_100q.tar"
    vocab = Navec.load(str(path)).vocab
    keep = [i for i, w in enumerate(vocab.words) if _CYRILLIC_WORD.fullmatch(w) and vocab.counts[i] > 0]
    words = np.array([vocab.words[i] for i in keep], dtype=object)
    counts = np.asarray([vocab.counts[i] for i in keep], dtype=np.float64)
    return Vocabulary(words, np.array([w.capitalize() for w in words], dtype=object), np.cumsum(counts) / counts.sum())


def _sample(rng: np.random.Generator, vocab: Vocabulary, n: int) -> np.ndarray:
    """`n` word ids drawn with the words' corpus frequencies."""
    return np.minimum(np.searchsorted(vocab.cdf, rng.random(n), side="right"), len(vocab.words) - 1)


def _bodies(rng: np.random.Generator, vocab: Vocabulary, count: int) -> list[str]:
    """`count` article texts: 8-12 paragraphs of 2-5 sentences of 8-20 words, built for all at once."""
    paragraphs = rng.integers(8, 13, count)
    sentences = rng.integers(2, 6, paragraphs.sum())
    lengths = rng.integers(8, 21, sentences.sum())
    ids = _sample(rng, vocab, int(lengths.sum()))
    last = np.cumsum(lengths) - 1  # last word of each sentence
    first = last - lengths + 1
    tokens = vocab.words[ids]
    tokens[first] = vocab.capitalised[ids[first]]
    separators = np.where(rng.random(len(ids)) < 0.07, ", ", " ").astype(object)
    marks = rng.choice(np.array([".", "?", "!"], dtype=object), p=[0.92, 0.04, 0.04], size=len(last))
    separators[last] = marks + " "
    paragraph_ends = np.cumsum(sentences) - 1
    separators[last[paragraph_ends]] = marks[paragraph_ends] + "\n\n"
    article_ends = last[paragraph_ends[np.cumsum(paragraphs) - 1]]
    separators[article_ends] = marks[paragraph_ends[np.cumsum(paragraphs) - 1]] + "\n"
    flat = np.empty(2 * len(ids), dtype=object)
    flat[0::2], flat[1::2] = tokens, separators
    pieces = flat.tolist()
    bounds = [0, *(2 * (article_ends + 1)).tolist()]
    return ["".join(pieces[a:b]) for a, b in itertools.pairwise(bounds)]


def _titles(rng: np.random.Generator, vocab: Vocabulary, count: int) -> list[str]:
    """`count` headlines of 4-8 words, the first capitalised, no final full stop."""
    lengths = rng.integers(4, 9, count)
    words = vocab.words[_sample(rng, vocab, int(lengths.sum()))].tolist()
    bounds = [0, *np.cumsum(lengths).tolist()]
    return [" ".join(words[a:b]).capitalize() for a, b in itertools.pairwise(bounds)]


def generate_articles(vocab: Vocabulary, seed: int, block: int, count: int) -> list[str]:
    """The file texts of `count` articles (front matter: title, date, publisher), from the stream (seed, block)."""
    rng = np.random.default_rng([seed, block])
    dates = (FIRST_DAY + rng.integers(0, DAYS, count)).astype(str)
    publishers = rng.choice(PUBLISHERS, size=count)
    return [f'---\ntitle: "{title}"\ndate: {day}\nsource: {publisher}\n---\n{body}'
            for title, day, publisher, body in zip(_titles(rng, vocab, count), dates, publishers,
                                                    _bodies(rng, vocab, count))]


def ensure_archive(vocab: Vocabulary, folder: Path, articles: int, seed: int) -> float | None:
    """Write `articles` generated articles under `folder`, one file each, BLOCK files per subfolder.

    Written aside and renamed, so an existing folder is a complete archive and is reused (None returned);
    otherwise the seconds the generation took.
    """
    if folder.is_dir():
        return None
    started = time.perf_counter()
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    for block, first in enumerate(range(0, articles, BLOCK)):
        sub = partial / f"{block:04d}"
        sub.mkdir(parents=True)
        for n, text in enumerate(generate_articles(vocab, seed, block, min(BLOCK, articles - first))):
            (sub / f"{first + n:07d}.md").write_text(text, encoding="utf-8")
    partial.rename(folder)
    return time.perf_counter() - started


def make_questions(corpus: Path, articles: int, seed: int) -> list[str]:
    """QUESTIONS questions of 5-8 consecutive words from random paragraphs of the archive's articles."""
    rng = np.random.default_rng([seed, QUESTION_STREAM])
    questions = []
    for number in rng.integers(0, articles, QUESTIONS).tolist():
        text = (corpus / f"{number // BLOCK:04d}" / f"{number:07d}.md").read_text(encoding="utf-8")
        paragraphs = text.split("\n---\n", 1)[1].split("\n\n")
        words = _QUESTION_WORD.findall(paragraphs[rng.integers(len(paragraphs))])
        size = int(rng.integers(5, 9))
        start = int(rng.integers(0, max(1, len(words) - size + 1)))
        questions.append(" ".join(words[start:start + size]).lower().capitalize() + "?")
    return questions


# --- child processes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One child process: wall time, its own peak resident memory, and how it ended."""

    seconds: float
    peak_rss_mib: float
    returncode: int | None
    timed_out: bool
    ok: bool
    log: str


def run_child(argv: list[str], env: dict[str, str], cwd: Path, timeout: float, log: Path,
              accept: tuple[int, ...] = (0,)) -> tuple[Step, str]:
    """Run `argv` to its end (killed with its process group after `timeout` s); the Step and its stdout.

    stdout and stderr go to `log`.out / `log`.err; the peak RSS is the child's own, from `os.wait4`.
    """
    killed = threading.Event()

    def kill(pid: int) -> None:
        killed.set()
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    out, err = log.with_suffix(".out"), log.with_suffix(".err")
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, cwd=cwd, env=env,
                                start_new_session=True)
        timer = threading.Timer(timeout, kill, [proc.pid])
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
    proc.returncode = code = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    timed_out = killed.is_set()
    step = Step(seconds, usage.ru_maxrss / 1024, None if timed_out else code, timed_out,
                not timed_out and code in accept, str(err))
    return step, out.read_text(encoding="utf-8", errors="replace")


@dataclass(frozen=True)
class Implementation:
    """A copy of the code to measure: its name in the tables, its source tree, and how it is described."""

    name: str
    tree: Path
    label: str

    def env(self) -> dict[str, str]:
        """The environment of its children: its tree first on the path, no index/corpus/model defaults."""
        env = {k: v for k, v in os.environ.items() if k not in ("RAG_INDEX", "RAG_CORPUS", "RAG_MODEL")}
        return env | {"PYTHONPATH": str(self.tree), "HF_HUB_OFFLINE": "1"}

    def check(self, rag_file: str) -> None:
        """Fail unless `rag` was imported from this tree (not the editable install or the other tree)."""
        if not Path(rag_file).resolve().is_relative_to(self.tree.resolve()):
            raise SystemExit(f"{self.name}: imported rag from {rag_file}, not from {self.tree}")


def cli_argv(*args: object) -> list[str]:
    """argv running `rag ARGS` with this interpreter (rag.cli has no `__main__` guard, hence `-c`)."""
    return [sys.executable, "-c", "from rag.cli import main; main()", *map(str, args)]


def python_argv(code: str, *args: object) -> list[str]:
    """argv running the Python `code` with ARGS with this interpreter."""
    return [sys.executable, "-c", code, *map(str, args)]


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True).stdout.strip()


def baseline_worktree(commit: str, work: Path) -> Implementation:
    """A detached git worktree of `commit` in the work folder (a stale one from an earlier run is replaced)."""
    short = _git("rev-parse", "--short", commit)
    tree = work / f"baseline-{short}"
    subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False,
                   capture_output=True)
    shutil.rmtree(tree, ignore_errors=True)
    _git("worktree", "prune")
    _git("worktree", "add", "--detach", str(tree), commit)
    return Implementation("baseline", tree, f"baseline `{short}`")


def current_tree() -> Implementation:
    """This repository's working tree, described by its commit and whether it has uncommitted changes."""
    dirty = " + uncommitted changes" if _git("status", "--porcelain", "--untracked-files=no") else ""
    return Implementation("current", REPO, f"current (`{_git('rev-parse', '--short', 'HEAD')}`{dirty})")


# --- measuring ---------------------------------------------------------------------------------------


def process_start(impl: Implementation, work: Path, timeout: float) -> float:
    """Seconds of `python -c "import rag"`: the fastest of five runs (the least disturbed by other load),
    after one run that checks which rag the implementation's children get."""
    code = "import sys, rag; sys.stdout.write(rag.__file__)"
    step, rag_file = run_child(python_argv(code), impl.env(), work, timeout, work / "logs" / f"{impl.name}-import")
    if not step.ok:
        raise SystemExit(f"{impl.name}: `import rag` failed, see {step.log}")
    impl.check(rag_file)
    print(f"{impl.name}: rag from {rag_file}", file=sys.stderr)
    return min(run_child(python_argv(code), impl.env(), work, timeout, work / "logs" / f"{impl.name}-import")[0].seconds
               for _ in range(5))


def count_index(impl: Implementation, index: Path, work: Path, timeout: float, log: Path,
                questions: Path | None = None) -> tuple[Step, dict]:
    """Run COUNT_AND_LATENCY in a child: the Step and its JSON result (empty when it failed)."""
    argv = python_argv(COUNT_AND_LATENCY, index, MODEL, questions or "", f"{ADDED}/")
    step, stdout = run_child(argv, impl.env(), work, timeout, log)
    if not step.ok:
        return step, {}
    result = json.loads(stdout.strip().splitlines()[-1])
    impl.check(result["rag_file"])
    return step, result


def passages_per_article(impls: list[Implementation], vocab: Vocabulary, work: Path, seed: int,
                         timeout: float) -> tuple[float, str]:
    """Passages per generated article as the first implementation that manages it chunks a small sample."""
    corpus = work / f"calibration-s{seed}"
    ensure_archive(vocab, corpus, CALIBRATION_ARTICLES, seed)
    for impl in impls:
        index = work / f"calibration-index-{impl.name}"
        shutil.rmtree(index, ignore_errors=True)
        log = work / "logs" / f"calibration-{impl.name}"
        built, _ = run_child(cli_argv("index", "--corpus", corpus, "--index", index, "--model", MODEL),
                             impl.env(), work, timeout, log.with_name(log.name + "-index"), INDEX_OK)
        counted, counts = count_index(impl, index, work, timeout, log) if built.ok else (built, {})
        if counted.ok:
            return counts["passages"] / counts["articles"], impl.name
        print(f"{impl.name}: calibration failed, see {counted.log}", file=sys.stderr)
    raise SystemExit("no implementation could index the calibration sample")


def disk_bytes(folder: Path) -> int:
    """Bytes of the files under `folder`, each hard-linked file counted once."""
    seen: dict[tuple[int, int], int] = {}
    for root, _, files in os.walk(folder):
        for name in files:
            st = os.lstat(os.path.join(root, name))
            seen[(st.st_dev, st.st_ino)] = st.st_size
    return sum(seen.values())


def latency_summary(result: dict) -> dict:
    """p50/p95 in ms of warm retrieval, of question encoding, and of retrieval minus each question's encoding."""
    total, encode = np.array(result["total"]) * 1000, np.array(result["encode"]) * 1000

    def pct(values: np.ndarray) -> list[float]:
        return np.percentile(values, [50, 95]).tolist()

    return {"total_ms": pct(total), "encode_ms": pct(encode), "beyond_encoding_ms": pct(total - encode),
            "questions": len(total)}


@dataclass(frozen=True)
class Archive:
    """A generated corpus for one requested size: its folder, article count and questions file."""

    size: int
    articles: int
    corpus: Path
    questions: Path


def measure(impl: Implementation, archive: Archive, vocab: Vocabulary, work: Path, seed: int,
            timeout: float, reuse: bool = False, backend: str = "local") -> dict:
    """Build, status, add one article, cold ask, warm retrieval and disk size for one implementation.

    With `backend` "milvus" the index keeps its passages in Milvus Lite (a .db file in the index folder, so
    counted in its disk size); every later step is the same command, which reads the backend from the index.
    Stops at the first step that fails or times out; what was measured until then is kept.
    """
    result: dict = {}
    index = work / (f"index-{impl.name}-{archive.size}" + ("" if backend == "local" else f"-{backend}"))
    chosen = () if backend == "local" else ("--backend", backend)
    logs = work / "logs"

    def step(name: str, argv: list[str], accept: tuple[int, ...] = (0,)) -> bool:
        done, _ = run_child(argv, impl.env(), work, timeout, logs / f"{archive.size}-{impl.name}-{name}", accept)
        result[name] = asdict(done)
        print(f"[{archive.size}] {impl.name} {name}: {done.seconds:.1f} s, {done.peak_rss_mib:.0f} MiB"
              f"{'' if done.ok else ' FAILED, see ' + done.log}", file=sys.stderr)
        return done.ok

    if reuse and (index / "CURRENT").exists():  # brought back to the archive first: an earlier add is undone
        print(f"[{archive.size}] {impl.name} build: reusing {index}", file=sys.stderr)
        shutil.rmtree(archive.corpus / ADDED, ignore_errors=True)
        run_child(cli_argv("index", "--corpus", archive.corpus, "--index", index), impl.env(), work, timeout,
                  logs / f"{archive.size}-{impl.name}-resync", INDEX_OK)
    else:
        shutil.rmtree(index, ignore_errors=True)
        if not step("build", cli_argv("index", "--corpus", archive.corpus, "--index", index, "--model", MODEL,
                                      *chosen), INDEX_OK):
            return result
    result["disk_bytes"] = disk_bytes(index)
    if not step("status", cli_argv("status", "--index", index)):
        return result
    added = archive.corpus / ADDED
    added.mkdir(exist_ok=True)
    (added / "article.md").write_text(generate_articles(vocab, seed, ADDED_STREAM, 1)[0], encoding="utf-8")
    try:
        if not step("add", cli_argv("index", "--corpus", archive.corpus, "--index", index), INDEX_OK):
            return result
        result["disk_after_add_bytes"] = disk_bytes(index)
        named = added / "named.md"  # told which file is new, an update looks at no other (not in the baseline)
        named.write_text(generate_articles(vocab, seed, ADDED_STREAM + 2, 1)[0], encoding="utf-8")
        step("add_named", cli_argv("index", "--corpus", archive.corpus, "--index", index, named), INDEX_OK)
        question = json.loads(archive.questions.read_text(encoding="utf-8"))[0]
        if not step("ask", cli_argv("ask", "--index", index, question)):
            return result
        warm, counts = count_index(impl, index, work, timeout, logs / f"{archive.size}-{impl.name}-warm",
                                   archive.questions)
        result["warm_process"] = asdict(warm)
        if counts:
            result |= {"articles": counts["articles"], "passages": counts["passages"],
                       "warm": latency_summary(counts)}
    finally:
        shutil.rmtree(added, ignore_errors=True)
    return result


# --- the report --------------------------------------------------------------------------------------


def machine() -> str:
    """CPU model, cores, RAM and Python of this machine, in one line."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    kib = int(re.search(r"^MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text(), re.MULTILINE).group(1))
    return (f"{model.group(1).strip() if model else platform.processor() or 'unknown CPU'}, "
            f"{os.cpu_count()} logical cores ({len(os.sched_getaffinity(0))} usable), "
            f"{kib / 2**20:.0f} GiB RAM, Linux {platform.release()}, Python {platform.python_version()}")


def _time(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds >= 600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s" if seconds < 100 else f"{seconds:.0f} s"


def _size(mib: float) -> str:
    return f"{mib:.0f} MiB" if mib < 1024 else f"{mib / 1024:.2f} GiB"


def _ms(pair: list[float]) -> str:
    return f"{pair[0]:.2f} / {pair[1]:.2f} ms"


def _failure(step: dict) -> str | None:
    """How a child-process step failed, or None when it succeeded."""
    if step["timed_out"]:
        return "timeout"
    return None if step["ok"] else f"failed (exit {step['returncode']})"


def _step(name: str, what: str, beyond_start: bool = False) -> Callable[[dict, float], str]:
    """A cell of a child-process step: its time (and, if asked, the part beyond `import rag`) or its peak RSS."""
    def cell(result: dict, start: float) -> str:
        step = result[name]
        if failure := _failure(step):
            return failure
        if what == "rss":
            return _size(step["peak_rss_mib"])
        if not beyond_start:
            return _time(step["seconds"])
        beyond = step["seconds"] - start
        return f"{_time(step['seconds'])} ({_time(beyond) if beyond > 0 else '≈0'} beyond start)"
    return cell


def _warm(show: Callable[[dict], str]) -> Callable[[dict, float], str]:
    """A cell of what the warm process found (`show` of its result), or how that process failed."""
    def cell(result: dict, start: float) -> str:
        return _failure(result["warm_process"]) or show(result)
    return cell


ROWS: list[tuple[str, Callable[[dict, float], str]]] = [
    ("passages (articles) indexed", _warm(lambda r: f"{r['passages']:,} ({r['articles']:,})".replace(",", " "))),
    ("build from scratch: time", _step("build", "time")),
    ("build from scratch: peak RSS", _step("build", "rss")),
    ("`rag status`: time", _step("status", "time", beyond_start=True)),
    ("add one article (`rag index`: a stat of every file): time", _step("add", "time", beyond_start=True)),
    ("add one article (`rag index`: a stat of every file): peak RSS", _step("add", "rss")),
    ("add one article (`rag index FILE`): time", _step("add_named", "time", beyond_start=True)),
    ("add one article (`rag index FILE`): peak RSS", _step("add_named", "rss")),
    ("cold `rag ask`: time", _step("ask", "time", beyond_start=True)),
    ("cold `rag ask`: peak RSS", _step("ask", "rss")),
    ("warm retrieve p50 / p95", _warm(lambda r: _ms(r["warm"]["total_ms"]))),
    ("warm retrieve beyond question encoding p50 / p95", _warm(lambda r: _ms(r["warm"]["beyond_encoding_ms"]))),
    ("question encoding p50 / p95", _warm(lambda r: _ms(r["warm"]["encode_ms"]))),
    ("warm process peak RSS (index loaded, questions asked)", _step("warm_process", "rss")),
    ("index on disk: after build", lambda r, s: _size(r["disk_bytes"] / 2**20)),
    ("index on disk: after adding one article", lambda r, s: _size(r["disk_after_add_bytes"] / 2**20)),
    ("process start (`python -c \"import rag\"`)", lambda r, s: _time(s)),
]


def _cell(row: Callable[[dict, float], str], result: dict, start: float) -> str:
    if "skipped" in result:
        return result["skipped"]
    try:
        return row(result, start)
    except KeyError:
        return "—"  # an earlier step failed


def table(size: dict, impls: list[dict]) -> list[str]:
    """Markdown lines of one size: a row per measure, a column per implementation."""
    lines = [f"### {size['size']:,} passages requested: {size['articles']:,} generated articles".replace(",", " "),
             "", "| | " + " | ".join(i["label"] for i in impls) + " |", "|---" * (len(impls) + 1) + "|"]
    for label, row in ROWS:
        cells = [_cell(row, size["results"].get(i["name"], {"skipped": "not run"}), i["process_start_s"])
                 for i in impls]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines + [""]


def report(results: dict) -> str:
    """The Markdown section: how it was measured, the machine, then one table per size."""
    impls = results["implementations"]
    lines = ["## Scale: the index on generated archives", "",
             f"Produced by `python -m bench.scale {results['arguments']}` on {results['date']}.  ",
             f"Machine: {results['machine']}.", "",
             (f"Synthetic Russian news (navec's words at their corpus frequencies, 8-12 paragraphs per article), "
             f"indexed with `{MODEL}` so that encoding is cheap; article counts aimed with "
             f"{results['passages_per_article']:.2f} passages per article ({results['calibrated_with']}'s chunker). "
             "Every step is a fresh child process of the same interpreter with `PYTHONPATH` on the implementation's "
             "tree; peak RSS is that child's own. \"Beyond start\" subtracts `python -c \"import rag\"` "
             f"(fastest of 5). Warm latency: `rag.retrieve(q, k=3)` over {QUESTIONS} questions of 5-8 words from "
             "random paragraphs, in one process after a warm-up call; question encoding (`encode_queries`) is "
             "timed apart and subtracted per question. Disk: hard-linked files counted once. Rows after a failed step: —."), ""]
    for size in results["sizes"]:
        lines += table(size, impls)
    return "\n".join(lines)


# --- the run -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="Passage counts to generate, comma-separated.")
    parser.add_argument("--baseline", default="02d5e61", help="Commit of today's implementation.")
    parser.add_argument("--baseline-max", type=int, default=100_000,
                        help="Skip the baseline above this many passages (it rebuilds everything on each update).")
    parser.add_argument("--only", choices=("current", "baseline"), help="Measure one implementation only.")
    parser.add_argument("--timeout", type=float, default=7200, help="Seconds allowed per step.")
    parser.add_argument("--work", type=Path, default=Path("/tmp/rag-scale"), help="Folder for everything generated.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the generated archives and questions.")
    parser.add_argument("--out", type=Path, help="Markdown file whose scale section is replaced (or appended).")
    parser.add_argument("--reuse-index", action="store_true",
                        help="Measure on the index an earlier run left in the work folder instead of building it "
                             "again (a 1M build takes half an hour); its build rows then show —.")
    parser.add_argument("--section", default="scale", help="Name of that section (runs of other sizes keep theirs).")
    parser.add_argument("--backend", choices=("local", "milvus"), default="local",
                        help="Where the current tree's index keeps its passages (milvus: Milvus Lite in the index).")
    return parser.parse_args(argv)


def implementations(args: argparse.Namespace, work: Path) -> list[Implementation]:
    """The implementations asked for, baseline first (its worktree created in the work folder)."""
    impls = [] if args.only == "current" else [baseline_worktree(args.baseline, work)]
    return impls + ([] if args.only == "baseline" else [current_tree()])


def run(args: argparse.Namespace, impls: list[Implementation], work: Path) -> dict:
    """Generate the archives and measure every implementation on each; raw results saved as they come."""
    on = "" if args.backend == "local" else f" on {args.backend}"
    described = [{"name": i.name, "label": i.label + ("" if i.name == "baseline" else on), "tree": str(i.tree),
                  "process_start_s": process_start(i, work, args.timeout)} for i in impls]
    vocab = load_vocabulary()
    ratio, calibrated_with = passages_per_article(impls[::-1], vocab, work, args.seed, args.timeout)
    results = {"date": date.today().isoformat(), "machine": machine(), "arguments": args.command,
               "passages_per_article": ratio, "calibrated_with": calibrated_with, "implementations": described,
               "sizes": []}
    for size in (int(s) for s in args.sizes.split(",")):
        articles = max(1, round(size / ratio))
        corpus = work / f"corpus-s{args.seed}-{articles}"
        generated = ensure_archive(vocab, corpus, articles, args.seed)
        questions = corpus.with_name(corpus.name + "-questions.json")
        questions.write_text(json.dumps(make_questions(corpus, articles, args.seed), ensure_ascii=False),
                             encoding="utf-8")
        archive = Archive(size, articles, corpus, questions)
        entry = {"size": size, "articles": articles, "corpus": str(corpus), "generation_s": generated, "results": {}}
        results["sizes"].append(entry)
        for impl in impls:
            skip = impl.name == "baseline" and size > args.baseline_max
            entry["results"][impl.name] = ({"skipped": "skipped"} if skip else
                                           measure(impl, archive, vocab, work, args.seed, args.timeout,
                                                   args.reuse_index, "local" if impl.name == "baseline" else args.backend))
            (work / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
        print("\n".join(table(entry, results["implementations"])))
    return results


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark, print the tables, and write the section into --out when given."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    args.command = " ".join(argv)
    work = args.work.resolve()
    (work / "logs").mkdir(parents=True, exist_ok=True)
    impls = implementations(args, work)
    try:
        results = run(args, impls, work)
    finally:
        for impl in impls:
            if impl.name == "baseline":
                _git("worktree", "remove", "--force", str(impl.tree))
    section = report(results)
    print(section)
    if args.out:
        write_section(args.out, args.section, section)
        print(f"written: {args.out} (raw results: {work / 'results.json'})", file=sys.stderr)


if __name__ == "__main__":
    main()
