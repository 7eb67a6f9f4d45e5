"""Studies: validation before training, runs keyed by hash, resumable results, every setup kind."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from xltlib.errors import ConfigError
from xltlib.experiment.results import load_results
from xltlib.experiment.runner import execute_group, run_study
from xltlib.experiment.study import load_study, study_from_dict

SMALL = {  # the shape of examples/toy_small.yaml, on the smoke profile
    "name": "small", "profile": "smoke", "seeds": [0, 1], "targets": ["udpos", "xnli"], "languages": ["en", "nh"],
    "intermediate": [{"name": "baseline"}, {"name": "mnli", "tasks": ["mnli"]}],
}


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XLT_CACHE", str(tmp_path_factory.getbasetemp() / "xlt-cache"))


@pytest.mark.parametrize("change,message", [
    ({"targets": ["xnil"]}, "no analog of task 'xnil'; toy tasks: xnli, pawsx"),
    ({"targets": ["mnli"]}, "'mnli' is an intermediate task, not a target task"),
    ({"languages": ["en", "sw"]}, "languages: sw not in any target's languages; valid: en, fh, fl"),
    ({"intermediate": [{"name": "x", "tasks": ["mnli"], "size": -3}]}, r"intermediate\[0\] \(x\).size: must be a positive"),
    ({"intermediate": [{"name": "x", "tasks": ["tatoeba"]}]}, "retrieval task and has no training data"),
    ({"intermediate": [{"name": "x", "tasks": ["mnli"], "mode": "parallel"}]}, "mode: 'parallel' is not one of multitask, sequential"),
    ({"profile": "laptop"}, "profile: 'laptop' is not one of smoke, toy, xtreme"),
    ({"model": "huge"}, "model: 'huge' is not a toy model size; valid: smoke, small, base, large"),
    ({"epochs": 3}, "unknown field\\(s\\) epochs; valid fields: benchmark"),
    ({"seeds": [-1]}, "seeds: expected non-negative integers"),
])
def test_bad_study_fails_before_training_naming_the_field(change, message):
    with pytest.raises(ConfigError, match=message):
        study_from_dict({**SMALL, **change})


def test_a_missing_model_fails_when_the_study_runs_not_when_it_is_validated(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    study = study_from_dict({"name": "x", "profile": "xtreme", "model": "no-such/model", "targets": ["xnli"]})
    with pytest.raises(Exception, match="could not load model no-such/model"):
        run_study(study, tmp_path / "out")
    assert not (tmp_path / "out" / "results").exists()  # before anything trained


def test_xlt_results_says_when_a_directory_holds_no_results(tmp_path, capsys):
    from xltlib.cli import main

    assert main(["results", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"no results in {tmp_path}: it is not a study's output" in err
    (tmp_path / "study.json").write_text("{}")
    assert main(["results", str(tmp_path)]) == 2
    assert "no run of its study has finished yet" in capsys.readouterr().err


def test_runs_are_keyed_by_what_determines_them():
    study = study_from_dict(SMALL)
    runs = study.runs()
    assert len(runs) == 2 * 2 * 2 and len({r.id for r in runs}) == 8
    p1 = {r.phase1_key for r in runs if r.setup.name == "mnli"}
    assert len(p1) == 2  # one phase-1 encoder per seed, shared by both targets
    again = study_from_dict({**SMALL, "targets": ["xnli", "udpos"]}).runs()
    assert {r.id for r in again} == {r.id for r in runs}  # order does not matter
    other = study_from_dict({**SMALL, "intermediate": [{"name": "mnli", "tasks": ["mnli"], "size": 0.5}]}).runs()
    assert not {r.id for r in other} & {r.id for r in runs}


def test_an_engine_revision_makes_every_run_new(monkeypatch):
    import xltlib.experiment.study

    study = study_from_dict(SMALL)
    before = {(r.id, r.phase1_key) for r in study.runs()}
    monkeypatch.setattr(xltlib.experiment.study, "ENGINE", "0.2.0+r999")
    after = {(r.id, r.phase1_key) for r in study_from_dict(SMALL).runs()}
    assert not {i for i, _ in before} & {i for i, _ in after}
    assert not {k for _, k in before if k} & {k for _, k in after if k}


def test_example_study_files_are_valid():
    root = Path(__file__).parent.parent / "examples"
    small = load_study(root / "toy_small.yaml")
    assert len(small.runs()) == 8
    regime = load_study(root / "toy_regime.yaml")
    assert len(regime.runs()) == 36 and regime.profile_impl.world.lr_ratio == 0.025
    data = yaml.safe_load((root / "xstilts_xtreme.yaml").read_text())
    assert len(data["intermediate"]) == 10 and len(data["targets"]) == 9  # the paper's 11 less CCG (licensed)


def test_the_real_cpu_notebook_studies_reuse_the_real_cpu_runs(tmp_path):
    # examples/real_cpu_{size,tasks,similarity}.yaml run into real_cpu's directory: the setups they share with it
    # must be the same runs (same ids), or `make real-cpu` would compute them again
    root = Path(__file__).parent.parent / "examples"

    def study(name):
        data = yaml.safe_load((root / f"{name}.yaml").read_text())
        return study_from_dict({**data, "local_data": str(tmp_path)}, name)

    real = study("real_cpu")
    ids = {r.id for r in real.runs()}
    names = {s.name for s in real.intermediate}
    for name in ("real_cpu_size", "real_cpu_tasks", "real_cpu_similarity"):
        s = study(name)
        shared = [r for r in s.runs() if r.setup.name in names]
        assert s.name == real.name and shared and all(r.id in ids for r in shared), name
        assert len(shared) < len(s.runs())  # and each adds its own


def _cli(*args, **kw):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "xltlib.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.slow  # ~35 s: four `xlt run` processes
def test_small_study_runs_resumes_after_kill_and_recomputes_nothing(tmp_path):
    study_file = tmp_path / "small.yaml"
    study_file.write_text(yaml.safe_dump(SMALL))
    full, interrupted = tmp_path / "full", tmp_path / "interrupted"
    assert _cli("run", str(study_file), "--out", str(full)).wait() == 0
    table = load_results(full)
    assert len(table[table.split == "test"]) == 8 * 2  # 8 runs x 2 languages, one metric each
    assert set(table.setup) == {"baseline", "mnli"} and set(table.language) == {"en", "nh"}

    proc = _cli("run", str(study_file), "--out", str(interrupted))
    deadline = time.time() + 300
    while len(list((interrupted / "results").glob("*.parquet"))) < 2 and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)  # kill -9 mid-study
    proc.wait()
    assert 2 <= len(list((interrupted / "results").glob("*.parquet"))) < 8
    assert _cli("run", str(study_file), "--out", str(interrupted)).wait() == 0
    key = ["run_id", "language", "split", "metric"]
    a = table.sort_values(key).reset_index(drop=True).drop(columns="wall_time")
    b = load_results(interrupted).sort_values(key).reset_index(drop=True).drop(columns="wall_time")
    pd.testing.assert_frame_equal(a, b)

    mtimes = {p: p.stat().st_mtime for p in (full / "results").glob("*.parquet")}
    proc = _cli("run", str(study_file), "--out", str(full))
    assert proc.wait() == 0 and "8 already done, 0 run now" in proc.stderr.read()
    assert {p: p.stat().st_mtime for p in (full / "results").glob("*.parquet")} == mtimes

    csv = _cli("results", str(full))
    out, _ = csv.communicate()
    assert out.splitlines()[0].startswith("run_id,phase1_key,phase,setup") and len(out.splitlines()) == len(table) + 1


@pytest.mark.parametrize("setup", [
    {"name": "multi", "tasks": ["mnli", "sst2"], "mode": "multitask", "sampler": "temperature", "cap": 40},
    {"name": "seq", "tasks": ["sst2", "mnli"], "mode": "sequential"},
    {"name": "capped", "tasks": ["squad_v1"], "size": 0.25},
    {"name": "translated", "tasks": ["mnli"], "languages": ["en", "fh"]},
])
def test_intermediate_setups_run(tmp_path, setup):
    study = study_from_dict({"name": "s", "profile": "smoke", "targets": ["tydiqa"], "languages": ["en"],
                             "intermediate": [setup], "train_scale": 0.3})
    (run,) = study.runs()
    rows = execute_group([run], tmp_path)[0]
    assert {(r["metric"], r["language"]) for r in rows if r["split"] == "test"} == {("exact_match", "en"), ("f1", "en")}
    meta = (tmp_path / "checkpoints" / run.phase1_key / "xlt_phase1.json").read_text()
    assert all(t in meta for t in setup["tasks"])


def test_retrieval_targets_use_the_phase1_encoder(tmp_path):
    study = study_from_dict({"name": "r", "profile": "smoke", "targets": ["tatoeba", "bucc2018"],
                             "languages": ["nh"], "intermediate": ["baseline"]})
    counts = run_study(study, tmp_path, progress=False)
    assert counts == {"runs": 2, "already_done": 0, "ran": 2, "skipped": 0, "already_queued": 0}
    table = load_results(tmp_path)
    assert set(zip(table.target, table.metric)) == {("tatoeba", "accuracy"), ("bucc2018", "f1")}


def test_two_process_cpu_ddp_run(tmp_path):
    """`accelerate launch --num_processes 2 --cpu` runs a study data-parallel; one result file per run."""
    study_file = tmp_path / "ddp.yaml"
    study_file.write_text(yaml.safe_dump({"name": "ddp", "profile": "smoke", "targets": ["udpos"], "languages": ["en", "nh"],
                                          "intermediate": [{"name": "mnli", "tasks": ["mnli"]}], "train_scale": 0.3}))
    launcher = Path(sys.executable).with_name("accelerate")
    proc = subprocess.run([str(launcher), "launch", "--num_processes", "2", "--num_machines", "1", "--cpu",
                           "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "xltlib.cli", "run",
                           str(study_file), "--out", str(tmp_path / "out"), "--quiet"],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = load_results(tmp_path / "out")
    assert len(table[table.split == "test"]) == 2 and table.run_id.nunique() == 1
    assert len(list((tmp_path / "out" / "checkpoints").glob("p1-*/xlt_phase1.json"))) == 1


def test_divergence_guard_retries_with_new_seed_and_lower_lr(tmp_path, monkeypatch):
    import xltlib.experiment.runner as runner

    calls = []
    real = runner.fine_tune_chain

    def flaky(model, chain, tokenizer, cfg_for, load, seed, **kwargs):
        calls.append((cfg_for(chain[-1]).lr, seed))
        if len(calls) == 1:
            raise FloatingPointError("xnli: non-finite training loss at step 3")
        return real(model, chain, tokenizer, cfg_for, load, seed, **kwargs)

    monkeypatch.setattr(runner, "fine_tune_chain", flaky)
    # the retry is what is tested, not whether a fifth of the fine-tuning budget on smoke data gets past one class
    monkeypatch.setattr(runner, "collapsed", lambda *args: False)
    study = study_from_dict({"name": "g", "profile": "smoke", "targets": ["xnli"], "languages": ["en"], "train_scale": 0.2})
    rows = execute_group([study.runs()[0]], tmp_path)[0]
    assert calls[1][0] == calls[0][0] / 2 and calls[1][1] == calls[0][1] + 1000
    assert {r["retries"] for r in rows} == {1}


def test_collapse_to_one_class_is_detected(tmp_path):
    import torch

    from xltlib.engine.model import TransferModel
    from xltlib.experiment.runner import collapsed, loader, load_tokenizer
    from xltlib.toy.world import toy_spec

    study = study_from_dict({"name": "c", "profile": "smoke", "targets": ["xnli"]})
    model = TransferModel.from_pretrained(study.profile_impl.base_model(), pooling="pair")
    spec = toy_spec("mnli")  # XNLI trains on MNLI, and is selected on MNLI's English dev set
    model.add_head(spec)
    tokenizer = load_tokenizer(study.profile_impl.base_model())
    with torch.no_grad():
        model.heads["mnli"].out.weight.zero_()
        model.heads["mnli"].out.bias.copy_(torch.tensor([5.0, 0.0, 0.0]))
    assert collapsed(model, spec, tokenizer, loader(study), "mnli")
    assert not collapsed(model, spec, tokenizer, loader(study), None)  # no dev set selects it: nothing to check
    model.heads["mnli"].out.bias.data.zero_()
    model.heads["mnli"].out.weight.data.normal_()
    assert not collapsed(model, spec, tokenizer, loader(study), "mnli")


def test_lora_trains_adapters_and_saves_a_merged_encoder(tmp_path):
    from xltlib.engine.model import TransferModel

    study = study_from_dict({"name": "l", "profile": "smoke", "targets": ["udpos"], "languages": ["en"], "lora": 4,
                             "intermediate": [{"name": "mnli", "tasks": ["mnli"]}], "train_scale": 0.2})
    model = TransferModel.from_pretrained(study.profile_impl.base_model(), lora=4)
    trainable = {n for n, p in model.encoder.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)  # the encoder's own weights stay frozen
    (run,) = study.runs()
    rows = execute_group([run], tmp_path)[0]
    assert rows and (tmp_path / "checkpoints" / run.phase1_key / "config.json").exists()
    merged = TransferModel.from_pretrained(str(tmp_path / "checkpoints" / run.phase1_key))
    assert not any("lora_" in n for n, _ in merged.encoder.named_parameters())
    with pytest.raises(ConfigError, match="lora: expected a positive integer rank"):
        study_from_dict({**SMALL, "lora": 0})


def test_submitit_local_executor_runs_each_run_as_a_job(tmp_path):
    study = study_from_dict({"name": "s", "profile": "smoke", "targets": ["tatoeba"], "languages": ["nh", "mh"],
                             "seeds": [0, 1]})
    counts = run_study(study, tmp_path, progress=False, executor="submitit-local")
    assert counts["ran"] == 2 and len(list((tmp_path / "results").glob("*.parquet"))) == 2
    assert list((tmp_path / "submitit").iterdir())  # the jobs' logs and pickles


def test_the_same_experiment_is_the_same_run_however_it_is_written():
    def ids(setup):
        return {r.id for r in study_from_dict({**SMALL, "intermediate": [setup]}).runs()}

    mix = ids({"name": "a", "tasks": ["mnli", "sst2"]})
    assert mix == ids({"name": "b", "tasks": ["sst2", "mnli"], "mode": "multitask"})  # a mix has no order
    assert ids({"name": "c", "tasks": ["mnli", "sst2"], "mode": "sequential"}) != \
        ids({"name": "d", "tasks": ["sst2", "mnli"], "mode": "sequential"})  # a chain has one
    assert ids({"name": "e", "tasks": ["mnli"], "size": 1}) == ids({"name": "f", "tasks": ["mnli"]})
    assert ids({"name": "g", "tasks": ["mnli"], "mode": "sequential"}) == ids({"name": "h", "tasks": ["mnli"]})


def test_translated_subsamples_draw_different_examples_per_language():
    from xltlib.experiment.runner import training_data

    study = study_from_dict({**SMALL, "intermediate": [{"name": "x", "tasks": ["sst2"], "languages": ["en", "nh"],
                                                        "size": 0.25}]})
    _, examples = training_data(study, "sst2", study.intermediate[0], seed=0)
    by_lang = {lang: {e.id for e in examples if e.lang == lang} for lang in ("en", "nh")}
    assert len(by_lang["en"]) == len(by_lang["nh"]) == 24  # a quarter of the smoke world's 96
    assert by_lang["en"] != by_lang["nh"]
    assert examples == training_data(study, "sst2", study.intermediate[0], seed=0)[1]


@pytest.mark.slow  # ~20 s: the study twice, once with two workers
def test_parallel_workers_give_the_same_results_as_one_process(tmp_path):
    spec = {"name": "w", "profile": "smoke", "targets": ["udpos"], "languages": ["en", "nh"], "seeds": [0, 1],
            "intermediate": ["baseline", "sst2"], "train_scale": 0.5}
    study = study_from_dict(spec)
    assert run_study(study, tmp_path / "one", progress=False)["ran"] == 4
    assert run_study(study, tmp_path / "two", progress=False, workers=2)["ran"] == 4
    a, b = (load_results(tmp_path / d).sort_values(["run_id", "language", "metric"]).reset_index(drop=True)
            for d in ("one", "two"))
    assert list(a.run_id) == list(b.run_id)
    assert a["value"].to_numpy() == pytest.approx(b["value"].to_numpy(), abs=1.0)  # thread counts may differ
    with pytest.raises(ConfigError, match="workers: expected a positive number"):
        run_study(study, tmp_path / "three", progress=False, workers=0)


def test_notebook_helpers_label_shared_runs_by_this_study(tmp_path):
    from xltlib.report import notebook

    first = {"name": "a", "profile": "smoke", "targets": ["tatoeba"], "languages": ["nh"], "seeds": [0],
             "intermediate": [{"name": "mnli", "tasks": ["mnli"]}], "train_scale": 0.3}
    notebook.run(first, str(tmp_path))
    second = {**first, "intermediate": [{"name": "english", "tasks": ["mnli"], "languages": ["en"]}]}
    table = notebook.run(second, str(tmp_path))  # the same run, cached, under this study's name
    assert set(table.setup) == {"english"} and table.wall_time.nunique() == 1
    sizes = notebook.training_sizes({**first, "intermediate": ["baseline", {"name": "q", "tasks": ["mnli", "sst2"],
                                                                            "size": 0.5, "languages": ["en", "nh"]}]})
    assert sizes.set_index("setup")["examples"].to_dict() == {"baseline": 0, "q": 4 * 48}
    from xltlib.report.experiments import fill

    assert fill({"seeds": [0], "tasks": ["a"]}, seeds=[1], tasks=None).__dict__ == {"seeds": [1], "tasks": ["a"]}
    assert notebook.train_languages("toy", ["mnli"])[0] == "en"
    assert notebook.parameters(notebook.model_dir(first)) > 10_000


def test_notebooks_hand_their_runs_to_the_executor_the_environment_names(tmp_path, monkeypatch):
    from xltlib.report import notebook

    seen = {}

    def fake_run_study(study, out, progress, executor, slurm, workers, report, skip_missing):
        seen.update(executor=executor, slurm=slurm, workers=workers, report=report, skip_missing=skip_missing)

    monkeypatch.setattr(notebook, "run_study", fake_run_study)
    monkeypatch.setenv("XLT_EXECUTOR", "slurm")
    monkeypatch.setenv("XLT_SLURM", '{"slurm_partition": "gpu", "timeout_min": 60}')
    monkeypatch.setenv("XLT_PROGRESS", str(tmp_path / "progress.log"))  # xlt reports names the progress file
    notebook.run({"name": "a", "profile": "smoke", "targets": ["tatoeba"], "seeds": [0]}, str(tmp_path))
    assert seen == {"executor": "slurm", "slurm": {"slurm_partition": "gpu", "timeout_min": 60}, "workers": 1,
                    "report": str(tmp_path / "progress.log"), "skip_missing": False}


def test_the_profile_object_has_its_own_name_and_the_old_one_warns():
    study = study_from_dict({"name": "s", "targets": ["xnli"]})
    with pytest.warns(DeprecationWarning, match="profile_impl"):
        assert study.backend is study.profile_impl
