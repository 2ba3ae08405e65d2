"""Benchmark suite of the device runtime: latency, accuracy, memory and energy per model variant.

Runs on the Raspberry Pi as on the workstation, with ONNX Runtime, NumPy and Pillow only.
The host package adds the naive transformers baseline and the machine's ceiling on top.
"""
