"""Hugging Face Hub access with errors a user can act on when the Hub is out of reach.

Offline use: fill the cache once where there is network (or copy ``$HF_HOME``), then run with
``HF_HUB_OFFLINE=1``. Clusters without network can also point ``XLT_HUB_MIRROR`` at a directory that
holds clones of the Hub repos (``$XLT_HUB_MIRROR/google/xtreme``, ``$XLT_HUB_MIRROR/FacebookAI/...``).
"""
from __future__ import annotations

import os
from pathlib import Path

from xltlib.errors import DataUnavailableError

MIRROR_ENV = "XLT_HUB_MIRROR"


def mirrored(repo_id: str, mirror: str | os.PathLike | None = None) -> str:
    """The local clone of ``repo_id`` under the mirror directory if there is one, else ``repo_id``."""
    root = mirror if mirror is not None else os.environ.get(MIRROR_ENV)
    if root:
        local = Path(root) / repo_id
        if local.is_dir():
            return str(local)
    return repo_id


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def unavailable(kind: str, what: str, cause: BaseException, local_hint: str) -> DataUnavailableError:
    """A DataUnavailableError for ``what`` (e.g. "dataset google/xtreme, config PAN-X.de, split test")."""
    reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    mode = "HF_HUB_OFFLINE is set and it is not in the local cache" if offline() else "the Hub was not reachable or refused it"
    return DataUnavailableError(
        f"could not load {kind} {what}: {mode} ({type(cause).__name__}: {reason}).\n"
        f"  To fix: (1) on a machine with network access, load it once to fill the cache (HF_HOME), then set "
        f"HF_HUB_OFFLINE=1 here; (2) or set {MIRROR_ENV} to a directory holding a clone of the repo; "
        f"(3) or {local_hint}."
    )


def load_pretrained(cls, model_id: str, **kwargs):
    """``cls.from_pretrained(model_id)`` with a clear error when the model is not available.

    >>> from transformers import AutoConfig
    >>> load_pretrained(AutoConfig, "no-such-org/no-such-model")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xltlib.errors.DataUnavailableError: could not load model no-such-org/no-such-model: ...
    """
    try:
        return cls.from_pretrained(mirrored(model_id), **kwargs)
    except (OSError, ValueError) as exc:
        raise unavailable(
            "model", model_id, exc, "pass a local directory with config.json and the weights as the model"
        ) from None
