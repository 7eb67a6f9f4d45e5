"""The results store: one parquet file of tidy rows per finished run, written atomically.

    DIR/results/<run id>.parquet     rows: run_id, config_hash, phase, setup, intermediate, mode, target,
                                     language, split, metric, value, seed, model, profile, wall_time,
                                     retries (divergence-guard restarts)
    load_results(DIR) -> one pandas DataFrame (seaborn-ready, long form)
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

COLUMNS = ["run_id", "config_hash", "phase", "setup", "intermediate", "mode", "target", "language", "split",
           "metric", "value", "seed", "model", "profile", "wall_time", "retries"]


def result_path(out: str | Path, run_id: str) -> Path:
    return Path(out) / "results" / f"{run_id}.parquet"


def is_done(out: str | Path, run_id: str) -> bool:
    return result_path(out, run_id).exists()


def write_rows(out: str | Path, run_id: str, rows: list[dict]) -> Path:
    """Write a run's rows; the file appears whole or not at all (temp file + atomic rename)."""
    path = result_path(out, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    pd.DataFrame(rows, columns=COLUMNS).to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return path


def load_results(out: str | Path) -> pd.DataFrame:
    """Every finished run's rows under ``out`` as one DataFrame (empty, with the columns, if none)."""
    files = sorted((Path(out) / "results").glob("*.parquet"))
    if not files:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
