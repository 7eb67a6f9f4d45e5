"""Hugging Face Hub access with errors a user can act on when the Hub is out of reach.

Offline use: fill the cache once where there is network (or copy ``$HF_HOME``), then run with
``HF_HUB_OFFLINE=1``. Clusters without network can also point ``XLT_HUB_MIRROR`` at a directory that
holds clones of the Hub repos: ``$XLT_HUB_MIRROR/google/xtreme``, ``$XLT_HUB_MIRROR/FacebookAI/...``;
a repo read at another revision than ``main`` (the parquet conversion of a repo that still ships a
loading script) is cloned beside it as ``$XLT_HUB_MIRROR/<owner>/<name>@<revision>``, e.g.
``aps/super_glue@refs/convert/parquet`` (``huggingface-cli download --repo-type dataset aps/super_glue
--revision refs/convert/parquet --local-dir ...``).

Out of reach, huggingface_hub retries every request five times with backoff (27 s per file, offline); a
model load therefore first asks the Hub once (``hub_unreachable``, a few seconds at most) and, when it
does not answer, reads the local cache only and fails at once, naming the fixes.
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

from xltlib.errors import DataUnavailableError

MIRROR_ENV = "XLT_HUB_MIRROR"


def mirrored(repo_id: str, revision: str | None = None, mirror: str | os.PathLike | None = None) -> str | None:
    """The local clone of ``repo_id`` (at ``revision``) under the mirror directory, or None."""
    root = mirror if mirror is not None else os.environ.get(MIRROR_ENV)
    if root:
        local = Path(root) / (f"{repo_id}@{revision}" if revision else repo_id)
        if local.is_dir():
            return str(local)
    return None


REHEARSAL_MARKER = "xlt_rehearsal.json"  # in a rehearsal's random-weight stand-in for an XLM-R checkpoint


def is_rehearsal_model(model: str | os.PathLike | None) -> bool:
    """Whether a model (Hub id, mirrored or not, or directory) is a rehearsal's random-weight stand-in."""
    if not model:
        return False
    where = mirrored(str(model)) or model
    return (Path(where) / REHEARSAL_MARKER).exists()


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


PROBE_TIMEOUT = 5.0  # seconds one request to the Hub may take before it counts as unreachable


RECHECK_AFTER = 60.0  # seconds an unreachable Hub is taken as unreachable before it is asked again
_probe: tuple[float, BaseException | None] | None = None  # (when, answer) of the last probe


def hub_unreachable(timeout: float = PROBE_TIMEOUT) -> BaseException | None:
    """None if the Hub answers one request (to ``$HF_ENDPOINT``) within ``timeout`` seconds, else the error.
    A success holds for the process; a failure for ``RECHECK_AFTER`` seconds, then the Hub is asked again
    (a long-lived kernel whose network comes back is not told the Hub is down for ever)."""
    global _probe
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session

    now = time.monotonic()
    if _probe is not None and (_probe[1] is None or now - _probe[0] < RECHECK_AFTER):
        return _probe[1]
    try:
        get_session().head(constants.ENDPOINT, timeout=timeout)
        answer = None
    except Exception as exc:  # noqa: BLE001 -- any transport error of the HTTP client huggingface_hub uses
        answer = exc
    _probe = (now, answer)
    return answer


def unavailable(kind: str, what: str, cause: BaseException, local_hint: str) -> DataUnavailableError:
    """A DataUnavailableError for ``what`` (e.g. "dataset google/xtreme, config PAN-X.de, split test")."""
    reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    mode = "HF_HUB_OFFLINE is set and it is not in the local cache" if offline() else \
        "the Hub was not reachable or refused it, and it is not in the local cache"
    return DataUnavailableError(
        f"could not load {kind} {what}: {mode} ({type(cause).__name__}: {reason}).\n"
        f"  To fix: (1) on a machine with network access, load it once to fill the cache (HF_HOME), then set "
        f"HF_HUB_OFFLINE=1 here; (2) or set {MIRROR_ENV} to a directory holding a clone of the repo; "
        f"(3) or {local_hint}."
    )


@contextmanager
def quiet():
    """transformers' and huggingface_hub's logging at error level and their progress bars off, for the
    duration only (loading a model prints an expected "unused lm_head weights" report and a bar per shard)."""
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars
    from transformers.utils import logging as hf_logging

    verbosity, bars, tf_bars = hf_logging.get_verbosity(), are_progress_bars_disabled(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    disable_progress_bars()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if not bars:
            enable_progress_bars()
        if tf_bars:
            hf_logging.enable_progress_bar()


def pretrained_tensors(model: str | None, prefix: str) -> dict:
    """The checkpoint tensors of ``model`` (Hub id or directory) whose names start with ``prefix`` (prefix
    removed), read from its safetensors files without loading the model; {} when there are none."""
    if not model:
        return {}
    import json

    from safetensors import safe_open
    from transformers.utils import cached_file

    where = mirrored(str(model)) or str(model)
    try:
        index = cached_file(where, "model.safetensors.index.json", _raise_exceptions_for_missing_entries=False)
        files = sorted(set(json.load(open(index))["weight_map"].values())) if index else ["model.safetensors"]
        out = {}
        for name in files:
            path = cached_file(where, name, _raise_exceptions_for_missing_entries=False)
            if path:
                with safe_open(path, "pt") as f:
                    out.update({k[len(prefix):]: f.get_tensor(k) for k in f.keys() if k.startswith(prefix)})
        return out
    except (OSError, ValueError):
        return {}


def load_pretrained(cls, model_id: str, **kwargs):
    """``cls.from_pretrained(model_id)`` with a clear error when the model is not available.

    >>> from transformers import AutoConfig
    >>> load_pretrained(AutoConfig, "no-such-org/no-such-model")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xltlib.errors.DataUnavailableError: could not load model no-such-org/no-such-model: ...
    """
    where = mirrored(model_id) or model_id
    down = None if offline() or Path(where).expanduser().is_dir() else hub_unreachable()
    try:
        with quiet():
            # the Hub out of reach: the local cache only, not five retries per file
            return cls.from_pretrained(where, **({"local_files_only": True} if down else {}), **kwargs)
    except (OSError, ValueError) as exc:
        raise unavailable(
            "model", model_id, down or exc, "pass a local directory with config.json and the weights as the model"
        ) from None
