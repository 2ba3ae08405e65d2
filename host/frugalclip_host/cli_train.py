"""The ``frugalclip train`` command: train a CLIP image classifier on a prepared folder.

Also runs on its own, for multi-process training:
``accelerate launch --multi_gpu --num_processes 2 -m frugalclip_host.cli_train train PREPARED --out DIR``.
On CPUs, set ``ACCELERATE_USE_CPU=1``: in accelerate 1.16, ``accelerate launch --cpu
--num_processes 2`` without mpirun starts a single process.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .model_source import DEFAULT_MODEL_ID, ModelSourceError, load_clip
from .train import TRAIN_RESULT_FILE, TrainMethod, TrainOptions, TrainResult, train_classifier
from .train.prepared_data import read_prepared
from .weights_kind import WeightsKind

__all__ = ["TRAIN_ERROR_EXIT_CODE", "parse_trainable_blocks", "register"]

logger = logging.getLogger(__name__)

TRAIN_ERROR_EXIT_CODE = 2
TINY_CLIP_DIR = "tiny-clip"  # inside --out, where --fallback-tiny builds the tiny CLIP

_DEFAULTS = TrainOptions()


def parse_trainable_blocks(value: str) -> int | None:
    """Return the number of blocks for ``--trainable-blocks``, or None for "all"."""
    if value.strip().lower() == "all":
        return None
    if not re.fullmatch(r"\d+", value.strip()):
        raise typer.BadParameter(f"{value!r} is not a whole number of blocks or 'all'")
    return int(value)


def _print_result(console: Console, result: TrainResult, out: Path) -> None:
    if result.weights != WeightsKind.PRETRAINED.value:
        console.print(
            f"[yellow]weights are {result.weights}: these accuracies say nothing about CLIP "
            "(the model starts from random initialisation)[/]"
        )
    val = "n/a" if result.best_val_accuracy is None else f"{result.best_val_accuracy:.3f}"
    test = "n/a" if result.test_accuracy is None else f"{result.test_accuracy:.3f}"
    console.print(
        f"{result.method}: {result.epochs_run} epochs (best {result.best_epoch}"
        f"{', stopped early' if result.stopped_early else ''}), validation accuracy {val}, test accuracy {test}"
    )
    if result.energy_kwh is not None:
        console.print(f"energy {result.energy_kwh:.6f} kWh, {result.co2_kg:.6f} kg CO2 ({result.energy_note})")
    else:
        console.print(f"energy: {result.energy_note}")
    console.print(f"classifier: {result.classifier_dir}; result: {out / TRAIN_RESULT_FILE}")


def register(app: typer.Typer) -> None:
    """Add the ``train`` command to the frugalclip CLI."""

    @app.command("train")
    def train(
        prepared_dir: Annotated[
            Path, typer.Argument(help="Prepared folder: train/, val/, test/ of <class>/ images and classes.json.")
        ],
        out: Annotated[
            Path, typer.Option("--out", help="Output folder: classifier/, train_result.json, checkpoints/, emissions.csv.")
        ],
        model: Annotated[
            str, typer.Option(help="Hugging Face Hub id or local directory of a CLIP model.")
        ] = DEFAULT_MODEL_ID,
        fallback_tiny: Annotated[
            bool,
            typer.Option(
                "--fallback-tiny",
                help="If the model cannot be loaded from the Hub, use a tiny CLIP with random weights "
                "(built in OUT/tiny-clip); its accuracy says nothing about CLIP.",
            ),
        ] = False,
        method: Annotated[TrainMethod, typer.Option(help="Training method: zero-shot (no training), linear-probe (head only, frugal) or fine-tune.")] = _DEFAULTS.method,
        epochs: Annotated[int, typer.Option(min=1, help="Maximum number of epochs.")] = _DEFAULTS.epochs,
        batch_size: Annotated[int, typer.Option(min=1, help="Images per batch and process.")] = _DEFAULTS.batch_size,
        lr: Annotated[
            float | None,
            typer.Option(help="AdamW learning rate; default 1e-3 for linear-probe, 1e-5 for fine-tune."),
        ] = None,
        trainable_blocks: Annotated[
            str,
            typer.Option(help="fine-tune: number of last vision blocks to train, or 'all' (use 'all' for the tiny CLIP)."),
        ] = str(_DEFAULTS.trainable_blocks),
        patience: Annotated[
            int, typer.Option(min=1, help="Stop after this many epochs without a better validation accuracy.")
        ] = _DEFAULTS.patience,
        seed: Annotated[int, typer.Option(help="Seed of torch, NumPy, random, shuffling and augmentation.")] = _DEFAULTS.seed,
        country: Annotated[
            str, typer.Option(help="ISO 3166-1 alpha-3 country code of the grid, for codecarbon's CO2 estimate.")
        ] = _DEFAULTS.country_iso_code,
        resume: Annotated[
            bool, typer.Option("--resume", help="Continue from OUT/checkpoints/last.pt if it exists.")
        ] = False,
        cache_dir: Annotated[
            Path | None,
            typer.Option(help="Embedding cache of linear-probe and zero-shot; default OUT/embedding-cache."),
        ] = None,
        no_energy: Annotated[
            bool, typer.Option("--no-energy", help="Do not run codecarbon (no energy or CO2 figures).")
        ] = False,
    ) -> None:
        """Train a CLIP image classifier (zero-shot, linear-probe or fine-tune) on a prepared folder."""
        console = Console()
        try:
            options = TrainOptions(
                method=method,
                epochs=epochs,
                batch_size=batch_size,
                lr=lr,
                trainable_blocks=parse_trainable_blocks(trainable_blocks),
                patience=patience,
                seed=seed,
                country_iso_code=country,
                resume=resume,
                cache_dir=cache_dir,
                measure_energy=not no_energy,
            )
            read_prepared(prepared_dir)  # fail on a wrong folder before the model download
            loaded = load_clip(model, fallback_tiny_dir=out / TINY_CLIP_DIR if fallback_tiny else None)
            result = train_classifier(prepared_dir, loaded, options, out)
        except (ModelSourceError, FileNotFoundError, ValueError) as error:
            Console(stderr=True, soft_wrap=True).print(f"[red]error:[/] {error}", highlight=False, markup=True)
            raise typer.Exit(TRAIN_ERROR_EXIT_CODE) from None
        # Under accelerate, every process returns a result; one summary is enough.
        if os.environ.get("RANK", "0") == "0":
            _print_result(console, result, out)
        _release_process_group()


def _release_process_group() -> None:
    """Destroy the torch.distributed group that accelerate opened, if any.

    A gloo group left alive at interpreter exit can abort the process ("terminate called
    without an active exception") after training has already succeeded.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def main() -> None:
    """Run ``train`` as a standalone program, as `accelerate launch -m frugalclip_host.cli_train` does."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True)

    @app.callback()
    def configure() -> None:
        """Train a frugalclip classifier."""
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

    register(app)
    app()


if __name__ == "__main__":
    main()
