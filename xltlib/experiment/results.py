"""The results store: one parquet file of tidy rows per finished run, written atomically.

    DIR/results/<run id>.parquet     one row per (language, split, metric); columns: COLUMNS
    load_results(DIR) -> one pandas DataFrame (seaborn-ready, long form)

Columns: ``run_id``; ``phase1_key`` (the phase-1 encoder's checkpoint key, "none" for the baseline);
``phase`` ("zero-shot" test scores, "target-dev" English dev scores of the selected checkpoint); what the
setup is: ``setup`` (its name), ``intermediate`` (its tasks, "+"-joined, "none"), ``mode``, ``size``,
``cap``, ``intermediate_languages``; ``target``, ``language``, ``split``, ``metric``, ``value`` (0-100;
NaN for a missing language, metric "missing", with the reason in ``note``); ``seed``, ``model``,
``lora``, ``profile``, ``train_scale``; ``data`` (where the split was read: "hub", "toy" or a directory),
``comparable`` (whether published numbers were computed on the same data: False for toy data and for
Hub copies that differ from XTREME's, reason in ``note``); ``engine`` (``xltlib.version.ENGINE``),
``wall_time``, ``retries`` (divergence-guard restarts).

Schema changes in 0.2: ``config_hash`` became ``phase1_key``; ``size``, ``cap``, ``intermediate_languages``,
``lora``, ``train_scale``, ``data``, ``comparable``, ``note`` and ``engine`` are new.

A results file that cannot be read (truncated, corrupt) is named in a warning, left out of the table and
counted as not done, so that a re-run computes it again.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd

from xltlib.errors import ConfigError
from xltlib.paths import shown_in

COLUMNS = ["run_id", "phase1_key", "phase", "setup", "intermediate", "mode", "size", "cap",
           "intermediate_languages", "target", "language", "split", "metric", "value", "seed", "model", "lora",
           "profile", "train_scale", "world", "data", "comparable", "note", "engine", "wall_time", "retries"]


class UnreadableResultWarning(UserWarning):
    pass


def result_path(out: str | Path, run_id: str) -> Path:
    return Path(out) / "results" / f"{run_id}.parquet"


def _readable(path: Path) -> bool:
    import pyarrow.parquet as pq

    try:
        return set(COLUMNS) <= set(pq.read_schema(path).names) and pq.read_metadata(path).num_rows >= 0
    except Exception:  # noqa: BLE001 -- any reason a file cannot be read means: not done
        return False


def is_done(out: str | Path, run_id: str) -> bool:
    """Whether the run's results file exists and can be read (a corrupt one is computed again)."""
    path = result_path(out, run_id)
    return path.exists() and _readable(path)


def write_rows(out: str | Path, run_id: str, rows: list[dict]) -> Path:
    """Write a run's rows; the file appears whole or not at all (temp file + atomic rename)."""
    path = result_path(out, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    pd.DataFrame(rows, columns=COLUMNS).to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return path


def load_results(out: str | Path) -> pd.DataFrame:
    """Every finished run's rows under ``out`` as one DataFrame (empty, with the columns, if none yet).

    Raises ConfigError if ``out`` is not a study directory; warns, naming each, about unreadable files."""
    out = Path(out)
    if not out.is_dir():
        raise ConfigError(f"{out} is not a study directory (no such directory)")
    frames, bad = [], []
    for f in sorted((out / "results").glob("*.parquet")):
        try:
            frame = pd.read_parquet(f)
        except Exception as exc:  # noqa: BLE001
            bad.append(f"{f} ({type(exc).__name__})")
            continue
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            bad.append(f"{f} (written by an older xltlib: no {', '.join(missing[:3])})")
            continue
        frames.append(frame[COLUMNS])
    if bad:
        warnings.warn(f"left out {len(bad)} unreadable results file(s), which a re-run computes again: "
                      + "; ".join(bad), UnreadableResultWarning, stacklevel=2)
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    table["note"] = table["note"].map(shown_in)  # a note names files: as outputs show them (xltlib.paths)
    return table


def load_curves(out: str | Path) -> pd.DataFrame:
    """Every finished run's training curves under ``out`` (``DIR/curves/<run id>.json``) as one long table:
    ``run_id``, ``setup``, ``target``, ``seed``, ``phase`` ("phase1", "phase2"), ``task`` (phase 1: its group
    of tasks, "+"-joined; phase 2: the task fine-tuned), ``step``, ``loss``, ``lr``, and at evaluations
    ``metric`` and ``value`` (one row per dev metric; elsewhere both empty)."""
    import json

    rows = []
    for f in sorted((Path(out) / "curves").glob("*.json")):
        rec = json.loads(f.read_text())
        base = {k: rec[k] for k in ("run_id", "setup", "target", "seed")}
        loops = [("phase1", "+".join(g["tasks"] or []), g["curve"]) for g in rec["phase1"]]
        loops.append(("phase2", rec["phase2"]["task"] or "", rec["phase2"]["curve"]))
        for phase, task, curve in loops:
            for point in curve:
                common = {**base, "phase": phase, "task": task, "step": point["step"], "loss": point.get("loss"),
                          "lr": point.get("lr")}
                dev = point.get("dev") or {}
                rows += [{**common, "metric": m, "value": v} for m, v in dev.items()] or \
                    [{**common, "metric": None, "value": None}]
    columns = ["run_id", "setup", "target", "seed", "phase", "task", "step", "loss", "lr", "metric", "value"]
    return pd.DataFrame(rows, columns=columns)
