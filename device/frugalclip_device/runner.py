"""The live classifier: next frame → preprocess → ONNX Runtime → top-k → one CSV row.

Only the main loop touches the session. Capture, system readings and PMIC sampling run in
their own threads at their own rates, so the per-frame path makes no subprocess call and
reads no sysfs file (RAPL counters excepted: one ``pread`` per domain per frame).
"""

from __future__ import annotations

import enum
import logging
import platform
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .bundle import Bundle, load_bundle
from .capture import DEFAULT_OPEN_TIMEOUT_S, CaptureThread, FrameDelivery, FrameSlot, default_delivery
from .energy import PMIC_DEFAULT_PERIOD_S, EnergyChoice, EnergyMeter, select_energy_meter
from .energy.run_tracker import DEFAULT_COUNTRY, RunEmissions, RunEmissionsTracker
from .frame_log import FrameLog, FrameLogError
from .postprocess import Postprocessor
from .preprocess import preprocess_array
from .session import Classifier
from .sources import FrameSource, PicameraPixelFormat, SourceConfigError, SourceError, classify_source, open_source
from .sources.base import monotonic_ns
from .summary import FrameStats, latency_percentiles_ms, throttling_summary, write_summary
from .system_readings import SystemSampler, SystemSensors
from .vcgencmd import Vcgencmd

__all__ = ["DEFAULT_OPEN_TIMEOUT_S", "RunConfig", "RunFailure", "RunResult", "StopReason", "StopRequest", "run_live"]

logger = logging.getLogger(__name__)

ROLLING_FPS_FRAMES = 30
TAKE_TIMEOUT_S = 0.5
PROGRESS_PERIOD_NS = 500_000_000
# Warn when a camera delivers less than this share of the requested frame rate.
FPS_SHORTFALL_WARNING = 0.8


class StopRequest(threading.Event):
    """An event that also records why the run was asked to stop (``SIGINT``, ``SIGTERM``)."""

    reason: str | None = None

    def request(self, reason: str) -> None:
        self.reason = reason
        self.set()


class StopReason:
    MAX_FRAMES = "max-frames"
    DURATION = "duration"
    SOURCE_ENDED = "source ended"
    SOURCE_ERROR = "source error"
    CSV_ERROR = "csv write error"
    OPEN_TIMEOUT = "open timeout"


class RunFailure(enum.Enum):
    """The cause of a failed run, from which the CLI picks the exit code and the output."""

    NO_FRAMES = "no frames"  # the run ended without classifying a single frame
    SOURCE = "source"  # the source stopped working in a way that reopening cannot fix
    OUTPUT_WRITE = "output write"  # the CSV or the summary could not be written


@dataclass
class RunConfig:
    """Everything ``frugalclip-device run`` sets; the CLI's help gives units and defaults."""

    model_dir: Path
    source: str
    log_dir: Path = Path("runs")
    variant: str | None = None
    max_frames: int | None = None
    duration_s: float | None = None
    # 0: wait for the first frame for as long as the run lasts.
    open_timeout_s: float = DEFAULT_OPEN_TIMEOUT_S
    threads: int | None = None
    spinning: bool = False
    min_confidence: float = 0.0
    top_k: int = 3
    smooth_frames: int = 1
    loop: bool = False
    # None: every-frame for image folders and video files, newest-only for cameras.
    delivery: FrameDelivery | None = None
    fps: float = 0.0
    size_px: tuple[int, int] = (640, 480)
    pixel_format: PicameraPixelFormat = PicameraPixelFormat.RGB888
    energy: EnergyChoice = EnergyChoice.AUTO
    pmic_period_s: float = PMIC_DEFAULT_PERIOD_S
    cpu_power_w: float | None = None
    codecarbon: bool = True
    country: str = DEFAULT_COUNTRY
    sysfs_root: Path = Path("/")
    vcgencmd: str = "vcgencmd"


@dataclass
class RunResult:
    summary: dict[str, Any]
    csv_path: Path | None
    summary_path: Path | None
    error: str | None = None
    failure: RunFailure | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


def _utc_text(epoch_s: float) -> str:
    whole = int(epoch_s)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((epoch_s - whole) * 1000):03d}Z"


