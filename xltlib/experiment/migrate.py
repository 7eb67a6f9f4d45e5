"""Run directories made under an earlier run-key schema, brought to the current one once.

A run's id, its phase-1 encoder's key and its phase-2 fine-tuning's key hash everything that decides their
results (``xltlib.experiment.study.Run``). Schema 1 hashed some fields only when set and left out fields
added later (so that runs made before them kept their ids); schema 2 hashes every field with its value or
default (``KEY_SCHEMA``). ``migrate(out, runs)`` computes the schema-1 keys of each run not done under its
current id and renames what the directory holds under them: result files (and their ``run_id`` /
``phase1_key`` columns), encoder checkpoints, training states, curves, failure records, the job ledger and the
skip list. Finished work is kept, never recomputed. ``xlt run`` and ``xlt status`` do it for the runs of
their study when they open a directory.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pandas as pd

from xltlib.experiment.results import is_done
from xltlib.experiment.study import Run, _digest
from xltlib.locking import file_lock, write_atomic
from xltlib.registry.tasks import TaskSpec
from xltlib.version import ENGINE


# ------------------------------------------------------------------------------------------- schema 1
def _spec_digest_v1(spec: TaskSpec) -> str:
    d = dataclasses.asdict(spec)
    for field in ("title", "notes", "local", "toy", "threshold_on_dev", "open_labels"):  # prose, fields added later
        d.pop(field, None)
    if d.get("retrieval") and not d["retrieval"]["prefix"]:
        del d["retrieval"]["prefix"]  # added after 0.2.0: absent when unused
    return _digest(d)


def _base_v1(run: Run) -> dict:
    s = run.study
    engine = {k: v for k, v in (("freeze_embeddings", s.freeze_embeddings), ("random_weights", s.random_weights),
                                ("lr", s.learning_rate)) if v}  # only when set
    return {**s.profile_impl.key(), "model": s.model_name, "seed": run.seed, "scale": s.train_scale,
            "pooling": s.head_pooling, "lora": s.lora, "engine": ENGINE, **engine}


def _phase1_v1(run: Run) -> str | None:
    if not run.setup.tasks:
        return None
    profile = run.study.profile_impl
    specs = [_spec_digest_v1(profile.source_spec(t)) for t in run.setup.tasks]
    return "p1-" + _digest({**_base_v1(run), "seed": run.phase1_seed, "setup": run.setup.key, "specs": specs,
                            "data": profile.data_key(run.phase1_reads())})


def _phase2_v1(run: Run) -> str | None:
    chain, s = run.chain(), run.study
    if not chain:
        return None
    size = {k: v for k, v in (("target_size", [s.target_size_of(c.name) for c in chain]),
                              ("train_split", [s.train_split_of(c.name) for c in chain]),
                              ("eval_size", s.eval_size))
            if v is not None and v != [None] * len(chain) and v != ["train"] * len(chain)}
    return "p2-" + _digest({**_base_v1(run), "phase1": _phase1_v1(run), "chain": [_spec_digest_v1(c) for c in chain],
                            "data": s.profile_impl.data_key(run.chain_reads()), **size})


def _id_v1(run: Run) -> str:
    s = run.study
    budget = {} if run.eval_split == "test" else {"eval_split": run.eval_split}
    if s.eval_size_for(run.spec) is not None:
        budget["eval_size"] = s.eval_size
    sizes = [s.target_size_of(c.name) for c in run.chain()]
    if any(v is not None for v in sizes):
        budget["target_size"] = sizes
    trained = [s.train_split_of(c.name) for c in run.chain()]
    if any(v != "train" for v in trained):
        budget["train_split"] = trained
    return _digest({**_base_v1(run), "setup": run.setup.key, "phase1": _phase1_v1(run), "target": run.target,
                    "spec": _spec_digest_v1(run.spec), "languages": list(run.languages()),
                    "data": s.profile_impl.data_key(run.reads()), **budget})


def keys_v1(run: Run) -> tuple[str, str | None, str | None]:
    """A run's (id, phase-1 key, phase-2 key) as schema 1 made them."""
    return _id_v1(run), _phase1_v1(run), _phase2_v1(run)


