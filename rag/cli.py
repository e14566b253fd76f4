"""The `rag` command: index a corpus, add, replace or remove an article, ask questions, show the index status,
serve the chat.

Tuning, evaluation and benchmarks are a separate command, `rag-bench` (`bench.cli`).

Each command is a thin layer over the Python API (`rag.build_index`, `rag.answer`, ...); errors a
user can act on are printed as one line, never as a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from itertools import islice
from pathlib import Path

import click

from rag.errors import RagError
from rag.index import store
from rag.index.manifest import Manifest
from rag.settings import DEFAULT_K, MAX_K, QUESTIONS_PER_MINUTE, default_corpus, default_index

EXIT_SKIPPED = 3
"""`rag index` exit status when the index was updated but some corpus files were skipped."""
STATUS_ARTICLES = 20
"""Articles `rag status` lists by name; `--json` gives them all."""


def setup_logging() -> None:
    """Log records of the `rag` logger to standard error, as bare lines (shared with `rag-bench`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("rag")
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False


corpus_option = click.option(
    "--corpus", type=click.Path(path_type=Path), default=None,
    help="Folder of .txt/.md articles (default: $RAG_CORPUS or ./corpus).",
)
index_option = click.option(
    "--index", "index", type=click.Path(path_type=Path), default=None,
    help="Index folder (default: $RAG_INDEX or ./index).",
)


class Group(click.Group):
    """Turns errors a user can act on into click's one-line "Error: ..." and exit status 1 (shared with `rag-bench`)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RagError as exc:
            error = click.ClickException(str(exc))
            error.exit_code = exc.exit_code
            raise error from None
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            raise click.ClickException(f"{exc.strerror or exc}{where}") from None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Answer questions about Russian news articles with verbatim quotes."""
    setup_logging()


@cli.command("index")
@corpus_option
@index_option
@click.option("--model", default=None, help="Embedding model: hub id or local folder (new index or --rebuild).")
@click.option("--rebuild", is_flag=True, help="Re-embed everything instead of updating incrementally.")
@click.option("--optimize", is_flag=True, help="Also merge the vector segments into one and rewrite the word index, dropping "
              "deleted passages: scores become exactly a fresh build's.")
@click.option("--wait", type=click.FloatRange(0), default=None, metavar="SECONDS",
              help="How long to wait for another update of the index to finish "
                   "(default: $RAG_LOCK_TIMEOUT or 600); then exit with status 75.")
@click.option("--backend", type=click.Choice(["local", "milvus"]), default=None,
              help="Where a new index (or --rebuild) keeps its passages: in the index folder (local, the default) "
                   "or in Milvus.")
@click.option("--uri", default=None, metavar="PATH.db|URL",
              help="Milvus to use: a local .db path runs Milvus Lite in this process, http://host:19530 a server "
                   "(token from $RAG_MILVUS_TOKEN). Default: INDEX/milvus.db.")
@click.option("--ray", "ray", is_flag=False, flag_value="auto", default=None, metavar="[auto|ADDRESS]",
              help="Chunk and embed on a Ray cluster: auto (this machine's, or a new one on it) or a cluster's "
                   "address; commits as it goes, so a stopped build resumes.")
@click.option("--ray-actors", type=click.IntRange(1), default=None, metavar="N",
              help="Encoders (each loads the model once) for --ray; default: one per CPU of the cluster.")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
def index_command(corpus: Path | None, index: Path | None, model: str | None, rebuild: bool, optimize: bool,
                  wait: float | None, backend: str | None, uri: str | None, ray: str | None,
                  ray_actors: int | None, files: tuple[Path, ...]) -> None:
    """Build or update the index from the corpus folder. Given FILES (article files in the corpus folder), only
    they are looked at, added, changed or removed as they now are: no scan of a large archive."""
    from rag.corpus import source_name
    from rag.index.update import build_index

    corpus = corpus or default_corpus()
    only = [source_name(corpus, f) for f in files] if files else None
    report = build_index(corpus, index or default_index(), model=model, rebuild=rebuild, progress=True,
                         optimize=optimize, wait=wait, backend=backend, uri=uri, ray=ray, ray_actors=ray_actors,
                         only=only)
    for note in report.notes:
        click.echo(f"note: {note.source}: {note.reason}", err=True)
    for skipped in report.skipped:
        click.echo(f"skipped: {skipped.source}: {skipped.reason}", err=True)
    click.echo(report.summary())
    if report.skipped:
        sys.exit(EXIT_SKIPPED)


def _format_summary(summary) -> list[str]:
    """A summary for the terminal: the article, then its central sentences with their offsets."""
    where = ", ".join(x for x in (summary.date, summary.publisher) if x)
    lines = [f"Кратко: {summary.title}{f' ({where})' if where else ''}, {summary.source}"]
    for n, sentence in enumerate(summary.sentences, 1):
        lines.append(f"{n}. «{sentence.text}» — символы {sentence.start}–{sentence.end}")
    return lines


def _format(reply) -> str:
    """A reply for the terminal: the quote and its source, then the passages (or an article's summary)."""
    lines = []
    if reply.notice:
        lines.append(reply.notice)
    if reply.summary is not None:
        return "\n".join(lines + _format_summary(reply.summary))
    if reply.answer is not None:
        top = reply.passages[0]
        lines.append(f"{'Возможно: ' if reply.tentative else ''}«{reply.answer}»")
        where = ", ".join(x for x in (top.date, top.publisher) if x)
        lines.append(f"— {top.title}{f' ({where})' if where else ''}, {top.source}, "
                     f"символы {reply.quote_start}–{reply.quote_end}")
    elif reply.why is not None:
        lines.append(f"Причина: {reply.why.russian}.")
    if reply.passages:
        lines.append("\nИсточники:" if reply.answer is not None else "\nБлижайшие отрывки:")
        for n, p in enumerate(reply.passages, 1):
            lines.append(f"{n}. [{p.score:.3f}] {p.title} — {p.source}:{p.start}-{p.end}")
            lines.append("   " + p.text.replace("\n", "\n   "))
    return "\n".join(lines)


@cli.command("ask")
@click.argument("question", required=False)
@index_option
@click.option("-k", "k", type=click.IntRange(1, MAX_K), default=DEFAULT_K, show_default=True, help="Passages to return.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per question.")
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="Only articles dated this day or later.")
@click.option("--until", default=None, metavar="YYYY-MM-DD", help="Only articles dated this day or earlier.")
@click.option("--publisher", default=None, help="Only articles of this publisher (any case).")
@click.option("--after", "history", multiple=True, metavar="QUESTION",
              help="An earlier question of the conversation (repeatable, oldest first): a follow-up such as "
                   "«А когда?» is completed from it. Typed questions in an interactive session are remembered.")
