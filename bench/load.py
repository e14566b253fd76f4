"""Load benchmark: many threads through the Python API and many clients through the `/ask` endpoint.

    python -m bench.load [--threads 32] [--per-thread 50] [--clients 16] [--per-client 20] [--out docs/load.md]

Works on a temporary corpus holding the seed article (from ../shared, `--seed`; the benchmark exits with a line
when it is absent) and its index, with the server in a child process (`rag serve`); the questions are the
article's (`--questions`). Checks as it measures: every reply must equal the one-at-a-time reply, and an
article added mid-run must switch replies without a failed request.
Prints throughput and p50/p95 latency; with --out, writes them as a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

import rag
from bench import seed

NEW_ARTICLE = "---\ntitle: Музей угля\n---\nМузей угля открылся в Караганде. Билет в музей угля стоит 500 тенге.\n"
NEW_QUESTION = "Сколько стоит билет в музей угля?"


def percentiles(seconds: list[float]) -> tuple[float, float]:
    """Median and 95th percentile, in milliseconds."""
    return statistics.median(seconds) * 1000, statistics.quantiles(seconds, n=20)[-1] * 1000


def hammer(workers: int, per_worker: int, questions: list[str], ask, expected: dict[str, str]) -> dict:
    """`workers` threads each asking `per_worker` questions; throughput, latencies and mismatches."""
    def work(n: int) -> list[tuple[float, bool]]:
        asker = ask()
        results = []
        for i in range(per_worker):
            q = questions[(n * 7 + i) % len(questions)]
            started = time.perf_counter()
            reply = asker(q)
            results.append((time.perf_counter() - started, reply == expected[q]))
        return results

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = [r for batch in pool.map(work, range(workers)) for r in batch]
    wall = time.perf_counter() - started
    p50, p95 = percentiles([t for t, _ in results])
    return {"requests": len(results), "throughput": len(results) / wall, "p50": p50, "p95": p95,
            "mismatches": sum(not ok for _, ok in results)}


def update_under_load(corpus: Path, index: Path, clients: int, ask) -> dict:
    """Clients keep asking NEW_QUESTION while the article that answers it is added; count failures and switches."""
    stop = threading.Event()
    outcomes: list[str] = []
    lock = threading.Lock()

    def keep_asking() -> None:
        asker = ask()
        while not stop.is_set():
            try:
                answered = "500 тенге" in asker(NEW_QUESTION)
                with lock:
                    outcomes.append("new" if answered else "old")
            except Exception:  # noqa: BLE001 - counted as a failed request
                with lock:
                    outcomes.append("failed")

    threads = [threading.Thread(target=keep_asking) for _ in range(clients)]
    for t in threads:
        t.start()
    time.sleep(1)
    (corpus / "museum.md").write_text(NEW_ARTICLE, encoding="utf-8")
    rag.build_index(corpus, index)
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join()
    return {"clients": clients, "requests": len(outcomes), "failed": outcomes.count("failed"),
            "old": outcomes.count("old"), "new": outcomes.count("new")}


def run(seed_article: Path, questions_file: Path, threads: int, per_thread: int, clients: int,
        per_client: int) -> dict:
    """All measurements on a temporary corpus holding the article at `seed_article`, asking the questions of
    `questions_file`; the server runs in its own process (`rag serve`), so that the clients' threads do not
    share its interpreter."""
    from ui import format

    work = Path(tempfile.mkdtemp(prefix="rag-load-"))
    try:
        seed.add_to(work / "corpus", seed_article)
        index = work / "index"
        questions = [json.loads(line)["question"] for line in questions_file.read_text(encoding="utf-8").splitlines()]
        rag.build_index(work / "corpus", index)
        expected_api = {q: rag.answer(q, index=index) for q in questions}
        expected_reply = {q: format.reply(a) for q, a in expected_api.items()}
        library = lambda: lambda q: rag.answer(q, index=index)  # noqa: E731
        results = {
            "api, one at a time": hammer(1, len(questions), questions, library, expected_api),
            f"api, {threads} threads × {per_thread}": hammer(threads, per_thread, questions, library, expected_api),
        }
        with _server(work / "corpus", index) as url:
            endpoint = lambda: _predictor(url)  # noqa: E731
            results["/ask, one client"] = hammer(1, len(questions), questions, endpoint, expected_reply)
            results[f"/ask, {clients} clients × {per_client}"] = hammer(clients, per_client, questions, endpoint,
                                                                         expected_reply)
            results["update"] = update_under_load(work / "corpus", index, clients, endpoint)
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def _server(corpus: Path, index: Path) -> Iterator[str]:
    """`rag serve` on a free loopback port in a child process, without the limit on questions per address (every
    client here is 127.0.0.1); yields its URL once it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-c", "from rag.cli import main; main()", "serve", "--corpus", str(corpus),
               "--index", str(index), "--port", str(port), "--questions-per-minute", "0"]  # one address, many clients
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _predictor(url)("Проверка связи")
                break
            except Exception:  # noqa: BLE001 - not up yet
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"rag serve did not start: {' '.join(command)}") from None
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _predictor(url: str):
    """A client of the `/ask` endpoint over Gradio's REST API (POST the call, read its event stream).

    Plain HTTP rather than gradio_client, which adds ~70 ms of its own per call on this machine.
    """
    from ui.app import DEFAULT_K

    client = httpx.Client(timeout=120)

    def ask(question: str) -> str:
        # every argument of /ask in order (question, k, since, until, publisher, history): the REST API fills none
        data = [question, DEFAULT_K, "", "", "", []]
        event = client.post(f"{url}gradio_api/call/ask", json={"data": data}).raise_for_status().json()
        stream = client.get(f"{url}gradio_api/call/ask/{event['event_id']}").raise_for_status().text
        fields = dict(line.split(": ", 1) for line in stream.splitlines() if ": " in line)
        if fields.get("event") != "complete":
            raise RuntimeError(f"/ask failed: {stream[:200]}")
        return json.loads(fields["data"])[0]

    return ask


def report(results: dict, command: str) -> str:
    """The results as a Markdown table with the machine and command."""
    update = results.pop("update")
    lines = [
        "# Load", "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; offline model. Command: `{command}`", "",
        "| load | requests | throughput (req/s) | p50 (ms) | p95 (ms) | replies differing from one-at-a-time |",
        "|---|---:|---:|---:|---:|---:|",
        *(f"| {name} | {r['requests']} | {r['throughput']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['mismatches']} |"
          for name, r in results.items()),
        "",
        f"Article added while {update['clients']} clients asked through `/ask`: {update['requests']} requests, "
        f"{update['failed']} failed, {update['old']} answered from the old index, {update['new']} from the new one.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None, prog: str = "python -m bench.load") -> None:
    """Run the load benchmark with command-line options `argv` (default: `sys.argv[1:]`), as the command `prog`."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=Path, default=seed.PATH, help="the seed article (default: %(default)s)")
    parser.add_argument("--questions", type=Path, default=Path("corpus/eval/questions.jsonl"),
                        help="questions about it (JSON lines)")
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--per-thread", type=int, default=50)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--per-client", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    command = (f"{prog} --threads {args.threads} --per-thread {args.per_thread} "
               f"--clients {args.clients} --per-client {args.per_client}")
    if (why := seed.missing(args.seed)) is not None:
        parser.exit(1, f"{prog}: {why}: give its path with --seed FILE\n")
    text = report(run(args.seed, args.questions, args.threads, args.per_thread, args.clients, args.per_client),
                  command)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
