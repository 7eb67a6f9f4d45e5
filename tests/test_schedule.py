"""Scheduling a study's work (xltlib.experiment.schedule) on this machine: what can be had runs, workers
pinned to GPUs, phase-1 trainings before the groups that need them, failures that do not stop the others,
`xlt status`, and `xlt plan --gpus`. The same on a real Slurm cluster: tests/test_slurm.py."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from xltlib import cli
from xltlib.errors import ConfigError
from xltlib.experiment import schedule
from xltlib.experiment.results import is_done, load_curves, load_results
from xltlib.experiment.runner import run_study
from xltlib.experiment.study import study_from_dict
from xltlib.rehearsal import SAMPLE

SMOKE = {"name": "sched", "profile": "smoke", "model": "smoke", "targets": ["udpos", "xnli"], "languages": ["en", "nh"],
         "intermediate": ["baseline", {"name": "mnli", "tasks": ["mnli"]}], "train_scale": 0.3}


def _tiny_model(path: Path) -> str:
    from transformers import XLMRobertaConfig

    from xltlib.data.tokenizer import load_tokenizer, real_tokenizer_dir

    XLMRobertaConfig(vocab_size=250002, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=16).save_pretrained(path)
    load_tokenizer(real_tokenizer_dir(path.parent / "spm")).save_pretrained(path)
    return str(path)


def _xtreme(model: str, **fields) -> dict:
    return {"name": "skip", "profile": "xtreme", "model": model, "local_data": str(SAMPLE), "targets": ["udpos"],
            "languages": ["en", "zh"], "eval_split": {"udpos": "dev"}, "target_size": {"udpos": 16}, "eval_size": 8,
            "train_scale": 0.1, "random_weights": True, **fields}


# ------------------------------------------------------------------ what can be had runs
def test_a_setup_whose_data_cannot_be_had_stops_the_study_naming_skip_missing(tmp_path):
    study = study_from_dict(_xtreme(_tiny_model(tmp_path / "model"), intermediate=["baseline", "ccg"]))
    with pytest.raises(ConfigError) as err:
        run_study(study, tmp_path / "out", progress=False)
    message = str(err.value)
    assert "--skip-missing" in message and "ccg en/train" in message and "nothing was trained" in message
    assert not (tmp_path / "out" / "results").exists()


@pytest.mark.slow
def test_skip_missing_runs_the_rest_and_lists_each_skipped_run_with_why(tmp_path, one_thread):
    study = study_from_dict(_xtreme(_tiny_model(tmp_path / "model"), intermediate=["baseline", "ccg"]))
    counts = run_study(study, tmp_path / "out", progress=False, skip_missing=True)
    assert counts["skipped"] == 1 and counts["ran"] == 1
    rows = {r["setup"]: r for r in schedule.status(tmp_path / "out")}
    assert rows["baseline"]["state"] == "done"
    assert rows["ccg"]["state"] == "skipped" and "ccg en/train" in rows["ccg"]["reason"]
    assert set(load_results(tmp_path / "out").setup) == {"baseline"}


def test_a_target_none_of_whose_languages_can_be_read_is_not_run(tmp_path):
    (tmp_path / "empty").mkdir()  # a folder without LASER's layout: no Tatoeba language can be read
    study = study_from_dict({**_xtreme(_tiny_model(tmp_path / "model")), "local_data": str(tmp_path / "empty"),
                             "targets": ["tatoeba"], "languages": ["de"], "eval_split": {}, "target_size": None})
    with pytest.raises(ConfigError, match=r"none of tatoeba's 1 language\(s\) can be read"):
        run_study(study, tmp_path / "out", progress=False)


def test_the_flagship_study_and_the_notebooks_xtreme_defaults_need_no_ccgbank():
    from xltlib.experiment.study import load_study
    from xltlib.report.experiments import experiment_files, read_experiment

    study = load_study(Path(__file__).parent.parent / "examples" / "xstilts_xtreme.yaml")
    assert not {t for s in study.intermediate for t in s.tasks} & {"ccg"}
    assert "ccg" not in json.dumps({p.stem: read_experiment(p)["xtreme"] for p in experiment_files()})


# ------------------------------------------------------------------ one node, many GPUs
def test_each_worker_is_pinned_to_its_own_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert schedule.worker_devices(2) == ["3", "5"]
    with pytest.raises(ConfigError, match="--share-gpus"):
        schedule.worker_devices(4)
    assert schedule.worker_devices(4, share_gpus=True) == ["3", "5", "3", "5"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert schedule.worker_devices(8) is None  # no GPU: CPU workers


@pytest.mark.slow
def test_a_pool_gives_each_worker_process_one_gpu_and_runs_phase1_first(tmp_path, monkeypatch, smoke_cache):
    """Two workers on two (pretend) GPUs: every unit a worker process ran saw that worker's GPU alone."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")  # the workers' torch has no CUDA: they train on CPU
    study = study_from_dict({**SMOKE, "seeds": [0, 1]})
    run_study(study, tmp_path, progress=False, workers=2)
    assert all(is_done(tmp_path, r.id) for r in study.runs())
    ledger = schedule.read_ledger(tmp_path)
    gpu_of_pid: dict = {}
    for rec in ledger.values():
        gpu_of_pid.setdefault(rec["pid"], set()).add(rec["gpu"])
    assert all(len(g) == 1 for g in gpu_of_pid.values())  # a worker keeps its GPU
    assert {g for gs in gpu_of_pid.values() for g in gs} <= {"0", "1"}
    # phase-1 trainings were scheduled before any group that needs them started
    started = {uid: rec for uid, rec in ledger.items()}
    for rec in started.values():
        if rec["kind"] == "group" and rec["after"]:
            (p1,) = [r for r in started.values() if r["kind"] == "phase1" and r["phase1_key"] == rec["after"]]
            assert p1["state"] == "done" and p1["updated"] <= rec["updated"]