def ask_command(question: str | None, index: Path | None, k: int, as_json: bool, since: str | None,
                until: str | None, publisher: str | None, history: tuple[str, ...]) -> None:
    """Answer QUESTION, or each line of standard input when QUESTION is left out.

    Without --since/--until, a question about the news that names a period ("Что писали о визах в марте
    2024?") searches the articles of that period; the answer says so."""
    from rag.search.answer import answer

    index = index or default_index()
    history = list(history)

    def reply(text: str) -> None:
        result = answer(text, k=k, index=index, history=history, since=since, until=until, publisher=publisher)
        click.echo(json.dumps(result.to_json(), ensure_ascii=False) if as_json else _format(result))

    if question is not None:
        reply(question)
        return
    interactive = sys.stdin.isatty() and not as_json
    while True:
        if interactive:
            click.echo("\nВопрос (пустая строка — выход): ", nl=False)
        line = sys.stdin.readline()
        if not line or (interactive and not line.strip()):
            break
        if line.strip():
            reply(line.rstrip("\n"))
            sys.stdout.flush()
            if interactive:
                history.append(line.strip())


@cli.command("remove")
@click.argument("source")
@corpus_option
@index_option
def remove_command(source: str, corpus: Path | None, index: Path | None) -> None:
    """Delete the article SOURCE (its name as `rag status` lists it) from the corpus folder and the index;
    only its passages are deleted, nothing is re-embedded."""
    from rag.articles import remove_article

    click.echo(remove_article(corpus or default_corpus(), source, index=index or default_index()).summary())


def _read_article(file: Path, limit: int | None = None) -> bytes:
    """The bytes of an article file given on the command line; a file over `limit` (default: the limit of an
    added article) is refused by its size, unread."""
    from rag.articles import MAX_ADD_BYTES

    limit = limit or MAX_ADD_BYTES
    with file.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise RagError(f"{file} is too large ({size // 1024} KiB; an article is at most {limit // 1024} KiB)")
        return fh.read(limit + 1)