def _optional(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


@dataclass
class _Parts:
    """Everything a run opens, so that ``_close`` can release what was opened."""

    bundle: Bundle
    classifier: Classifier
    source: FrameSource
    source_opened: bool
    sensors: SystemSensors
    meter: EnergyMeter
    log: FrameLog
    tracker: RunEmissionsTracker | None = None
    sampler: SystemSampler | None = None
    capture: CaptureThread | None = None
    buffer: FrameSlot = field(default_factory=FrameSlot)


def _open_parts(config: RunConfig) -> _Parts:
    """Load the bundle and session, build the source, sensors, meter and CSV.

    Raises BundleError, SourceConfigError, EnergySourceError, FrameLogError or ValueError.
    """
    bundle = load_bundle(config.model_dir)
    classifier = Classifier.from_bundle(bundle, config.variant, threads=config.threads, spinning=config.spinning)
    source = open_source(
        config.source, size_px=config.size_px, fps=config.fps, loop=config.loop, pixel_format=config.pixel_format
    )
    source_opened = True
    try:
        source.open()
    except SourceConfigError:
        raise
    except (SourceError, OSError) as error:
        logger.info("opening %s failed: %s; the capture thread retries with backoff", source.describe(), error)
        source_opened = False

    meter: EnergyMeter | None = None
    try:
        vcgencmd = Vcgencmd(config.vcgencmd)
        sensors = SystemSensors(config.sysfs_root, vcgencmd)
        meter = select_energy_meter(
            config.energy,
            sysfs_root=config.sysfs_root,
            vcgencmd=vcgencmd,
            pmic_period_s=config.pmic_period_s,
            cpu_power_w=config.cpu_power_w,
        )
        name = bundle.manifest.get("name") or bundle.path.name
        log = FrameLog(config.log_dir, datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + f"-{name}")
    except BaseException:
        source.close()
        if meter is not None:
            meter.stop()
        raise
    delivery = config.delivery or default_delivery(classify_source(config.source))
    return _Parts(bundle, classifier, source, source_opened, sensors, meter, log, buffer=FrameSlot(delivery))


class _LiveLoop:
    """The per-frame loop; ``run`` returns the stop reason."""

    def __init__(self, config: RunConfig, parts: _Parts, stop_event: threading.Event, on_progress: Callable[[int], None] | None) -> None:
        self.config = config
        self.parts = parts
        self.stop_event = stop_event
        self.on_progress = on_progress
        self.postprocess = Postprocessor(
            parts.bundle.labels, top_k=config.top_k, min_confidence=config.min_confidence, smooth_frames=config.smooth_frames
        )
        self.stats = FrameStats()
        self.source_name = parts.source.name
        self.energy_source = parts.meter.kind.value
        self.frame_starts_ns: deque[int] = deque(maxlen=ROLLING_FPS_FRAMES + 1)
        self.error: str | None = None
        self.failure: RunFailure | None = None

    def _rolling_fps(self) -> float:
        starts = self.frame_starts_ns
        if len(starts) < 2:
            return 0.0
        return (len(starts) - 1) / ((starts[-1] - starts[0]) / 1e9)

    def _deadline_reached(self, started_ns: int) -> bool:
        duration_s = self.config.duration_s
        return duration_s is not None and (monotonic_ns() - started_ns) / 1e9 >= duration_s

    def _first_frame_overdue(self, started_ns: int) -> bool:
        """True when the source has delivered no frame at all within ``--open-timeout-s``."""
        timeout_s = self.config.open_timeout_s
        capture = self.parts.capture
        if timeout_s <= 0 or capture is None or capture.stats.captured_frames > 0:
            return False
        return (monotonic_ns() - started_ns) / 1e9 >= timeout_s

    def run(self, started_ns: int) -> str | None:
        """Process frames until a stop condition; return the reason (None: stopped by a signal)."""
        parts, config, stats = self.parts, self.config, self.stats
        capture, buffer, classifier = parts.capture, parts.buffer, parts.classifier
        log_ms = ""
        last_progress_ns = 0
        # Set after each frame, not each take: a wait spans every take that timed out.
        wait_start_ns = monotonic_ns()

        while not self.stop_event.is_set():
            if config.max_frames is not None and stats.frames >= config.max_frames:
                return StopReason.MAX_FRAMES
            if self._deadline_reached(started_ns):
                return StopReason.DURATION

            frame = buffer.take(TAKE_TIMEOUT_S)
            if frame is None:
                if buffer.closed and not buffer.pending:
                    fatal = capture.stats.fatal_error if capture else None
                    if fatal:
                        self.error = fatal
                        self.failure = RunFailure.SOURCE
                        return StopReason.SOURCE_ERROR
                    return StopReason.SOURCE_ENDED
                if self._first_frame_overdue(started_ns):
                    self.error = _no_frame_message(parts, f"in {config.open_timeout_s:g} s", timed_out=True)
                    self.failure = RunFailure.NO_FRAMES
                    return StopReason.OPEN_TIMEOUT
                continue

            t0 = monotonic_ns()
            self.frame_starts_ns.append(t0)
            image = preprocess_array(frame.image, classifier.contract)
            t1 = monotonic_ns()
            probabilities = classifier.predict(image)
            t2 = monotonic_ns()
            prediction = self.postprocess(probabilities)
            t3 = monotonic_ns()

            energy = parts.meter.frame(t3)
            readings = parts.sampler.latest if parts.sampler else None
            total_ms = (t3 - t0) / 1e6
            inference_ms = (t2 - t1) / 1e6
            preprocess_ms = (t1 - t0) / 1e6
            row = (
                _utc_text(frame.captured_utc_s),
                stats.frames,
                self.source_name,
                frame.origin,
                prediction.label,
                f"{prediction.confidence:.4f}",
                prediction.top_k_text(),
                f"{frame.capture_ms:.3f}",
                f"{(t0 - frame.captured_ns) / 1e6:.3f}",
                f"{(t0 - wait_start_ns) / 1e6:.3f}",
                f"{preprocess_ms:.3f}",
                f"{inference_ms:.3f}",
                f"{(t3 - t2) / 1e6:.3f}",
                f"{total_ms:.3f}",
                log_ms,
                f"{self._rolling_fps():.2f}",
                buffer.dropped_count,
                capture.stats.corrupt_frames if capture else 0,
                capture.stats.source_failures if capture else 0,
                _optional(readings.cpu_temp_c if readings else None, 1),
                _optional(readings.cpu_freq_mhz if readings else None, 0),
                hex(readings.throttled_flags) if readings and readings.throttled_flags is not None else "",
                f"{energy.power_w:.4f}",
                f"{energy.energy_j:.6f}",
                self.energy_source,
                _optional(readings.rss_mb if readings else None, 1),
            )
            try:
                parts.log.write_row(row)
            except FrameLogError as error:
                self.error = str(error)
                self.failure = RunFailure.OUTPUT_WRITE
                return StopReason.CSV_ERROR
            stats.add(
                total_ms=total_ms,
                inference_ms=inference_ms,
                preprocess_ms=preprocess_ms,
                label=prediction.label,
                energy_j=energy.energy_j,
            )
            t4 = monotonic_ns()
            stats.log_ms_sum += (t4 - t3) / 1e6
            log_ms = f"{(t4 - t3) / 1e6:.3f}"

            if self.on_progress is not None and t4 - last_progress_ns >= PROGRESS_PERIOD_NS:
                self.on_progress(stats.frames)
                last_progress_ns = t4
            wait_start_ns = monotonic_ns()
        return None


def _no_frame_message(parts: _Parts, when: str, *, timed_out: bool = False) -> str:
    """Build the one-line error of a run without frames: the source, its failures and what to check."""
    source = parts.source
    stats = parts.capture.stats if parts.capture else None
    failures = stats.source_failures if stats else 0
    corrupt = stats.corrupt_frames if stats else 0
    details = [f"{failures} failed opens or reads"]
    if corrupt:
        details.append(f"{corrupt} corrupt frames skipped")
    last_failure = (stats.fatal_error or stats.last_failure) if stats else None
    if last_failure:
        details.append(f"last error: {last_failure}")
    fix = source.no_frame_hint()
    if timed_out:
        fix += ", or raise --open-timeout-s"
    return f"{source.describe()} delivered no frame {when} ({', '.join(details)}). {fix}."


def _build_summary(
    config: RunConfig,
    parts: _Parts,
    loop: _LiveLoop,
    *,
    stop_reason: str,
    elapsed_s: float,
    emissions: RunEmissions | None,
) -> dict[str, Any]:
    stats = loop.stats
    capture_stats = parts.capture.stats if parts.capture else None
    sampler = parts.sampler
    bundle = parts.bundle
    energy_per_frame = stats.energy_j_sum / stats.energy_frames if stats.energy_frames else None
    captured = capture_stats.captured_frames if capture_stats else 0
    source_fps = captured / elapsed_s if elapsed_s > 0 else None
    weights = bundle.weights
    return {
        "frugalclip_device": __version__,
        "started_utc": datetime.fromtimestamp(time.time() - elapsed_s, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "stop_reason": stop_reason,
        "error": loop.error,
        "bundle": {
            "path": str(bundle.path),
            "name": bundle.manifest.get("name"),
            "variant": parts.classifier.variant,
            "weights": weights,
            "note": None if weights == "pretrained" else f"{weights} weights: the labels are not meaningful predictions",
        },
        "source": parts.source.describe(),
        "frame_delivery": parts.buffer.delivery.value,
        "machine": {"platform": platform.platform(), "machine": platform.machine(), "threads": parts.classifier.threads},
        "frames": stats.frames,
        "duration_s": round(elapsed_s, 3),
        "fps": round(stats.frames / elapsed_s, 3) if elapsed_s > 0 else None,
        "source_fps": round(source_fps, 3) if source_fps is not None else None,
        "latency_ms": latency_percentiles_ms(stats.total_ms),
        "inference_ms": latency_percentiles_ms(stats.inference_ms),
        "preprocess_ms": latency_percentiles_ms(stats.preprocess_ms),
        "runtime_overhead_fraction": stats.overhead_fraction(),
        "energy": {
            "source": parts.meter.kind.value,
            "description": parts.meter.describe(),
            "per_frame_j": round(energy_per_frame, 6) if energy_per_frame is not None else None,
            "total_j": round(stats.energy_j_sum, 6),
        },
        "codecarbon_estimate": None
        if emissions is None
        else {
            "energy_kwh": emissions.energy_kwh,
            "co2_kg": emissions.co2_kg,
            "country": emissions.country,
            "file": str(emissions.output_file),
            "note": "codecarbon estimate from its constants and models, not a measurement",
        },
        "labels": dict(stats.label_counts.most_common()),
        "dropped_frames": parts.buffer.dropped_count,
        "corrupt_frames": capture_stats.corrupt_frames if capture_stats else 0,
        "source_failures": capture_stats.source_failures if capture_stats else 0,
        "source_reopens": capture_stats.reopens if capture_stats else 0,
        "max_cpu_temp_c": sampler.max_temp_c if sampler else None,
        "throttling": throttling_summary(sampler.throttled_seen if sampler and parts.sensors.has_throttled else None),
        "csv": str(parts.log.path),
    }


def _warmup(classifier: Classifier) -> None:
    """Run one inference on a black image so the first logged frame does not pay for ONNX Runtime's setup."""
    size = classifier.contract.image_size
    classifier.predict(np.zeros((1, size, size, 3), dtype=np.uint8))


def run_live(
    config: RunConfig,
    *,
    stop_event: threading.Event | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Run the live classifier until a stop condition or ``stop_event``; write CSV and summary.

    Configuration errors (bundle, source, energy source, CSV creation) raise before any
    frame. A CSV that fails mid-run stops the run and comes back in ``RunResult.error``.
    """
    stop_event = stop_event or threading.Event()
    parts = _open_parts(config)
    loop = _LiveLoop(config, parts, stop_event, on_progress)
    stop_reason: str | None = None
    emissions: RunEmissions | None = None
    started_ns = monotonic_ns()
    try:
        _warmup(parts.classifier)
        if config.codecarbon:
            parts.tracker = RunEmissionsTracker(config.log_dir / f"{parts.log.stem}.emissions.csv", country=config.country)
            if not parts.tracker.start():
                parts.tracker = None
        parts.sampler = SystemSampler(parts.sensors)
        parts.sampler.start()
        parts.capture = CaptureThread(parts.source, parts.buffer, opened=parts.source_opened)
        logger.info(
            "run started: %s on %s (%s), energy from %s, CSV %s",
            parts.classifier.model_path.name,
            parts.source.describe(),
            parts.buffer.delivery.value,
            parts.meter.describe(),
            parts.log.path,
        )
        started_ns = monotonic_ns()
        parts.meter.start(started_ns)
        parts.capture.start()
        stop_reason = loop.run(started_ns)
    finally:
        elapsed_s = (monotonic_ns() - started_ns) / 1e9
        if parts.capture is not None:
            parts.capture.stop()
            parts.capture.join(timeout=10)
        if parts.sampler is not None:
            parts.sampler.stop()
        parts.meter.stop()
        parts.log.close()
        if parts.tracker is not None:
            emissions = parts.tracker.stop()

    stop_reason = stop_reason or getattr(stop_event, "reason", None) or "stop requested"
    if loop.stats.frames == 0 and loop.failure in (None, RunFailure.SOURCE):
        # A run that classified nothing is a failure whatever stopped it, so scripts and
        # systemd see a non-zero exit status.
        loop.error = _no_frame_message(parts, f"before the run stopped (stop reason: {stop_reason})")
        loop.failure = RunFailure.NO_FRAMES
    summary = _build_summary(config, parts, loop, stop_reason=stop_reason, elapsed_s=elapsed_s, emissions=emissions)
    if config.fps > 0 and summary["source_fps"] is not None and summary["source_fps"] < FPS_SHORTFALL_WARNING * config.fps:
        logger.warning("the source delivered %.1f fps of the %.1f requested", summary["source_fps"], config.fps)

    summary_path: Path | None = None
    try:
        summary_path = write_summary(summary, config.log_dir / f"{parts.log.stem}.summary.json")
    except OSError as error:
        logger.error("cannot write the run summary next to %s: %s", parts.log.path, error)
        if loop.error is None:
            loop.error = f"cannot write the run summary: {error}"
            loop.failure = RunFailure.OUTPUT_WRITE
    logger.info("run stopped (%s) after %d frames", stop_reason, loop.stats.frames)
    return RunResult(summary, parts.log.path, summary_path, loop.error, loop.failure)
