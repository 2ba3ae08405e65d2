"""Host benchmark rows: MAC counting, the matmul ceiling, and the naive baseline added to a real result."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "device"))
from bundle_factory import make_bundle  # noqa: E402

from frugalclip_device.bench.runner import BenchSettings, run_benchmark  # noqa: E402
from frugalclip_host.bench.host_rows import BaselineSourceError, add_host_rows, resolve_clip_dir  # noqa: E402
from frugalclip_host.bench.mac_count import count_macs_per_image  # noqa: E402
from frugalclip_host.bench.machine_ceiling import measure_peak_gmacs  # noqa: E402
from frugalclip_host.bench.naive_baseline import prompts_for  # noqa: E402

LABELS = ("astronaut", "cat", "coffee")


def test_mac_count_conv_bundle(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", labels=LABELS, image_size=32, conv_channels=4)
    conv = 32 * 32 * 4 * 3 * 7 * 7  # output pixels x channels x (input channels x kernel area)
    head = 4 * len(LABELS)
    assert count_macs_per_image(bundle / "model-fp32.onnx") == conv + head


def test_mac_count_batched_matmul(tmp_path: Path) -> None:
    weight = numpy_helper.from_array(np.ones((16, 8), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 5, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 5, 8])], [weight],
    )
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    assert count_macs_per_image(path) == 5 * 8 * 16


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_ceiling_positive_rate(precision: str) -> None:
    assert measure_peak_gmacs(precision, 1, side=128, repeats=2) > 0.0


def test_ceiling_unknown_precision() -> None:
    with pytest.raises(ValueError, match="fp32 or int8"):
        measure_peak_gmacs("fp8", 1)


def test_prompts_use_words() -> None:
    assert prompts_for(["white_glass", "cat"]) == ["a photo of a white glass", "a photo of a cat"]


def _photo_dir(root: Path) -> Path:
    from PIL import Image
    from skimage import data

    for label, photo in zip(LABELS, (data.astronaut(), data.chelsea(), data.coffee())):
        (root / label).mkdir(parents=True)
        Image.fromarray(photo).save(root / label / f"{label}.png")
    return root


@pytest.fixture(scope="module")
def host_result(tmp_path_factory: pytest.TempPathFactory, tiny_clip_dir: Path) -> dict:
    root = tmp_path_factory.mktemp("host-rows")
    bundle = make_bundle(root / "bundle", labels=LABELS, image_size=224, variants=("fp32", "int8-dynamic-x86"))
    settings = BenchSettings(threads=[1], runs=1, warmup=1, measure_rss=False)
    result, _ = run_benchmark(bundle, _photo_dir(root / "photos"), settings, command="test", run_command=None)
    return add_host_rows(result, clip_model=tiny_clip_dir, measure_rss=True)


def test_baseline_row_added(host_result: dict) -> None:
    baseline = [row for row in host_result["rows"] if row["kind"] == "naive-baseline"]
    assert len(baseline) == 1
    assert baseline[0]["threads"] == 1
    assert baseline[0]["latency_total_ms"]["count"] == len(LABELS)


def test_baseline_peak_rss_measured(host_result: dict) -> None:
    baseline = next(row for row in host_result["rows"] if row["kind"] == "naive-baseline")
    assert baseline["peak_rss_bytes"] > 100 * 2**20  # PyTorch and transformers alone take more


def test_baseline_labelled_tiny(host_result: dict) -> None:
    baseline = next(row for row in host_result["rows"] if row["kind"] == "naive-baseline")
    assert baseline["weights"] == "tiny-random-init"


def test_bundle_rows_get_speedup(host_result: dict) -> None:
    row = next(row for row in host_result["rows"] if row["variant"] == "fp32")
    assert row["vs_baseline"]["speedup_p50_total"] > 0.0


def test_ceiling_recorded(host_result: dict) -> None:
    assert host_result["ceiling"]["fp32_gmacs_per_s"]["1"] > 0.0
    assert host_result["ceiling"]["int8_gmacs_per_s"]["1"] > 0.0


def test_bundle_rows_get_ceiling_percent(host_result: dict) -> None:
    row = next(row for row in host_result["rows"] if row["variant"] == "fp32")
    assert row["ceiling_percent"] > 0.0


def test_resolve_clip_dir_missing_source(tmp_path: Path) -> None:
    result = {"bundle": {"source_model": {"id": "openai/clip-vit-base-patch32"}, "weights": "pretrained"}}
    with pytest.raises(BaselineSourceError, match="--clip-model"):
        resolve_clip_dir(result, None, tmp_path)
