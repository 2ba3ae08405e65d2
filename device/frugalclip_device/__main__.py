"""``python -m frugalclip_device``: the same CLI as ``frugalclip-device``."""

from .cli import app

app(prog_name="frugalclip-device")
