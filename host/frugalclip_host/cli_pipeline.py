"""The ``frugalclip export`` command: the whole pipeline from an image folder to a verified bundle."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from .model_source import DEFAULT_MODEL_ID
from .pipeline import DEFAULT_VARIANTS, TINY_EPOCHS, ExportOptions, ExportResult, PipelineError, PipelineStep, run_export
from .train.options import TrainMethod
from .quantize.presets import Target
from .verify import AccuracyBudgetError

__all__ = ["PIPELINE_ERROR_EXIT_CODE", "register"]

logger = logging.getLogger(__name__)

PIPELINE_ERROR_EXIT_CODE = 2
INTERRUPTED_EXIT_CODE = 130  # the shell's code for SIGINT


def _exit_with_error(console: Console, message: str, code: int = PIPELINE_ERROR_EXIT_CODE) -> NoReturn:
    # Collapse line breaks: ONNX Runtime and torch errors span several lines.
    console.print(f"[bold red]error:[/] {' '.join(message.split())}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _print_summary(console: Console, result: ExportResult) -> None:
    caveat = result.caveat
    if result.fell_back:
        console.print(
            "[bold yellow]The requested model could not be loaded: this bundle uses the embedded tiny CLIP "
            "with random initialisation.[/]"
        )
    console.print(result.table.to_rich(default_variant=result.choice.variant))
    console.print(f"default variant: [bold]{result.choice.variant}[/] ({result.choice.reason})")
    console.print(
        f"ONNX parity with PyTorch: max abs difference {result.parity.max_abs_difference:.1e} "
        f"on {result.parity.image_count} test images"
    )
    train = result.train_result
    if train.energy_kwh is not None:
        console.print(f"training energy: {train.energy_kwh:.2e} kWh, {train.co2_kg or 0:.2e} kg CO2eq (codecarbon estimate)")
    steps = ", ".join(f"{step.value} {seconds:.1f} s" for step, seconds in result.step_seconds.items())
    console.print(f"steps: {steps}")
    if caveat:
        console.print(f"[bold yellow]All metrics above {caveat}[/]")
    console.print(f"[bold green]bundle written:[/] {result.bundle_dir}  (wall time {result.wall_s:.1f} s)")


def register(app: typer.Typer) -> None:
    """Add the ``export`` command to the frugalclip CLI."""

    @app.command("export")
    def export(
        data: Annotated[
            Path | None,
            typer.Option(
                "--data",
                help="ImageFolder tree DATA/<class>/<images>, only read. Default: the embedded demo photos "
                "(scikit-image's 25x25 px grayscale faces and non-faces).",
            ),
        ] = None,
        model: Annotated[
            str, typer.Option("--model", help="Hugging Face Hub id or local CLIP directory.")
        ] = DEFAULT_MODEL_ID,
        name: Annotated[
            str | None,
            typer.Option("--name", help="Bundle name, the folder under --out-root. Default: the data folder's name, or 'demo'."),
        ] = None,
        out_root: Annotated[Path, typer.Option("--out-root", help="Folder that receives the bundle folder.")] = Path(
            "models"
        ),
        work_dir: Annotated[
            Path | None,
            typer.Option("--work-dir", help="Folder for intermediate files. Default: work/<name>."),
        ] = None,
        method: Annotated[
            TrainMethod | None,
            typer.Option(
                "--method",
                help="Training method. Default: linear-probe for a pretrained CLIP, fine-tune of all blocks "
                "for random-init weights.",
            ),
        ] = None,
        fallback_tiny: Annotated[
            bool,
            typer.Option(
                "--fallback-tiny",
                help="When --model cannot be loaded, use the embedded tiny CLIP with random initialisation "
                "(its metrics say nothing about CLIP).",
            ),
        ] = False,
        variants: Annotated[
            str,
            typer.Option(
                "--variants",
                help="Comma-separated variants to build besides fp32; an empty string builds fp32 only.",
            ),
        ] = ",".join(DEFAULT_VARIANTS),
        budget_points: Annotated[
            float,
            typer.Option(
                "--budget-points",
                min=0.0,
                help="Largest accuracy drop against fp32, in percentage points, that a default variant may have.",
            ),
        ] = 1.0,
        force: Annotated[
            bool,
            typer.Option(
                "--force",
                help="Write the bundle even when no variant meets the budget; fp32 is then the default variant.",
            ),
        ] = False,
        target: Annotated[
            Target,
            typer.Option(
                "--target",
                help="Device the bundle is for: among default candidates of equal size, its preset wins.",
            ),
        ] = Target.PI5,
        keep_all_variants: Annotated[
            bool,
            typer.Option(
                "--keep-all-variants/--only-default",
                help="Put every verified variant into the bundle, or only the default one.",
            ),
        ] = True,
        epochs: Annotated[
            int | None,
            typer.Option(
                "--epochs",
                min=1,
                help=f"Training epochs. Default: the method's default, or {TINY_EPOCHS} for random-init weights.",
            ),
        ] = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the split, training and sampling.")] = 0,
        country: Annotated[
            str,
            typer.Option("--country", help="ISO 3166 alpha-3 country code for codecarbon's carbon intensity."),
        ] = "FRA",
    ) -> None:
        """Prepare DATA, train, export to ONNX, quantize, verify every variant and write models/<name>."""
        console = Console()
        error_console = Console(stderr=True)
        options = ExportOptions(
            data=data,
            model=model,
            name=name,
            out_root=out_root,
            work_dir=work_dir,
            method=method,
            fallback_tiny=fallback_tiny,
            variants=[variant.strip() for variant in variants.split(",") if variant.strip()],
            budget_points=budget_points,
            force=force,
            target=target.value,
            keep_all_variants=keep_all_variants,
            epochs=epochs,
            seed=seed,
            country=country,
        )
        bundle_dir = Path(out_root) / options.resolved_name()

        def announce(step: PipelineStep, index: int, count: int) -> None:
            console.print(f"[bold cyan][{index}/{count}][/] {step.value}", highlight=False)

        try:
            result = run_export(options, on_step=announce)
        except PipelineError as error:
            if isinstance(error.error, AccuracyBudgetError):
                console.print(error.error.table_text, markup=False, soft_wrap=True)
            _exit_with_error(
                error_console, f"{str(error).rstrip('.')}. The previous bundle in {bundle_dir}, if any, is unchanged."
            )
        except ValueError as error:
            _exit_with_error(error_console, f"invalid option: {error}")
        except KeyboardInterrupt:
            _exit_with_error(
                error_console,
                f"interrupted. The previous bundle in {bundle_dir}, if any, is unchanged.",
                INTERRUPTED_EXIT_CODE,
            )
        _print_summary(console, result)
