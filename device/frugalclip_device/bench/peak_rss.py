"""Peak resident memory of one model variant, measured in a fresh Python process.

The benchmark process itself keeps every variant and all images at once, so its own peak
says nothing about one variant. ``measure_variant_peak_rss`` starts this module as a script,
which loads the bundle's variant, classifies the given images one by one, as the live
runtime does, and prints its peak RSS as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["measure_variant_peak_rss", "process_peak_rss_bytes"]

logger = logging.getLogger(__name__)

_TIMEOUT_S = 600


def process_peak_rss_bytes() -> int:
    """Return this process's peak resident set size in bytes.

    Reads VmHWM from /proc/self/status where it exists: unlike ``ru_maxrss``, which Linux
    carries over from the parent when a forked child calls exec, VmHWM belongs to the
    process's own address space. Elsewhere falls back to ``ru_maxrss`` (KiB on Linux,
    bytes on macOS).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # the value is in kB
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) * (1 if sys.platform == "darwin" else 1024)


def measure_variant_peak_rss(bundle_dir: Path, variant: str, threads: int, image_paths: list[Path]) -> int:
    """Return the peak RSS in bytes of a fresh process that runs ``variant`` on ``image_paths``."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(str(path) for path in image_paths))
        list_path = Path(handle.name)
    command = [
        sys.executable, "-m", "frugalclip_device.bench.peak_rss",
        "--model", str(bundle_dir), "--variant", variant, "--threads", str(threads), "--image-list", str(list_path),
    ]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
    finally:
        list_path.unlink(missing_ok=True)
    if completed.returncode != 0:
        raise RuntimeError(
            f"peak RSS measurement of variant {variant!r} failed with exit code {completed.returncode}: "
            f"{completed.stderr.strip()[-500:]}"
        )
    return int(json.loads(completed.stdout.strip().splitlines()[-1])["peak_rss_bytes"])


def _main() -> None:
    parser = argparse.ArgumentParser(description="Print the peak RSS of classifying images with one bundle variant.")
    parser.add_argument("--model", type=Path, required=True, help="bundle folder")
    parser.add_argument("--variant", required=True, help="variant name, e.g. int8-dynamic-x86")
    parser.add_argument("--threads", type=int, required=True, help="ONNX Runtime intra-op threads")
    parser.add_argument("--image-list", type=Path, required=True, help="text file with one image path per line")
    arguments = parser.parse_args()

    from ..bundle import load_bundle
    from ..preprocess import load_image_rgb, preprocess_image
    from ..session import Classifier

    bundle = load_bundle(arguments.model, verify_checksums=False)
    classifier = Classifier.from_bundle(bundle, arguments.variant, threads=arguments.threads)
    for line in arguments.image_list.read_text().splitlines():
        if line.strip():
            classifier.predict(preprocess_image(load_image_rgb(Path(line)), bundle.contract)[None])
    print(json.dumps({"peak_rss_bytes": process_peak_rss_bytes()}))


if __name__ == "__main__":
    _main()
