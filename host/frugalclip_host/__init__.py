"""Workstation tools of frugalclip: from an image folder to a verified int8 ONNX bundle."""

__version__ = "0.1.0"
