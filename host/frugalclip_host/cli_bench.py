"""``frugalclip bench``: the host's benchmark commands (run with the naive baseline, baseline alone, compare)."""

from __future__ import annotations

import logging
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from frugalclip_device.bench.cli import DEFAULT_RESULTS_DIR, parse_int_list, parse_name_list, print_skipped, run_with_progress
from frugalclip_device.bench.dataset import DatasetError
from frugalclip_device.bench.result_schema import ResultFileError, load_result, write_result
from frugalclip_device.bench.runner import BenchSettings, default_thread_counts, result_path, save_run
from frugalclip_device.bench.summary_table import render_rows
from frugalclip_device.bundle import BundleError

from .bench.compare import render_report
from .bench.host_rows import BaselineSourceError, add_host_rows
from .bench.live_run import LiveRunError

__all__ = ["register"]

logger = logging.getLogger(__name__)

_EXPECTED_ERRORS = (BundleError, DatasetError, ResultFileError, BaselineSourceError, LiveRunError, ValueError,
                    RuntimeError, OSError)

bench_app = typer.Typer(
    help="Benchmark bundles against the naive transformers baseline and compare results.",
    no_args_is_help=True,
)


def _fail(console: Console, error: Exception) -> None:
    console.print(f"[red]error:[/red] {error}")
    raise typer.Exit(code=2)


@bench_app.command("run")
def run(
    model: Annotated[Path, typer.Option(help="Bundle folder written by `make export`, e.g. models/demo.")],
    data: Annotated[Path, typer.Option(help="Image folder: class folders named as the bundle's labels, or a prepared folder (its test split is used).")],
    variants: Annotated[str | None, typer.Option(help="Comma-separated variants to run. Default: every variant of the bundle.")] = None,
    threads: Annotated[str, typer.Option(help="Comma-separated thread counts, for ONNX Runtime and PyTorch alike. Default: 1 and the physical core count.")] = "",
    runs: Annotated[int, typer.Option(min=1, help="Timed passes over the images per variant and thread count.")] = 3,
    baseline_runs: Annotated[int | None, typer.Option(min=1, help="Timed passes of the naive baseline. Default: --runs.")] = None,
    warmup: Annotated[int, typer.Option(min=0, help="Untimed inferences before each variant's timed passes.")] = 5,
    batch_size: Annotated[int, typer.Option(min=1, help="Batch size of the batched throughput measurement, in images.")] = 8,
    limit: Annotated[int | None, typer.Option(min=1, help="Use at most this many images, taken in turn from each class folder. Default: all.")] = None,
    cooldown_s: Annotated[float, typer.Option(min=0.0, help="Seconds to wait between variants so the CPU cools down.")] = 0.0,
    country: Annotated[str, typer.Option(help="ISO alpha-3 country code of the grid for CO2 figures.")] = "FRA",
    rss: Annotated[bool, typer.Option(help="Measure each row's peak RSS in a fresh process.")] = True,
    baseline: Annotated[bool, typer.Option(help="Add the naive transformers baseline and the machine ceiling.")] = True,
    clip_model: Annotated[Path | None, typer.Option(help="CLIP directory for the baseline. Default: the bundle's source model.")] = None,
    results_dir: Annotated[Path, typer.Option(help="Results root; the run goes to <results-dir>/<machine>/<timestamp>.json.")] = DEFAULT_RESULTS_DIR,
    out: Annotated[Path | None, typer.Option(help="Write the result JSON to this path instead of under --results-dir.")] = None,
) -> None:
    """Run the device suite, then the naive baseline and machine ceiling on the same images and threads, into one result."""
    console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
    settings = BenchSettings(
        variants=parse_name_list(variants),
        threads=parse_int_list(threads, "--threads") if threads else default_thread_counts(),
        runs=runs, warmup=warmup, batch_size=batch_size, limit=limit, cooldown_s=cooldown_s,
        country=country, measure_rss=rss,
    )
    try:
        result, raw_rows = run_with_progress(model, data, settings, console)
        result["command"] = shlex.join(["frugalclip", *sys.argv[1:]])
        if baseline:
            _add_baseline_with_progress(result, clip_model, baseline_runs, rss, console)
        path = save_run(result, raw_rows, out or result_path(results_dir, result))
    except _EXPECTED_ERRORS as error:
        _fail(console, error)
    console.print(render_rows(result))
    print_skipped(result, path, console)
    typer.echo(str(path))


def _add_baseline_with_progress(result: dict, clip_model: Path | None, runs: int | None, rss: bool, console: Console) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console) as progress:
        tasks: dict[str, int] = {}

        def on_progress(task: str, done: int, total: int) -> None:
            if task not in tasks:
                tasks[task] = progress.add_task(task, total=total)
            progress.update(tasks[task], completed=done)

        add_host_rows(result, clip_model=clip_model, runs=runs, measure_rss=rss, on_progress=on_progress)


@bench_app.command("baseline")
def baseline(
    result_file: Annotated[Path, typer.Argument(help="Result JSON of `frugalclip-device bench`, updated in place.")],
    clip_model: Annotated[Path | None, typer.Option(help="CLIP directory for the baseline. Default: the bundle's source model.")] = None,
    runs: Annotated[int | None, typer.Option(min=1, help="Timed passes of the naive baseline. Default: the result's --runs.")] = None,
    rss: Annotated[bool, typer.Option(help="Measure the baseline's peak RSS in a fresh process.")] = True,
) -> None:
    """Add the naive transformers baseline and the machine ceiling to a result, on its images and thread counts."""
    console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
    try:
        result = load_result(result_file)
        _add_baseline_with_progress(result, clip_model, runs, rss, console)
        write_result(result, result_file)
    except _EXPECTED_ERRORS as error:
        _fail(console, error)
    console.print(render_rows(result))
    typer.echo(str(result_file))


@bench_app.command("compare")
def compare(
    inputs: Annotated[list[Path], typer.Argument(help="Result JSON files and live-run CSV files of `frugalclip-device run`.")],
    out: Annotated[Path, typer.Option(help="Markdown report to write; its plots go to a plots/ folder beside it.")] = Path("benchmarks/RESULTS.md"),
    title: Annotated[str, typer.Option(help="Title of the report.")] = "frugalclip benchmark results",
    notes: Annotated[Path | None, typer.Option(help="Markdown file inserted after the introduction, e.g. conditions of the runs.")] = None,
) -> None:
    """Merge results from any machines into one Markdown table with PNG plots."""
    console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
    try:
        render_report(inputs, out, title=title, notes=notes)
    except _EXPECTED_ERRORS as error:
        _fail(console, error)
    typer.echo(str(out))


def register(app: typer.Typer) -> None:
    """Add the ``bench`` sub-app to the host CLI."""
    app.add_typer(bench_app, name="bench")
