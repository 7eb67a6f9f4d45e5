"""The cache that runs share (toy models, imported weights) and the digests that name what is in it.

    cache_root()                                       # $XLT_CACHE or ~/.cache/xltlib
    sha256(path)                                       # a file's SHA-256, hex
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path


def sha256(path) -> str:
    """The SHA-256 of a file's bytes (hex), read a MiB at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_root() -> Path:
    """Where xltlib keeps what runs share (toy models, imported weights): ``$XLT_CACHE`` or ~/.cache/xltlib."""
    return Path(os.environ.get("XLT_CACHE", Path.home() / ".cache" / "xltlib"))