# ------------------------------------------------------------------ failures and status
@pytest.mark.slow
def test_a_failed_group_does_not_stop_the_others_and_status_names_it(tmp_path, monkeypatch, smoke_cache):
    from xltlib.experiment import runner

    real = runner.execute_group

    def broken(runs, out, progress=False, wait=True):
        if runs[0].target == "xnli" and runs[0].setup.name == "baseline":
            raise RuntimeError("boom: a broken GPU")
        return real(runs, out, progress, wait)

    monkeypatch.setattr(runner, "execute_group", broken)
    study = study_from_dict(SMOKE)
    with pytest.raises(schedule.StudyFailed, match="boom: a broken GPU"):
        run_study(study, tmp_path, progress=False)
    rows = {(r["setup"], r["target"]): r for r in schedule.status(tmp_path)}
    assert rows["baseline", "xnli"]["state"] == "failed"
    assert "boom: a broken GPU" in rows["baseline", "xnli"]["error"]
    assert Path(rows["baseline", "xnli"]["log"]).read_text().count("Traceback") == 1
    assert {k: r["state"] for k, r in rows.items() if k != ("baseline", "xnli")} == {
        ("baseline", "udpos"): "done", ("mnli", "udpos"): "done", ("mnli", "xnli"): "done"}
    monkeypatch.setattr(runner, "execute_group", real)
    assert run_study(study, tmp_path, progress=False)["ran"] == 1  # the same command: only the failed run
    assert {r["state"] for r in schedule.status(tmp_path)} == {"done"}


