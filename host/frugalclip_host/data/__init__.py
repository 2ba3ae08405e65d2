"""Data preparation: clean, deduplicate, reduce and split an ImageFolder tree (``frugalclip prepare``).

The entry point is :func:`frugalclip_host.data.prepare.prepare_dataset`.
"""
