"""Paths as outputs show them: results, reports and logs that are committed or shared must not hold the
absolute paths of the machine that made them.

    shown(CHECKOUT / "data" / "real")                                  # "data/real" (outside the checkout: as given)
    shown(CHECKOUT / "reports" / "runs", start=CHECKOUT / "notebooks")   # "../reports/runs"
    shown_in("not in local_data (/abs/checkout/data/real has no ...)")    # "not in local_data (data/real has no ...)"
"""
from __future__ import annotations

import os
from pathlib import Path

# the checkout the package runs from (an installed package has none: paths are shown as given)
CHECKOUT = Path(__file__).resolve().parent.parent
IN_CHECKOUT = (CHECKOUT / "pyproject.toml").exists()


def shown(path: str | os.PathLike, start: str | os.PathLike | None = None) -> str:
    """``path`` relative to ``start`` (default: the checkout) when both lie in the checkout, else as given."""
    full = os.path.abspath(path)
    base = os.path.abspath(start if start is not None else CHECKOUT)
    root = str(CHECKOUT)
    if IN_CHECKOUT and _under(full, root) and _under(base, root):
        return os.path.relpath(full, base)
    return str(path)


def shown_in(text: str) -> str:
    """``text`` (a message, a note) with every path inside the checkout shown relative to it."""
    if not IN_CHECKOUT or not isinstance(text, str):
        return text
    return text.replace(str(CHECKOUT) + os.sep, "")


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)
