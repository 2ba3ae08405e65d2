"""``frugalclip-device``: run the live classifier, describe a bundle and this machine.

Errors become one line on stderr and an exit code. Exit code 2 is for a bad bundle, source
or option, and for a run that classified no frame (a camera that never delivered one, for
example). Exit code 1 is for a CSV or summary that cannot be written and for a source that
broke mid-run. In that case the run summary follows the error on stderr.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from .bundle import BundleError
from .energy import EnergyChoice, EnergySourceError
from .energy.estimate import DEFAULT_POWER_PER_CPU_W
from .energy.pmic import DEFAULT_PERIOD_S as PMIC_DEFAULT_PERIOD_S
from .energy.run_tracker import DEFAULT_COUNTRY
from .frame_log import FrameLogError
from .capture import DEFAULT_OPEN_TIMEOUT_S, FrameDelivery
from .sources import PicameraPixelFormat, SourceConfigError
from .summary_text import summary_lines

__all__ = ["app"]

logger = logging.getLogger(__name__)

EXIT_RUNTIME_ERROR = 1
EXIT_CONFIG_ERROR = 2

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="frugalclip device runtime: classify camera frames with ONNX Runtime, log latency and energy per frame.",
)

SysfsRoot = Annotated[
    Path,
    typer.Option(
        "--sysfs-root", envvar="FRUGALCLIP_SYSFS_ROOT", hidden=True, help="Root under which /sys and /proc/device-tree are read (tests)."
    ),
]
VcgencmdPath = Annotated[
    str, typer.Option("--vcgencmd", envvar="FRUGALCLIP_VCGENCMD", hidden=True, help="vcgencmd executable (tests use a fake).")
]


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _parse_size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) < 1 or int(height) < 1:
        raise typer.BadParameter(f"invalid size {text!r}: expected WIDTHxHEIGHT in pixels, e.g. 640x480")
    return int(width), int(height)


@app.command()
def run(
    model: Annotated[Path, typer.Option("--model", help="Bundle folder written by `make export`, e.g. models/demo.")],
    source: Annotated[
        str,
        typer.Option(
            "--source",
            help="picamera2[:N], webcam:N or /dev/videoN (OpenCV), a video file, or an image folder or glob.",
        ),
    ],
    log: Annotated[Path, typer.Option("--log", help="Folder for the per-frame CSV and the run summary; a new file per run.")] = Path("runs"),
    max_frames: Annotated[int | None, typer.Option("--max-frames", min=1, help="Stop after this many frames. Default: no limit.")] = None,
    duration: Annotated[float | None, typer.Option("--duration", min=0.0, help="Stop after this many seconds. Default: no limit.")] = None,
    open_timeout_s: Annotated[
        float,
        typer.Option(
            "--open-timeout-s",
            min=0.0,
            help="Stop with an error when the source has delivered no frame within this many seconds of the start; "
            "0: wait forever. A camera that fails after its first frame is reopened with backoff instead.",
        ),
    ] = DEFAULT_OPEN_TIMEOUT_S,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="ONNX Runtime intra-op threads. Default: physical cores.")] = None,
    spinning: Annotated[
        bool, typer.Option("--spinning/--no-spinning", help="Let idle ONNX Runtime threads busy-wait: a little faster, more energy.")
    ] = False,
    min_confidence: Annotated[
        float, typer.Option("--min-confidence", min=0.0, max=1.0, help="Below this top-1 probability (0..1) the label is `uncertain`.")
    ] = 0.0,
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Number of classes written in the top_k column.")] = 3,
    smooth: Annotated[int, typer.Option("--smooth-frames", min=1, help="Average probabilities over the last N frames; 1: off.")] = 1,
    variant: Annotated[str | None, typer.Option("--variant", help="Model variant of the bundle. Default: its default_variant.")] = None,
    loop: Annotated[bool, typer.Option("--loop/--no-loop", help="Restart image folders and video files at the end.")] = False,
    every_frame: Annotated[
        bool | None,
        typer.Option(
            "--every-frame/--newest-only",
            help="every-frame: capture waits until inference took the previous frame, so every frame is classified "
            "in order and none is dropped. newest-only: inference takes the newest frame and the frames it skipped "
            "count as dropped. Default: every-frame for image folders, globs and video files; newest-only for "
            "picamera2 and webcams.",
            show_default=False,
        ),
    ] = None,
    fps: Annotated[
        float,
        typer.Option(
            "--fps", min=0.0, help="Frame rate requested from cameras, and pace of image folders and video files (frames/s); 0: source default."
        ),
    ] = 0.0,
    size: Annotated[str, typer.Option("--size-px", help="Camera stream size WIDTHxHEIGHT in pixels.")] = "640x480",
    pixel_format: Annotated[
        PicameraPixelFormat, typer.Option("--pixel-format", help="picamera2 stream format (RGB888 arrives as B,G,R and is converted).")
    ] = PicameraPixelFormat.RGB888,
    energy: Annotated[EnergyChoice, typer.Option("--energy", help="Energy source; auto: PMIC, else RAPL, else estimate.")] = EnergyChoice.AUTO,
    sensor_period_ms: Annotated[
        float, typer.Option("--pmic-period-ms", min=10.0, help="PMIC sampling period in milliseconds (each sample runs vcgencmd).")
    ] = PMIC_DEFAULT_PERIOD_S * 1000,
    cpu_power_w: Annotated[
        float | None,
        typer.Option(
            "--cpu-power-w",
            min=0.0,
            help="CPU power constant in watts for --energy estimate. "
            f"Default: codecarbon's figure for this CPU, else {DEFAULT_POWER_PER_CPU_W:g} W per logical CPU.",
        ),
    ] = None,
    # One flag instead of --codecarbon/--no-codecarbon: a second column of negative flags
    # would squeeze the option names in an 80-column --help until rich cuts them off.
    no_codecarbon: Annotated[
        bool,
        typer.Option(
            "--no-codecarbon",
            help="Do not track the whole run with codecarbon. By default codecarbon (if installed) records energy and CO2 estimates.",
        ),
    ] = False,
    country: Annotated[str, typer.Option("--country", help="ISO 3166-1 alpha-3 country for codecarbon's CO2 intensity.")] = DEFAULT_COUNTRY,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress and sensor details to stderr.")] = False,
    sysfs_root: SysfsRoot = Path("/"),
    vcgencmd: VcgencmdPath = "vcgencmd",
) -> None:
    """Classify frames from a camera, video or image folder; write one CSV row per frame and a summary."""
    _setup_logging(verbose)
    from .runner import RunConfig, RunFailure, StopRequest  # onnxruntime loads here, after option parsing

    delivery: FrameDelivery | None = None  # None: the source kind picks the default
    if every_frame is None:
        delivery = None
    elif every_frame:
        delivery = FrameDelivery.EVERY_FRAME
    else:
        delivery = FrameDelivery.NEWEST_ONLY

    config = RunConfig(
        model_dir=model,
        source=source,
        log_dir=log,
        variant=variant,
        max_frames=max_frames,
        duration_s=duration,
        open_timeout_s=open_timeout_s,
        threads=threads,
        spinning=spinning,
        min_confidence=min_confidence,
        top_k=top_k,
        smooth_frames=smooth,
        loop=loop,
        delivery=delivery,
        fps=fps,
        size_px=_parse_size(size),
        pixel_format=pixel_format,
        energy=energy,
        pmic_period_s=sensor_period_ms / 1000,
        cpu_power_w=cpu_power_w,
        codecarbon=not no_codecarbon,
        country=country,
        sysfs_root=sysfs_root,
        vcgencmd=vcgencmd,
    )

    stop = StopRequest()
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, lambda number, _frame: stop.request(signal.Signals(number).name))

    try:
        result = _run_with_progress(config, stop)
    except (BundleError, SourceConfigError, EnergySourceError, ValueError) as error:
        raise _fail(str(error), EXIT_CONFIG_ERROR) from None
    except FrameLogError as error:
        raise _fail(str(error), EXIT_RUNTIME_ERROR) from None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    if result.failure is RunFailure.NO_FRAMES:
        raise _fail(str(result.error), EXIT_CONFIG_ERROR)
    if result.failed:
        typer.echo(f"error: {result.error}", err=True)
        typer.echo(json.dumps(result.summary, indent=2), err=True)
        raise typer.Exit(EXIT_RUNTIME_ERROR)
    for line in summary_lines(result.summary):
        typer.echo(line)
    typer.echo(f"CSV: {result.csv_path}")
    typer.echo(f"summary JSON: {result.summary_path}")


def _run_with_progress(config: Any, stop: Any) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .runner import run_live

    console = Console(stderr=True)
    columns = [SpinnerColumn(), TextColumn("frames"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("frames", total=config.max_frames)
        return run_live(config, stop_event=stop, on_progress=lambda frames: progress.update(task, completed=frames))


@app.command()
def info(
    model: Annotated[Path | None, typer.Option("--model", help="Bundle folder to check (checksums, variants, labels).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
    cpu_power_w: Annotated[
        float | None,
        typer.Option(
            "--cpu-power-w",
            min=0.0,
            help="CPU power constant in watts to show for the estimate. "
            f"Default: codecarbon's figure for this CPU, else {DEFAULT_POWER_PER_CPU_W:g} W per logical CPU.",
        ),
    ] = None,
    sysfs_root: SysfsRoot = Path("/"),
    vcgencmd: VcgencmdPath = "vcgencmd",
) -> None:
    """Describe a bundle (checksums, variants), this machine and the energy sensors found."""
    _setup_logging(False)
    from .info import bundle_info, energy_info, system_info
    from .vcgencmd import Vcgencmd

    runner = Vcgencmd(vcgencmd)
    report: dict[str, Any] = {}
    if model is not None:
        report["bundle"] = bundle_info(model)
    report["system"] = system_info(sysfs_root, runner)
    report["energy"] = energy_info(sysfs_root, runner, cpu_power_w)

    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        from rich.console import Console

        from .info_text import render_info

        render_info(report, Console())
    if model is not None and "error" in report["bundle"]:
        raise _fail(report["bundle"]["error"], EXIT_CONFIG_ERROR)


try:
    from .bench.cli import register as _register_bench
except ModuleNotFoundError as error:
    if error.name != f"{__package__}.bench.cli" and error.name != f"{__package__}.bench":
        raise
else:
    _register_bench(app)