def _deprecated(old: str, new: str):
    """A click callback for the hidden option `old`, the old name of `new`: it still works for this release, and
    says so on standard error."""

    def warn(ctx: click.Context, param: click.Parameter, value):
        if value is not None:
            click.echo(f"warning: {old} is deprecated and goes in 0.2: use {new}", err=True)
        return value

    return warn


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
"""What a link starts with (http:, https:, and file:, javascript:, ... which are refused): not a file's name."""


@cli.command("add")
@click.argument("file")
@click.option("--title", default=None, help="Its title (default: its front matter's, else its file name).")
@click.option("--date", default=None, metavar="YYYY-MM-DD", help="Its date (default: its front matter's, or "
              "a leading `date YYYY-MM-DD`).")
@click.option("--publisher", default=None, help="Its publisher, e.g. Zakon.kz.")
@click.option("--source", "old_publisher", default=None, hidden=True, callback=_deprecated("--source", "--publisher"))
@click.option("--url", default=None, help="Its link (http:// or https://).")
@click.option("--name", default=None, help="Its file name in the corpus folder (default: FILE's name; "
              "made safe, and never replacing a file).")
@click.option("--timeout", type=click.FloatRange(0.1), default=None, metavar="SECONDS",
              help="For a link: how long the fetch may take (default: $RAG_FETCH_TIMEOUT or 20).")
@corpus_option
@index_option
def add_command(file: str, title: str | None, date: str | None, publisher: str | None, old_publisher: str | None,
                url: str | None, name: str | None, timeout: float | None, corpus: Path | None,
                index: Path | None) -> None:
    """Save the article FILE (.txt or .md, up to 1 MiB) into the corpus folder and index it alone, as the
    chat's add does: checked first (suffix, size, encoding, empty text, a duplicate of an article already
    there), so a refused file writes nothing.

    FILE may also be a link (http:// or https://: the page is fetched) or a saved page (.html, up to 5 MiB):
    its article text, title, date, publisher and link are extracted from the page; the article already
    indexed under the same link is replaced when its text changed."""
    from rag.articles import add_article
    from rag.ingest import pages

    corpus, index = corpus or default_corpus(), index or default_index()
    publisher = publisher or old_publisher
    web = bool(_SCHEME.match(file)) and not Path(file).exists()
    if web or pages.is_html(file):
        if any((title, date, publisher, url, name)):
            raise RagError("--title, --date, --publisher, --url and --name are for .txt/.md files: a web page's "
                           "come from the page")
        if web:
            added = pages.add_url(file, corpus, index=index, timeout=timeout)
        else:
            added = pages.add_html(_read_article(Path(file), pages.MAX_PAGE_BYTES), corpus, index=index,
                                   filename=Path(file).name)
        click.echo(f"{'replaced' if added.replaced else 'added'} {added.path}")
        click.echo(added.report.summary())
        return
    added = add_article(corpus, title=title or "", data=_read_article(Path(file)), filename=name or Path(file).name,
                        date=date, publisher=publisher, url=url, index=index)
    click.echo(f"added {added.path}")
    click.echo(added.report.summary())


@cli.command("replace")
@click.argument("source")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@corpus_option
@index_option
def replace_command(source: str, file: Path, corpus: Path | None, index: Path | None) -> None:
    """Give the indexed article SOURCE the text of FILE (.txt or .md) and update the index; the article keeps
    its name, and its title, date, publisher and link unless FILE's front matter gives others. (Editing the
    corpus file and running `rag index` does the same.)"""
    from rag.articles import replace_article

    click.echo(replace_article(corpus or default_corpus(), source, index=index or default_index(),
                               data=_read_article(file), filename=file.name).summary())


@cli.group("feeds", cls=Group)
def feeds_group() -> None:
    """Follow news feeds (RSS, Atom, news sitemaps): their new items are fetched and added as articles."""


@feeds_group.command("add")
@click.argument("url")
@index_option
def feeds_add_command(url: str, index: Path | None) -> None:
    """Follow the feed URL (read once now to check it; `rag feeds update` fetches its items)."""
    from rag.ingest.feeds import add_feed

    feed = add_feed(url, index=index or default_index())
    click.echo(f"following {feed.url}" + (f" ({feed.title})" if feed.title else ""))