# ------------------------------------------------------------------------------------------- migration
def mapping(runs) -> dict[str, str]:
    """Every schema-1 key of ``runs`` -> its current key."""
    return {old: new for _, pairs in _pairs(runs) for old, new in pairs}


def _pairs(runs):
    """Per run: its schema-1 (id, phase-1, phase-2) keys and the (old, new) pairs that differ."""
    for run in runs:
        old = keys_v1(run)
        yield old, [(o, n) for o, n in zip(old, (run.id, run.phase1_key, run.phase2_key)) if o and n and o != n]


def _held(out: Path, key: str) -> bool:
    """Whether ``out`` holds work under ``key`` (a run's result or curves, an encoder, a training state)."""
    return any(p.exists() for p in (out / "results" / f"{key}.parquet", out / "curves" / f"{key}.json",
                                    out / "checkpoints" / key, out / "checkpoints" / f"{key}.resume"))


def migrate(out: str | Path, runs) -> dict[str, str]:
    """Bring what ``out`` holds of ``runs`` under schema-1 keys to the current keys; returns the keys renamed
    (none: a no-op, as for a directory made under the current schema). Runs already done under their
    current id are not looked at, so a directory shared by several studies is brought over run by run,
    by whichever study names them."""
    out = Path(out)
    todo = [r for r in runs if not is_done(out, r.id)]
    if not todo or not (out / "results").is_dir() and not (out / "checkpoints").is_dir():
        return {}
    pairs = [(old, [(o, n) for o, n in changed if _held(out, o)]) for old, changed in _pairs(todo)]
    if not any(changed for _, changed in pairs):
        return {}
    with file_lock(out / "jobs.lock"):
        ledger = _json(out / "jobs.json") or {}
        # a job of an earlier version still at work under old keys: its runs are left for a later call
        busy = {k for rec in ledger.values() if rec.get("state") in ("queued", "running") and _alive(rec)
                for k in [*rec.get("runs", ()), rec.get("phase1_key")] if k}
        renames = {o: n for old, changed in pairs if not busy & set(old) for o, n in changed
                   if _held(out, o)}  # another process may have renamed it meanwhile
        rename_keys(out, renames)
    return renames


def rename_keys(out: Path, renames: dict[str, str]) -> None:
    """Every key of ``renames`` that ``out`` holds, replaced: in file and directory names, in the ledger, skip
    list, curves and failure records, and in the results' ``run_id`` and ``phase1_key`` columns."""
    _rename_paths(out, renames)
    for path in [out / "jobs.json", out / "skipped.json", *(out / "curves").glob("*.json"),
                 *(out / "failures").glob("*.json")]:
        if path.is_file():
            text = path.read_text()
            new = _replace(text, renames)
            if new != text:
                write_atomic(path, new)
    for path in (out / "results").glob("*.parquet"):
        table = pd.read_parquet(path)
        changed = False
        for column in ("run_id", "phase1_key"):
            if column in table and table[column].isin(list(renames)).any():
                table[column] = table[column].map(lambda k: renames.get(k, k))
                changed = True
        if changed:
            tmp = path.with_suffix(".parquet.tmp")
            table.to_parquet(tmp, index=False)
            tmp.replace(path)


def _rename_paths(out: Path, renames: dict[str, str]) -> None:
    """Every file or directory under ``out`` whose name holds an old key, renamed (deepest first)."""
    paths = sorted((p for p in out.rglob("*") if any(old in p.name for old in renames)),
                   key=lambda p: len(p.parts), reverse=True)
    for path in paths:
        path.rename(path.with_name(_replace(path.name, renames)))


def _replace(text: str, renames: dict[str, str]) -> str:
    for old, new in renames.items():
        if old in text:
            text = text.replace(old, new)
    return text


def _json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _alive(rec: dict) -> bool:
    """Whether a ledger entry's process may still be working (local: its pid lives; Slurm: assume so)."""
    pid = rec.get("pid")
    if rec.get("executor") != "local" or not pid:
        return rec.get("executor") not in (None, "local")
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
