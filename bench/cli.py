"""The `rag-bench` command: tune, evaluate and benchmark the product (`rag` and the chat never need it).

    rag-bench tune --xquad ../shared/data/xquad-ru-dev.json --xquad-en ../shared/data/xquad-en-dev.json --write
    rag-bench eval [--questions corpus/eval/questions.jsonl]
    rag-bench eval --feedback                 # the questions readers marked 👎 in the chat
    rag-bench followups [--questions corpus/eval/followups.jsonl] [--xquad ../shared/data/xquad-ru-dev.json]
    rag-bench quality --xquad ../shared/data/xquad-ru-dev.json --out docs/benchmarks.md
    rag-bench load --out docs/load.md

Errors are reported as by `rag` (one line, exit status 1), with the same logging. `quality` and `load`
hand their options to `bench.quality` and `bench.load` as they are (`rag-bench quality --help` lists them).
"""

from __future__ import annotations

from pathlib import Path

import click

from bench import seed
from rag.cli import Group, index_option, setup_logging
from rag.settings import default_index

_PASS_THROUGH = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}
"""Click settings for a command whose every argument, --help included, goes to an argparse main."""


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Tune, evaluate and benchmark question answering over Russian news articles."""
    setup_logging()


@cli.command("tune")
@click.option("--xquad", type=click.Path(path_type=Path), default=Path("../shared/data/xquad-ru-dev.json"),
              show_default=True, help="XQuAD-ru dev file (SQuAD format); skipped when absent.")
@click.option("--xquad-en", type=click.Path(path_type=Path), default=Path("../shared/data/xquad-en-dev.json"),
              show_default=True, help="The same questions in English, asked over the Russian articles.")
@click.option("--questions", type=click.Path(path_type=Path), multiple=True, show_default=True,
              default=[Path("corpus/eval/questions.jsonl"), Path("corpus/eval/questions-cross.jsonl")],
              help="Question sets about the seed article (JSON lines); repeat the option for several.")
@click.option("--seed", "seed_article", type=click.Path(path_type=Path), default=seed.PATH, show_default=True,
              help="The seed article the article questions are about (../shared; skipped when absent).")
@click.option("--model", default=None, help="The model to fit (default: the default model).")
@click.option("--keep-retrieval", is_flag=True,
              help="Keep the model's recorded chunking, stems, fusion and re-scoring; refit what comes after.")
@click.option("--keep-quote", is_flag=True,
              help="Keep the model's recorded key quote weighting and margin too (windows and the answer-type rule are refitted).")
@click.option("--cache", type=click.Path(dir_okay=False, path_type=Path),
              help="A file (.npz) keeping the passages' vectors between runs (delete it when encoding changes).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="A Markdown file (docs/benchmarks.md) to write the confusion table per set into, as a section.")
@click.option("--write", is_flag=True, help="Record the fitted values for the model; new indexes take them.")
def tune_command(xquad: Path, xquad_en: Path, questions: tuple[Path, ...], seed_article: Path, model: str | None,
                 keep_retrieval: bool, keep_quote: bool, cache: Path | None, out: Path | None, write: bool) -> None:
    """Fit chunking, fusion weights, no-answer thresholds and quote choice for a model on development data."""
    from bench.tune import tune
    from rag.fitted import record

    fitted = tune(xquad, xquad_en, list(questions), seed_article, model, echo=click.echo,
                  keep_retrieval=keep_retrieval, keep_quote=keep_quote, cache=cache, out=out)
    if write:
        from rag.models import shared_model

        click.echo(f"recorded in {record(shared_model(model).name, fitted)}")


@cli.command("eval")
@index_option
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=Path("corpus/eval/questions.jsonl"), show_default=True,
              help="JSON lines: question, answer (exact words from the article, or null), kind.")
@click.option("--feedback", is_flag=True, help="Instead: the questions readers marked 👎 in the chat (the index's "
              "feedback.jsonl), asked again, as a Markdown report.")
def eval_command(index: Path | None, questions: Path, feedback: bool) -> None:
    """Measure retrieval, quotes and abstention on an evaluation question set (or report readers' 👎)."""
    if feedback:
        from bench.feedback import report

        click.echo(report(index or default_index()))
        return
    from bench.evaluation import evaluate

    click.echo(evaluate(questions, index=index or default_index()).format())


@cli.command("followups")
@index_option
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=Path("corpus/eval/followups.jsonl"), show_default=True,
              help="JSON lines: history (earlier questions), question, answer (exact words), kind.")
@click.option("--xquad", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="XQuAD-ru dev file: also ask the XQuAD follow-ups, over a new index of it and the seed article.")
@click.option("--seed", "seed_article", type=click.Path(path_type=Path), default=seed.PATH, show_default=True,
              help="The seed article, for the index built with --xquad.")
def followups_command(index: Path | None, questions: Path, xquad: Path | None, seed_article: Path) -> None:
    """Measure follow-up questions: completed from the earlier ones when elliptical, unchanged otherwise."""
    import tempfile

    from bench.followups import build_with_xquad, evaluate, report

    if xquad is None:
        click.echo(report(evaluate(questions, index=index or default_index())))
        return
    if (why := seed.missing(seed_article)) is not None:
        raise click.UsageError(why)
    with tempfile.TemporaryDirectory() as work:
        built = build_with_xquad(Path(work), seed_article, xquad)
        click.echo(report(evaluate(questions, index=built, xquad=True)))


@cli.command("quality", context_settings=_PASS_THROUGH, add_help_option=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def quality_command(args: tuple[str, ...]) -> None:
    """Quality, speed and memory against LangChain + FAISS (`rag-bench quality --help` for the options)."""
    from bench.quality import main

    main(list(args), prog="rag-bench quality")


@cli.command("load", context_settings=_PASS_THROUGH, add_help_option=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def load_command(args: tuple[str, ...]) -> None:
    """Throughput and latency under many threads and HTTP clients (`rag-bench load --help` for the options)."""
    from bench.load import main

    main(list(args), prog="rag-bench load")


main = cli