@feeds_group.command("list")
@index_option
@click.option("--json", "as_json", is_flag=True, help="The feeds as a JSON list.")
def feeds_list_command(index: Path | None, as_json: bool) -> None:
    """The feeds followed, with when each was last read and how many items it gave."""
    from rag.ingest.feeds import list_feeds

    feeds = list_feeds(index or default_index())
    if as_json:
        click.echo(json.dumps([f.to_json(seen=False) for f in feeds], ensure_ascii=False, indent=1))
        return
    for f in feeds:
        click.echo(f"{f.url}\t{f.title or ''}\tread {f.updated_at or 'never'}, {len(f.seen)} item(s)")
    if not feeds:
        click.echo("no feeds: add one with rag feeds add URL")


@feeds_group.command("remove")
@click.argument("url")
@index_option
def feeds_remove_command(url: str, index: Path | None) -> None:
    """Stop following the feed URL; the articles it gave stay."""
    from rag.ingest.feeds import remove_feed

    remove_feed(url, index=index or default_index())
    click.echo(f"no longer following {url}")


@feeds_group.command("update")
@corpus_option
@index_option
@click.option("--delay", type=click.FloatRange(0), default=None, metavar="SECONDS",
              help="Pause between two requests to one site (default: $RAG_FEED_DELAY or 1).")
def feeds_update_command(corpus: Path | None, index: Path | None, delay: float | None) -> None:
    """One pass over every feed (for cron): new items fetched, added and indexed; unchanged feeds cost one
    conditional request. Exit status 3 when some items were skipped (each is listed)."""
    from rag.ingest.feeds import update_feeds

    report = update_feeds(corpus or default_corpus(), index or default_index(), delay=delay)
    for link, reason in report.skipped:
        click.echo(f"skipped: {link}: {reason}", err=True)
    click.echo(report.summary())
    if report.skipped:
        sys.exit(EXIT_SKIPPED)


def _pending(index: Path, corpus: Path | None, manifest: Manifest) -> dict:
    """What the corpus holds that the index does not, as lists of sources (or the reason it cannot be read)."""
    from rag.index.update import pending

    try:
        report = pending(index, corpus, manifest)
    except RagError as exc:
        return {"error": str(exc)}
    return {"added": report.added, "changed": report.changed, "removed": report.removed,
            "skipped": {s.source: s.reason for s in report.skipped}}


@cli.command("status")
@index_option
@click.option("--corpus", type=click.Path(path_type=Path), default=None,
              help="Corpus folder to compare with the index (default: the one it was built from).")
@click.option("--json", "as_json", is_flag=True, help="The whole manifest as JSON: model, fitted settings, "
              "articles with content hashes, passages, segments; and what the corpus holds that the index does not.")
def status_command(index: Path | None, corpus: Path | None, as_json: bool) -> None:
    """Show what the index holds (model, articles, passages, segments, build time) and which articles of the
    corpus it does not hold yet (a `stat` per corpus file; only new or changed files are read)."""
    index = index or default_index()
    version, m = store.read_manifest(index)
    pending = _pending(index, corpus, m)
    if as_json:
        click.echo(json.dumps({"index": str(index.resolve()), "version": version, **m.to_json(listing=True), "pending": pending},
                              ensure_ascii=False, indent=1))
        return
    click.echo(f"index:    {index.resolve()} ({version})")
    click.echo(f"model:    {m.model} ({m.dimension} dimensions)")
    click.echo(f"articles: {len(m.articles)}")
    click.echo(f"passages: {m.passages} (chunks of {m.fitted.chunk_size} characters, {m.fitted.chunk_overlap} overlap)")
    if m.remote:
        click.echo(f"backend:  {m.backend.kind} at {m.backend.uri}, collection {m.backend.collection}")
    else:
        approximate = sum(s.approximate for s in m.segments)
        click.echo(f"segments: {len(m.segments)} vector segment(s), {approximate} of them HNSW")
    click.echo(f"built:    {m.built_at}")
    for source, a in islice(m.articles.items(), STATUS_ARTICLES):
        click.echo(f"  {source}: {a.title}{' (' + a.date + ')' if a.date else ''}, {a.passages} passages")
    if len(m.articles) > STATUS_ARTICLES:
        click.echo(f"  … and {len(m.articles) - STATUS_ARTICLES} more (rag status --json lists them all)")
    where = corpus or m.corpus
    if "error" in pending:
        click.echo(f"corpus:   {pending['error']}")
        return
    waiting = [(kind, source) for kind in ("added", "changed", "removed") for source in pending[kind]]
    click.echo(f"corpus:   {where}: " + (f"{len(waiting)} article(s) not in the index yet: run: rag index"
                                          if waiting else "the index holds every article")
               + (f" ({len(pending['skipped'])} file(s) skipped)" if pending["skipped"] else ""))
    for kind, source in waiting[:STATUS_ARTICLES]:
        click.echo(f"  {'new' if kind == 'added' else kind}: {source}")
    for source, reason in list(pending["skipped"].items())[:STATUS_ARTICLES]:
        click.echo(f"  skipped: {source}: {reason}")


