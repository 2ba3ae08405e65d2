"""The ``frugalclip prepare`` command: clean, reduce and split an ImageFolder tree."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from frugalclip_host.data.options import PrepareOptions
from frugalclip_host.data.prepare import DataError, PreparedData, prepare_dataset

__all__ = ["DATA_ERROR_EXIT_CODE", "register"]

logger = logging.getLogger(__name__)

DATA_ERROR_EXIT_CODE = 2

_DEFAULTS = PrepareOptions()


def _print_summary(console: Console, prepared: PreparedData) -> None:
    counts = prepared.report["counts"]
    per_split = counts["per_split"]
    table = Table(title=f"Prepared data in {prepared.out_dir}")
    for column in ("class", "files", "kept", "train", "val", "test"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name in prepared.classes:
        table.add_row(
            name,
            str(counts["per_class_before"][name]),
            str(counts["per_class_after"][name]),
            str(per_split["train"][name]),
            str(per_split["val"][name]),
            str(per_split["test"][name]),
        )
    console.print(table)
    console.print(
        f"{counts['files_dropped']} files dropped, {counts['images_changed']} changed, "
        f"{counts['images_flagged']} flagged. Report: {prepared.summary_path}"
    )


def register(app: typer.Typer) -> None:
    """Add the ``prepare`` command to the frugalclip CLI."""

    @app.command("prepare")
    def prepare(
        source: Annotated[
            Path, typer.Argument(help="ImageFolder tree SOURCE/<class>/<images>; only read, never modified.")
        ],
        out: Annotated[
            Path,
            typer.Option(
                "--out",
                help="Output folder for train/, val/, test/ and the data report; new, empty or an earlier output.",
            ),
        ],
        max_side_px: Annotated[
            int,
            typer.Option(help="Resize so the longer side is at most this many pixels (never upscales)."),
        ] = _DEFAULTS.max_side_px,
        min_side_px: Annotated[
            int,
            typer.Option(help="Model input size in pixels: resizing never makes the shorter side smaller."),
        ] = _DEFAULTS.min_side_px,
        max_per_class: Annotated[
            int | None,
            typer.Option(help="Keep at most this many images per class, sampled with --seed; unset keeps all."),
        ] = _DEFAULTS.max_per_class,
        min_per_class: Annotated[
            int, typer.Option(help="Reject a class that keeps fewer images than this after cleaning.")
        ] = _DEFAULTS.min_per_class,
        val_fraction: Annotated[
            float, typer.Option(help="Fraction of each class's images for validation, 0 to 1.")
        ] = _DEFAULTS.val_fraction,
        test_fraction: Annotated[
            float, typer.Option(help="Fraction of each class's images for the test split, 0 to 1.")
        ] = _DEFAULTS.test_fraction,
        seed: Annotated[int, typer.Option(help="Random seed of the class cap and the split.")] = _DEFAULTS.seed,
        near_duplicate_max_distance: Annotated[
            int,
            typer.Option(
                help="Near duplicates: max Hamming distance in bits between 64-bit perceptual hashes (0 to 64)."
            ),
        ] = _DEFAULTS.near_duplicate_max_distance,
        near_duplicate_max_color_difference: Annotated[
            float,
            typer.Option(
                help="Near duplicates: max colour difference of a perceptual-hash match, in 8-bit levels "
                "(0 to 510; 510 accepts every match)."
            ),
        ] = _DEFAULTS.near_duplicate_max_color_difference,
    ) -> None:
        """Clean, deduplicate, reduce and split an image folder; write a data report.

        Drops undecodable, truncated, empty and non-image files, converts images to RGB,
        applies EXIF orientation, drops exact duplicates and label conflicts, and keeps each
        group of near duplicates in one split. data_report.json lists every change.
        """
        console = Console()
        error_console = Console(stderr=True)
        try:
            options = PrepareOptions(
                max_side_px=max_side_px,
                min_side_px=min_side_px,
                max_per_class=max_per_class,
                min_per_class=min_per_class,
                val_fraction=val_fraction,
                test_fraction=test_fraction,
                seed=seed,
                near_duplicate_max_distance=near_duplicate_max_distance,
                near_duplicate_max_color_difference=near_duplicate_max_color_difference,
            )
            prepared = prepare_dataset(source, out, options)
        except DataError as error:
            error_console.print(f"Error: {error}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(DATA_ERROR_EXIT_CODE) from error
        _print_summary(console, prepared)
