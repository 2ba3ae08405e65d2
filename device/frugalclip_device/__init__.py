"""Raspberry Pi runtime of frugalclip: ONNX Runtime, NumPy and Pillow only."""

__version__ = "0.1.0"
