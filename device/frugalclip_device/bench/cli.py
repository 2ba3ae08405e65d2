"""``frugalclip-device bench``: benchmark a bundle's variants on a labelled image folder."""

from __future__ import annotations

import logging
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..bundle import BundleError
from .dataset import DatasetError
from .result_schema import ResultFileError
from .runner import BenchSettings, default_thread_counts, result_path, run_benchmark, save_run
from .summary_table import render_rows

__all__ = ["parse_int_list", "parse_name_list", "print_skipped", "register", "run_with_progress"]

logger = logging.getLogger(__name__)

DEFAULT_RESULTS_DIR = Path("benchmarks/results")


def parse_int_list(text: str, option: str) -> list[int]:
    """Parse ``"1,2,4"`` into [1, 2, 4], raising typer.BadParameter that names ``option``."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(f"{option} takes comma-separated integers such as 1,2,4; got {text!r}") from None
    if not values:
        raise typer.BadParameter(f"{option} is empty; give comma-separated integers such as 1,2,4")
    return values


def parse_name_list(text: str | None) -> list[str] | None:
    """Parse ``"fp32,int8-dynamic-x86"`` into a list; None or an empty text means all."""
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def print_skipped(result: dict, path: Path, console: Console) -> None:
    """Print one warning line when undecodable images were left out of the run."""
    skipped = result["data"].get("skipped_images", 0)
    if skipped:
        console.print(f"[yellow]warning: skipped {skipped} undecodable image file(s); "
                      f"their paths are in data.skipped_image_paths of {path}[/yellow]")


def run_with_progress(model: Path, data: Path, settings: BenchSettings, console: Console) -> tuple[dict, list[dict]]:
    """Run the suite with a rich progress bar per variant and thread count."""
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    ) as progress:
        tasks: dict[str, int] = {}

        def on_progress(task: str, done: int, total: int) -> None:
            if task not in tasks:
                tasks[task] = progress.add_task(task, total=total)
            progress.update(tasks[task], completed=done)

        command = shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])
        return run_benchmark(model, data, settings, command=command, on_progress=on_progress)


def register(app: typer.Typer) -> None:
    """Add the ``bench`` command to the device CLI."""

    @app.command("bench")
    def bench(
        model: Annotated[Path, typer.Option(help="Bundle folder written by `make export`, e.g. models/demo.")],
        data: Annotated[Path, typer.Option(help="Image folder: class folders named as the bundle's labels, or a prepared folder (its test split is used).")],
        variants: Annotated[str | None, typer.Option(help="Comma-separated variants to run. Default: every variant of the bundle.")] = None,
        threads: Annotated[str, typer.Option(help="Comma-separated ONNX Runtime thread counts. Default: 1 and the physical core count.")] = "",
        runs: Annotated[int, typer.Option(min=1, help="Timed passes over the images per variant and thread count.")] = 3,
        warmup: Annotated[int, typer.Option(min=0, help="Untimed inferences before each variant's timed passes.")] = 5,
        batch_size: Annotated[int, typer.Option(min=1, help="Batch size of the batched throughput measurement, in images.")] = 8,
        limit: Annotated[int | None, typer.Option(min=1, help="Use at most this many images, taken in turn from each class folder. Default: all.")] = None,
        cooldown_s: Annotated[float, typer.Option(min=0.0, help="Seconds to wait between variants so the CPU cools down.")] = 0.0,
        country: Annotated[str, typer.Option(help="ISO alpha-3 country code of the grid for CO2 figures.")] = "FRA",
        rss: Annotated[bool, typer.Option(help="Measure each variant's peak RSS in a fresh process.")] = True,
        results_dir: Annotated[Path, typer.Option(help="Results root; the run goes to <results-dir>/<machine>/<timestamp>.json.")] = DEFAULT_RESULTS_DIR,
        out: Annotated[Path | None, typer.Option(help="Write the result JSON to this path instead of under --results-dir.")] = None,
    ) -> None:
        """Benchmark every variant of a bundle: accuracy, latency, throughput, memory, energy and CO2."""
        console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
        settings = BenchSettings(
            variants=parse_name_list(variants),
            threads=parse_int_list(threads, "--threads") if threads else default_thread_counts(),
            runs=runs, warmup=warmup, batch_size=batch_size, limit=limit, cooldown_s=cooldown_s,
            country=country, measure_rss=rss,
        )
        try:
            result, raw_rows = run_with_progress(model, data, settings, console)
            path = save_run(result, raw_rows, out or result_path(results_dir, result))
        except (BundleError, DatasetError, ResultFileError, ValueError, RuntimeError, OSError) as error:
            console.print(f"[red]error:[/red] {error}")
            raise typer.Exit(code=2) from None

        console.print(render_rows(result))
        print_skipped(result, path, console)
        if not result["valid"]:
            console.print(f"[yellow]result marked invalid: {'; '.join(result['invalid_reasons'])}[/yellow]")
        typer.echo(str(path))