def test_status_json_on_the_command_line(tmp_path, capsys, smoke_cache):
    study = tmp_path / "s.yaml"
    study.write_text(json.dumps({**SMOKE, "targets": ["udpos"], "intermediate": ["baseline"]}))
    assert cli.main(["run", str(study), "--out", str(tmp_path / "o"), "--quiet", "--report-to", "tensorboard"]) == 0
    capsys.readouterr()
    curves = load_curves(tmp_path / "o")  # every run keeps its curves beside its results
    phase2 = curves[curves.phase == "phase2"]
    assert len(phase2) and phase2.loss.notna().all() and phase2.lr.max() > 0 and phase2.metric.notna().any()
    assert list((tmp_path / "o" / "tensorboard").glob("p2-*/events.out.tfevents.*"))  # and live, to TensorBoard
    assert cli.main(["status", str(tmp_path / "o"), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["state"] == "done" and {"run_id", "setup", "target", "seed"} <= set(row)
    assert cli.main(["status", str(tmp_path / "nothing")]) == 2


def test_a_process_that_died_leaves_its_runs_failed_not_running(tmp_path):
    study = study_from_dict({**SMOKE, "targets": ["udpos"], "intermediate": ["baseline"]})
    (run,) = study.runs()
    (tmp_path / "study.json").write_text(json.dumps(__import__("dataclasses").asdict(study), default=list))
    unit = schedule.Unit("group", [run], id="local-1")
    schedule.register(tmp_path, unit, executor="local", state="running", pid=2 ** 22 + 7, host=None)
    (row,) = schedule.status(tmp_path)
    assert row["state"] == "failed" and "ended before it finished" in row["error"]


# ------------------------------------------------------------------ xlt reports
VARS = ("XLT_EXECUTOR", "XLT_SLURM", "XLT_WORKERS", "XLT_SKIP_MISSING")


def test_reports_take_the_run_commands_executor_flags(monkeypatch, tmp_path):
    from xltlib.report import reports

    seen = {}
    monkeypatch.setattr(reports, "build_reports", lambda *a, **k: seen.update(
        {v: os.environ.get(v) for v in VARS}) or [])
    for var in VARS:
        monkeypatch.delenv(var, raising=False)
    assert cli.main(["reports", "--only", "00_xstilts_main_table", "--executor", "slurm", "--slurm",
                     '{"slurm_partition": "debug"}', "--workers", "3", "--skip-missing", "--out", str(tmp_path)]) == 0
    assert seen == {"XLT_EXECUTOR": "slurm", "XLT_SLURM": '{"slurm_partition": "debug"}', "XLT_WORKERS": "3",
                    "XLT_SKIP_MISSING": "1"}


def test_a_reports_data_notes_list_the_skipped_runs():
    import pandas as pd

    from xltlib.experiment.results import COLUMNS
    from xltlib.report.notebook import data_notes

    table = pd.DataFrame([{c: None for c in COLUMNS} | {"comparable": True, "metric": "accuracy", "value": 1.0}])
    table.attrs["skipped"] = [{"setup": "ccg", "target": "xnli", "seed": 0, "reason": "ccg en/train: licensed"}]
    assert "**skipped run** (ccg / xnli / seed 0): ccg en/train: licensed" in data_notes(table).data


# ------------------------------------------------------------------ the plan's wall time
def test_plan_gives_the_wall_time_on_n_gpus_from_the_schedule():
    from xltlib.experiment.plan import plan_study
    from xltlib.experiment.study import load_study

    study = load_study(Path(__file__).parent.parent / "examples" / "xstilts_xtreme.yaml")
    one, eight, many = (plan_study(study, gpus=n) for n in (1, 8, 1000))
    assert one.wall_hours() == pytest.approx(one.gpu_hours())  # one GPU: every hour in turn
    assert one.gpu_hours() / 8 <= eight.wall_hours() < one.gpu_hours() / 4
    longest = max(sum(many.hours(many.parts[i]) for i in idx) for _, after, idx in many.units if after is None)
    assert many.wall_hours() >= longest  # no faster than the longest chain
    with pytest.raises(ConfigError, match="--gpus"):
        plan_study(study, gpus=0)


@pytest.mark.slow
def test_pool_workers_end_with_a_killed_xlt_run(tmp_path, smoke_cache):
    """kill -9 of `xlt run --workers 2` leaves no worker running on (no orphan keeps the cores or a GPU)."""
    import signal
    import subprocess
    import sys
    import time

    study = tmp_path / "s.yaml"
    study.write_text(json.dumps({**SMOKE, "seeds": [0, 1, 2], "train_scale": 3.0}))
    proc = subprocess.Popen([sys.executable, "-m", "xltlib.cli", "run", str(study), "--out", str(tmp_path / "o"),
                             "--workers", "2", "--quiet"], env=os.environ.copy())

    def workers():
        return [r.get("pid") for r in schedule.read_ledger(tmp_path / "o").values()
                if r.get("state") == "running" and r.get("pid") != proc.pid]

    end = time.time() + 120
    while time.time() < end and not workers():
        time.sleep(0.5)
    pids = set(workers())
    assert pids, "no worker started"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    end = time.time() + 30
    while time.time() < end and any(schedule._alive(p, None) for p in pids):
        time.sleep(0.5)
    assert not any(schedule._alive(p, None) for p in pids)


def test_a_directory_of_the_earlier_key_schema_is_migrated_and_nothing_is_recomputed(tmp_path, smoke_cache):
    from xltlib.experiment import migrate

    study = study_from_dict(SMOKE)
    run_study(study, tmp_path, progress=False)
    before = load_results(tmp_path).drop(columns=["wall_time"])
    # the same directory as the code of schema 1 left it: every key as schema 1 made it
    old = {new: old for old, new in migrate.mapping(study.runs()).items()}
    assert len(old) == len({k for r in study.runs() for k in (r.id, r.phase1_key, r.phase2_key) if k})
    migrate.rename_keys(tmp_path, old)
    assert not any(is_done(tmp_path, r.id) for r in study.runs())
    assert set(load_results(tmp_path).run_id) == {migrate.keys_v1(r)[0] for r in study.runs()}
    # a job of the earlier version still at work on one run: that run is left as it is, for a later call
    busy = study.runs()[0]
    ledger = json.loads((tmp_path / "jobs.json").read_text())
    ledger["old-job"] = {"kind": "group", "runs": [migrate.keys_v1(busy)[0]], "state": "running",
                         "executor": "local", "pid": os.getpid()}
    (tmp_path / "jobs.json").write_text(json.dumps(ledger))
    renamed = migrate.migrate(tmp_path, study.runs())
    assert migrate.keys_v1(busy)[0] not in renamed and len(renamed) > 0 and not is_done(tmp_path, busy.id)
    del ledger["old-job"]
    (tmp_path / "jobs.json").write_text(json.dumps(ledger))
    counts = run_study(study, tmp_path, progress=False)  # xlt run: renames, then finds everything done
    assert counts["already_done"] == counts["runs"] == 4 and counts["ran"] == 0
    assert migrate.migrate(tmp_path, study.runs()) == {}  # once
    after = load_results(tmp_path).drop(columns=["wall_time"])
    pd.testing.assert_frame_equal(after.sort_values(list(after.columns[:14])).reset_index(drop=True),
                                  before.sort_values(list(before.columns[:14])).reset_index(drop=True))
    assert {r["state"] for r in schedule.status(tmp_path)} == {"done"}
    assert {json.loads(p.read_text())["run_id"] for p in (tmp_path / "curves").glob("*.json")} \
        == {r.id for r in study.runs()}
