"""The ``frugalclip`` command line: one typer app that each step's module adds its commands to."""

from __future__ import annotations

import logging
from enum import Enum
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from . import cli_export_steps, cli_pipeline, cli_prepare, cli_train

try:
    from . import cli_bench
except ModuleNotFoundError as error:
    # Only the absence of cli_bench itself is expected; a missing dependency inside it is a bug.
    if error.name != f"{__package__}.cli_bench":
        raise
    cli_bench = None

__all__ = ["LogLevel", "app"]

logger = logging.getLogger(__name__)


class LogLevel(str, Enum):
    """Log levels accepted by --log-level."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


app = typer.Typer(
    name="frugalclip",
    help="Fine-tune CLIP as an image classifier, export it to ONNX, quantize it for ARM and bundle it "
    "for the Raspberry Pi runtime.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def configure(
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", help="Messages at this level and above go to stderr.")
    ] = LogLevel.WARNING,
) -> None:
    """Configure logging for every command."""
    logging.basicConfig(
        level=log_level.value.upper(),
        format="%(name)s: %(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False, show_time=False, markup=False)],
        force=True,
    )


cli_prepare.register(app)
cli_train.register(app)
cli_export_steps.register(app)
cli_pipeline.register(app)
if cli_bench is not None:
    cli_bench.register(app)
