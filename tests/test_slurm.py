"""A toy study on a real Slurm cluster (`make slurm`: one node, this machine): the same results as the local
executor, a cancelled job's runs failed and re-run, a time limit that requeues a job which resumes from its
checkpoint, and a killed submitting process that leaves nothing to run twice. Skipped where `sbatch` is
absent or the cluster does not answer."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xltlib.experiment import schedule
from xltlib.experiment.results import load_results
from xltlib.experiment.runner import run_study
from xltlib.experiment.study import study_from_dict


def _cluster_up() -> str | None:
    if not shutil.which("sbatch"):
        return "no sbatch here (`make slurm` starts a one-node cluster)"
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "sinfo does not answer"
    return None if any(s.strip() in ("idle", "mixed", "allocated") for s in out.split()) else "no Slurm node is up"


pytestmark = [pytest.mark.slow, pytest.mark.skipif(_cluster_up() is not None, reason=str(_cluster_up()))]

SLURM = {"cpus_per_task": 1, "mem_gb": 2, "timeout_min": 20}
STUDY = {"name": "slurm", "profile": "smoke", "model": "smoke", "targets": ["udpos", "xnli"], "languages": ["en", "nh"],
         "intermediate": ["baseline", {"name": "mnli", "tasks": ["mnli"]}], "train_scale": 0.3}


@pytest.fixture
def jobs_env(smoke_cache, monkeypatch):
    """Jobs inherit this environment (sbatch exports it): one thread each, like the local runs compared."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("XLT_CHECKPOINT_MINUTES", "0.05")  # a checkpoint every 3 s
    return smoke_cache


def _table(out: Path):
    t = load_results(out).drop(columns=["wall_time"])
    return t.sort_values(["run_id", "phase", "language", "metric"]).reset_index(drop=True)


def _wait(out: Path, study, limit: float = 600) -> list[dict]:
    end = time.time() + limit
    while time.time() < end:
        rows = schedule.status(out, study)
        if not any(r["state"] in ("queued", "running") for r in rows):
            return rows
        time.sleep(2)
    raise AssertionError(f"jobs still queued or running after {limit} s: {schedule.format_status(rows)}")


def _local(tmp_path: Path, study):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_study(study, tmp_path / "local", progress=False)
    finally:
        torch.set_num_threads(threads)
    return _table(tmp_path / "local")


def test_a_study_through_slurm_gives_the_local_executors_table_value_for_value(tmp_path, jobs_env):
    study = study_from_dict(STUDY)
    counts = run_study(study, tmp_path / "slurm", progress=False, executor="slurm", slurm=SLURM)
    assert counts["ran"] == 4
    ledger = schedule.read_ledger(tmp_path / "slurm")
    assert [r["kind"] for r in ledger.values()].count("phase1") == 1  # one training for the mnli encoder
    slurm, local = _table(tmp_path / "slurm"), _local(tmp_path, study)
    assert slurm.equals(local)
    assert not list((tmp_path / "slurm" / "checkpoints").glob("*.resume"))  # finished: no training state left


def test_a_cancelled_job_leaves_its_runs_failed_the_others_finish_and_a_rerun_does_only_those(tmp_path, jobs_env):
    out, study = tmp_path / "out", study_from_dict(STUDY)
    counts = run_study(study, out, progress=False, executor="slurm", slurm=SLURM, detach=True)
    assert counts["submitted"] == 4
    states = {r["state"] for r in schedule.status(out, study)}
    assert states <= {"queued", "running"}
    (victim,) = [uid for uid, rec in schedule.read_ledger(out).items()
                 if rec["kind"] == "group" and rec["what"].startswith("baseline") and "xnli" in rec["what"]]
    subprocess.run(["scancel", victim], check=True)
    rows = {(r["setup"], r["target"]): r for r in _wait(out, study)}
    assert rows["baseline", "xnli"]["state"] == "failed" and rows["baseline", "xnli"]["job"] == victim
    assert rows["baseline", "xnli"]["log"] and rows["baseline", "xnli"]["error"]
    assert [k for k, r in rows.items() if r["state"] == "done"] == [k for k in rows if k != ("baseline", "xnli")]
    again = run_study(study, out, progress=False, executor="slurm", slurm=SLURM)
    assert again["already_done"] == 3 and again["ran"] == 1
    assert {r["state"] for r in schedule.status(out, study)} == {"done"}


def test_a_job_past_its_time_limit_requeues_and_resumes_to_the_uninterrupted_numbers(tmp_path, jobs_env):
    """Phase 1 trains longer than a 1-minute limit allows (~80 s on a quiet core): Slurm's early signal (USR2,
    30 s before the end; Slurm checks limits every ~30 s, so 30-60 s after the start, when the job runs
    Python) makes the job save its training state, requeue itself and resume, maybe more than once."""
    study = study_from_dict({**STUDY, "targets": ["xnli"], "languages": ["en"],
                             "intermediate": [{"name": "mnli", "tasks": ["mnli"], "epochs": 4000}]})
    out = tmp_path / "slurm"
    run_study(study, out, progress=False, executor="slurm", detach=True,
              slurm={**SLURM, "timeout_min": 1, "slurm_signal_delay_s": 30})
    (p1,) = [uid for uid, rec in schedule.read_ledger(out).items() if rec["kind"] == "phase1"]
    restarts, end = 0, time.time() + 900
    while time.time() < end:
        rows = schedule.status(out, study)
        if not any(r["state"] in ("queued", "running") for r in rows):
            break
        info = subprocess.run(["scontrol", "show", "job", p1], capture_output=True, text=True).stdout
        if "Restarts=" in info:
            restarts = max(restarts, int(info.split("Restarts=")[1].split()[0]))
        time.sleep(2)
    states = subprocess.run(["sacct", "-n", "-P", "-D", "-X", "-o", "JobID,State,ExitCode", "-j", p1],
                            capture_output=True, text=True).stdout
    assert restarts >= 1, f"the phase-1 job was never requeued; sacct: {states}; status: {schedule.status(out, study)}"
    assert {r["state"] for r in schedule.status(out, study)} == {"done"}
    assert _table(out).equals(_local(tmp_path, study))
    assert not list((out / "checkpoints").glob("*.resume"))


def test_the_submitting_process_killed_then_run_again_runs_nothing_twice(tmp_path, jobs_env):
    study_file = tmp_path / "s.yaml"
    study_file.write_text(json.dumps({**STUDY, "seeds": [0, 1]}))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "xltlib.cli", "run", str(study_file), "--out", str(out), "--executor", "slurm",
           "--slurm", json.dumps(SLURM), "--quiet"]
    proc = subprocess.Popen(cmd, env=os.environ.copy())
    end = time.time() + 120
    while time.time() < end and not any(r.get("kind") == "group" for r in schedule.read_ledger(out).values()):
        time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert subprocess.run(cmd, env=os.environ.copy()).returncode == 0  # waits for the jobs it did not submit
    study = schedule.study_of(out)
    assert {r["state"] for r in schedule.status(out, study)} == {"done"}
    ledger = schedule.read_ledger(out)
    runs = [rid for rec in ledger.values() if rec["kind"] == "group" for rid in rec["runs"]]
    keys = [rec["phase1_key"] for rec in ledger.values() if rec["kind"] == "phase1"]
    assert len(runs) == len(set(runs)) == len(study.runs())  # each run in one job
    assert len(keys) == len(set(keys)) == 2  # each encoder trained by one job
