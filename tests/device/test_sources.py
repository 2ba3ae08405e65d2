"""Frame sources: channel order of every source, picamera2 import errors, source selection."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from device_test_helpers import assert_patches_rgb, patch_image
from frugalclip_device.sources import (
    CorruptFrameError,
    EndOfSource,
    ImageFolderSource,
    Picamera2Source,
    PicameraPixelFormat,
    SourceConfigError,
    SourceKind,
    open_source,
)
from frugalclip_device.sources import classify_source
from frugalclip_device.sources.picamera import PICAMERA2_MISSING_MESSAGE

# How picamera2 lays out each format in NumPy.
PICAMERA_LAYOUTS = {
    PicameraPixelFormat.RGB888: lambda rgb: rgb[:, :, ::-1],
    PicameraPixelFormat.BGR888: lambda rgb: rgb,
    PicameraPixelFormat.XRGB8888: lambda rgb: np.dstack([rgb[:, :, ::-1], np.full(rgb.shape[:2], 255, np.uint8)]),
    PicameraPixelFormat.XBGR8888: lambda rgb: np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]),
}


def _fake_picamera2_module(array: np.ndarray, configs: list[dict]) -> types.ModuleType:
    """A picamera2 stand-in whose camera returns ``array`` from capture_array."""

    class FakePicamera2:
        def __init__(self, camera_num: int = 0) -> None:
            self.camera_num = camera_num

        def create_video_configuration(self, main: dict, controls: dict) -> dict:
            return {"main": main, "controls": controls}

        def configure(self, config: dict) -> None:
            configs.append(config)

        def start(self) -> None:
            pass

        def capture_array(self, stream: str = "main") -> np.ndarray:
            return array.copy()

        def stop(self) -> None:
            pass

        def close(self) -> None:
            pass

    module = types.ModuleType("picamera2")
    module.Picamera2 = FakePicamera2
    return module


@pytest.mark.parametrize("pixel_format", list(PicameraPixelFormat), ids=lambda f: f.value)
def test_picamera2_channel_order(monkeypatch: pytest.MonkeyPatch, pixel_format: PicameraPixelFormat) -> None:
    configs: list[dict] = []
    raw = PICAMERA_LAYOUTS[pixel_format](patch_image())
    monkeypatch.setitem(sys.modules, "picamera2", _fake_picamera2_module(np.ascontiguousarray(raw), configs))
    source = Picamera2Source(size_px=(48, 16), pixel_format=pixel_format, fps=30)
    source.open()
    frame = source.read()
    source.close()
    assert frame.image.shape == (16, 48, 3)
    assert frame.image.flags["C_CONTIGUOUS"]
    assert_patches_rgb(frame.image)
    assert configs[0]["main"] == {"size": (48, 16), "format": pixel_format.value}
    assert configs[0]["controls"] == {"FrameRate": 30.0}


def test_picamera2_four_channels_for_rgb888(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = PICAMERA_LAYOUTS[PicameraPixelFormat.XRGB8888](patch_image())
    monkeypatch.setitem(sys.modules, "picamera2", _fake_picamera2_module(np.ascontiguousarray(raw), []))
    source = Picamera2Source(pixel_format=PicameraPixelFormat.RGB888)
    source.open()
    with pytest.raises(CorruptFrameError, match="RGB888"):
        source.read()


def test_picamera2_missing_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)  # makes `import picamera2` raise ImportError
    source = open_source("picamera2")
    with pytest.raises(SourceConfigError) as raised:
        source.open()
    assert str(raised.value) == PICAMERA2_MISSING_MESSAGE
    assert PICAMERA2_MISSING_MESSAGE == (
        "picamera2 is not installed: on Raspberry Pi OS, `sudo apt install python3-picamera2` "
        "and create the venv with `--system-site-packages`"
    )


def test_device_package_import_skips_picamera2() -> None:
    import frugalclip_device.cli  # noqa: F401
    import frugalclip_device.runner  # noqa: F401

    assert "picamera2" not in sys.modules or sys.modules["picamera2"] is None


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp"])
def test_folder_channel_order(tmp_path: Path, suffix: str) -> None:
    Image.fromarray(patch_image(96, 32)).save(tmp_path / f"patches{suffix}", quality=95)
    source = ImageFolderSource(str(tmp_path))
    source.open()
    frame = source.read()
    assert_patches_rgb(frame.image, tolerance=8 if suffix == ".jpg" else 0)


def test_folder_sorted_and_ends(image_folder: Path) -> None:
    source = ImageFolderSource(str(image_folder))
    source.open()
    origins = [Path(source.read().origin).name for _ in range(8)]
    assert origins == sorted(origins)
    with pytest.raises(EndOfSource):
        source.read()


def test_folder_loop_restarts(image_folder: Path) -> None:
    source = ImageFolderSource(str(image_folder), loop=True)
    source.open()
    origins = [source.read().origin for _ in range(10)]
    assert origins[8] == origins[0]


def test_folder_glob_pattern(image_folder: Path) -> None:
    source = ImageFolderSource(str(image_folder / "img0[0-2].png"))
    source.open()
    assert [path.name for path in source.paths] == ["img00.png", "img01.png", "img02.png"]


def test_folder_empty_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(SourceConfigError, match="no images found"):
        ImageFolderSource(str(tmp_path)).open()


def test_folder_corrupt_file(tmp_path: Path) -> None:
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    source = ImageFolderSource(str(tmp_path))
    source.open()
    with pytest.raises(CorruptFrameError, match="broken.jpg"):
        source.read()


def test_opencv_video_channel_order(tmp_path: Path) -> None:
    cv2 = pytest.importorskip("cv2")
    path = tmp_path / "patches.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (96, 32))
    bgr = np.ascontiguousarray(patch_image(96, 32)[:, :, ::-1])
    for _ in range(3):
        writer.write(bgr)
    writer.release()

    source = open_source(str(path))
    source.open()
    frame = source.read()
    source.close()
    assert source.name == "video"
    assert_patches_rgb(frame.image, tolerance=24)


def test_opencv_video_ends_without_loop(tmp_path: Path) -> None:
    cv2 = pytest.importorskip("cv2")
    path = tmp_path / "one.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (32, 32))
    writer.write(np.zeros((32, 32, 3), np.uint8))
    writer.release()
    source = open_source(str(path))
    source.open()
    source.read()
    with pytest.raises(EndOfSource):
        source.read()


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("picamera2", SourceKind.PICAMERA2),
        ("picamera2:1", SourceKind.PICAMERA2),
        ("webcam:0", SourceKind.WEBCAM),
        ("/dev/video2", SourceKind.WEBCAM),
        ("clip.mp4", SourceKind.VIDEO),
        ("photos/", SourceKind.FOLDER),
        ("photos/*.jpg", SourceKind.FOLDER),
    ],
)
def test_classify_source(spec: str, kind: SourceKind) -> None:
    assert classify_source(spec) is kind


def test_invalid_camera_index() -> None:
    with pytest.raises(SourceConfigError, match="invalid camera index"):
        open_source("picamera2:left")