def check_port(host: str, port: int) -> None:
    """Stop with one line saying what to do when `port` is taken, before anything loads (Gradio's own message
    names a variable the command line overrides)."""
    import socket

    try:
        socket.create_server((host, port)).close()
    except OSError:
        other = port + 1 if port < 65535 else port - 1
        raise click.ClickException(f"port {port} on {host} is taken (is the chat already running? Ctrl+C stops it "
                                   f"there): stop it, or pick another port: make run PORT={other}, "
                                   f"rag serve --port {other} or RAG_PORT={other}") from None


@cli.command("serve")
@corpus_option
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True,
              envvar=["RAG_PORT", "GRADIO_SERVER_PORT"], help="Port to listen on ($RAG_PORT, $GRADIO_SERVER_PORT).")
@click.option("--share", is_flag=True, help="Also open a public Gradio share link (needs --auth or --read-only).")
@click.option("--auth", "logins", multiple=True, metavar="USER:PASSWORD",
              help="Require this login (repeatable); a file is safer: see --auth-file.")
@click.option("--auth-file", type=click.Path(path_type=Path), default=None,
              help="Require a login from this file, one USER:PASSWORD a line.")
@click.option("--read-only", is_flag=True, help="Questions only: no adding articles.")
@click.option("--follow", type=click.FloatRange(1), default=None, metavar="MINUTES",
              help="Update the feeds (rag feeds update) every MINUTES while the chat runs.")
@click.option("--questions-per-minute", type=click.IntRange(0), default=QUESTIONS_PER_MINUTE, show_default=True,
              help="Questions one client address may ask the chat a minute (0: no limit, for load tests).")
def serve_command(corpus: Path | None, index: Path | None, host: str, port: int, share: bool,
                  logins: tuple[str, ...], auth_file: Path | None, read_only: bool, follow: float | None,
                  questions_per_minute: int) -> None:
    """Open the web chat; articles added there are saved into the corpus folder.

    Beyond loopback (a --host other than 127.0.0.0/8, ::1 or localhost, or --share) it needs --auth,
    --auth-file or --read-only, so that nobody on the network can add articles unasked.
    """
    import ipaddress

    def login(line: str, where: str) -> tuple[str, str]:
        user, colon, password = line.partition(":")
        if not (colon and user.strip() and password):
            raise click.ClickException(f"{where} is not USER:PASSWORD")  # never echo what may be a password
        return user.strip(), password

    accounts = [login(value, "an --auth value") for value in logins]
    if auth_file is not None:
        try:
            lines = auth_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not readable as UTF-8 text"
            raise click.ClickException(f"--auth-file {auth_file}: {reason}") from None
        found = [login(line, f"--auth-file {auth_file} line {n}")
                 for n, line in enumerate(lines, 1) if line.strip() and not line.lstrip().startswith("#")]
        if not found:
            raise click.ClickException(f"--auth-file {auth_file} holds no USER:PASSWORD line")
        accounts += found

    def loopback(name: str) -> bool:
        try:
            return name.lower() == "localhost" or ipaddress.ip_address(name).is_loopback
        except ValueError:
            return False

    if (share or not loopback(host)) and not (accounts or read_only):
        exposed = "--share opens a public link" if share else f"--host {host} listens beyond this machine"
        raise click.ClickException(f"{exposed}, so anyone could add articles: add --auth USER:PASSWORD, "
                                   "--auth-file FILE or --read-only")

    check_port(host, port)
    from ui.app import serve

    if follow is not None:
        import threading

        from rag.ingest.feeds import follow as follow_feeds
        from rag.search.live import open_index

        follow_feeds(corpus or default_corpus(), index or default_index(), follow, threading.Event(),
                     on_update=lambda report: report.index and open_index(index or default_index()))
    serve(index=index or default_index(), corpus=corpus or default_corpus(), host=host, port=port, share=share,
          read_only=read_only, auth=accounts or None, questions_per_minute=questions_per_minute)


main = cli
