"""Bad input fails fast and by name; a cached result is never stale or misread; nothing is computed twice.

The field walk below covers every field of Study and Setup: a field added without a check in
``xltlib.experiment.study`` (or without bad values here) fails ``test_every_field_is_walked``."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
import yaml

from xltlib.errors import ConfigError, XltError
from xltlib.experiment.profiles import make_profile
from xltlib.experiment.results import UnreadableResultWarning, is_done, load_results, result_path, write_rows
from xltlib.experiment.study import SETUP_CHECKS, STUDY_CHECKS, Setup, Study, study_from_dict

BASE = {"name": "b", "profile": "smoke", "targets": ["udpos"], "languages": ["en"], "seeds": [0],
        "intermediate": ["baseline", {"name": "m", "tasks": ["mnli"]}]}

# field -> values that must be refused, each with a one-line ConfigError naming the field
BAD_STUDY = {
    "name": [3, ""],
    "profile": ["laptop", 1],
    "model": ["huge", 7],
    "intermediate": [5],
    "targets": [[], ["xnil"], ["mnli"], 3.5],
    "languages": [["sw"], [1]],
    "seeds": [[-1], ["0"], [0, 0], [True], []],
    "train_scale": ["fast", 0, -1, float("nan"), True],
    "benchmark": ["xtreme-x", 1],
    "pooling": ["max", 2],
    "local_data": ["/no/such/dir", 5],
    "lora": [0, 2.5, "r"],
    "phase1_seed": [-1, "0", 1.5],
    "world": [[1, 2], "fast", {"lr_rate": 0.1}, {"lr_ratio": 0}, {"train": 2.5}, {"head_lr_ratio": "x"},
              {"high_languages": -1}, {"low_languages": "3"}, {"high_languages": 13}],
    "retrieval_layer": ["first", -1, 2.5],
    "retrieval_prefix": [3],
    "freeze_embeddings": ["yes", 1],
    "target_size": [1.5, 0, "half", {"udpos": 0}, {"xnli": 10}, [3]],
    "eval_size": [0, 2.5, "all"],
    "random_weights": ["no", 0],
    "learning_rate": [0, 2, "fast"],
    "train_on": [{"xnli": "mnli"}, {"udpos": "mnli"}, {"udpos": "nope"}, "x", {"udpos": 3}, {"udpos": []},
                 {"udpos": ["nope", "udpos"]}],
    "eval_split": [{"udpos": "train"}, {"xnli": "dev"}, "dev", {"udpos": "dev[1:2:3]"}],
    "train_split": [{"udpos": "validation"}, {"mnli": "dev[:50%]"}, "dev", {"udpos": "nope[:5]"}],
}
BAD_SETUP = {
    "name": [3, ""],
    "tasks": [["tatoeba"], ["nope"], 5],
    "mode": ["parallel"],
    "sampler": ["random"],
    "temperature": [0, "hot"],
    "cap": [0, 2.5, "many"],
    "size": [1.5, -3, "half", 0, True],
    "languages": [["xx"], [], 3],
    "epochs": [0, "two"],
    "mlm_languages": [["xx"], [], 3],
}


def test_every_field_is_walked():
    assert set(BAD_STUDY) == {f.name for f in dataclasses.fields(Study)} == set(STUDY_CHECKS)
    assert set(BAD_SETUP) == {f.name for f in dataclasses.fields(Setup)} == set(SETUP_CHECKS)


def _refused(data: dict, field: str):
    with pytest.raises(ConfigError) as err:
        study_from_dict(data)
    message = str(err.value)
    assert "\n" not in message and field in message and "Traceback" not in message, message
    return message


@pytest.mark.parametrize("field,value", [(f, v) for f, values in BAD_STUDY.items() for v in values])
def test_bad_study_field_is_refused_by_name(field, value):
    _refused({**BASE, field: value}, field if field != "intermediate" else "intermediate")


@pytest.mark.parametrize("field,value", [(f, v) for f, values in BAD_SETUP.items() for v in values])
def test_bad_setup_field_is_refused_by_name(field, value):
    setup = {"name": "x", "tasks": ["mnli", "mlm"] if field == "mlm_languages" else ["mnli"], field: value}
    where = "tasks" if field == "tasks" and value in (["tatoeba"], ["nope"]) else field
    where = "mlm_languages" if field == "mlm_languages" else where
    _refused({**BASE, "intermediate": [setup]}, where)


def test_messages_say_what_would_be_valid():
    assert "a fraction up to 1 or a whole count above 1, got 1.5" in _refused(
        {**BASE, "intermediate": [{"name": "x", "tasks": ["mnli"], "size": 1.5}]}, "size")
    assert "'max' is not one of cls, mean, pair" in _refused({**BASE, "pooling": "max"}, "pooling")
    assert "expected a positive number, got 'fast'" in _refused({**BASE, "train_scale": "fast"}, "train_scale")


def test_a_setup_written_as_a_string_is_one_setup_not_its_letters():
    study = study_from_dict({**BASE, "intermediate": "mnli"})
    assert [(s.name, s.tasks) for s in study.intermediate] == [("mnli", ("mnli",))]


def test_two_setups_that_are_the_same_experiment_are_refused():
    message = _refused({**BASE, "intermediate": [{"name": "a", "tasks": ["mnli"]}, {"name": "b", "tasks": ["mnli"]}]},
                       "intermediate")
    assert "'a' and 'b' are the same experiment" in message


def test_phase1_can_be_shared_across_seeds():
    per_seed = study_from_dict({**BASE, "seeds": [0, 1, 2]}).runs()
    shared = study_from_dict({**BASE, "seeds": [0, 1, 2], "phase1_seed": 0}).runs()
    assert len({r.phase1_key for r in per_seed if r.setup.tasks}) == 3
    assert len({r.phase1_key for r in shared if r.setup.tasks}) == 1
    assert len({r.id for r in shared}) == len(shared)  # phase 2 still has each run's own seed


def test_local_data_belongs_to_the_xtreme_profile(tmp_path):
    assert "local_data is for profile xtreme" in _refused({**BASE, "local_data": str(tmp_path)}, "local_data")


# ------------------------------------------------------------------ what decides a run's id
def _tiny_model(path: Path) -> str:
    from transformers import XLMRobertaConfig

    XLMRobertaConfig(vocab_size=100, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=16).save_pretrained(path)
    return str(path)


def _local(root: Path, text: str, name: str = "test-de.tsv") -> str:
    (root / "xnli").mkdir(parents=True, exist_ok=True)
    (root / "xnli" / name).write_text(text)
    return str(root)


def test_run_ids_change_with_the_local_files_a_run_reads(tmp_path):
    model = _tiny_model(tmp_path / "model")
    study = {"name": "x", "profile": "xtreme", "model": model, "targets": ["xnli"], "languages": ["de"]}
    ids = lambda **kw: {r.id for r in study_from_dict({**study, **kw}).runs()}  # noqa: E731
    hub = ids()
    a = ids(local_data=_local(tmp_path / "a", "x\ty\tneutral\n"))
    same = ids(local_data=_local(tmp_path / "same", "x\ty\tneutral\n"))
    b = ids(local_data=_local(tmp_path / "b", "x\ty\tentailment\n"))
    assert len({frozenset(hub), frozenset(a), frozenset(b)}) == 3  # new data, new runs
    assert a == same  # the same files elsewhere: the same runs
    _local(tmp_path / "same", "p\tq\tneutral\n", name="dev-de.tsv")  # a file these runs do not read
    assert ids(local_data=str(tmp_path / "same")) == a


def test_the_results_table_tells_setups_apart_without_the_study_file(tmp_path):
    from xltlib.experiment.runner import run_study

    study = study_from_dict({"name": "t", "profile": "smoke", "targets": ["tatoeba"], "languages": ["nh"],
                             "intermediate": [{"name": "q", "tasks": ["sst2"], "size": 0.5, "cap": 40,
                                               "languages": ["en", "nh"]}], "train_scale": 0.2})
    run_study(study, tmp_path, progress=False)
    row = load_results(tmp_path).iloc[0]
    assert (row["size"], row["cap"], row["intermediate_languages"], row["data"]) == (0.5, 40, "en+nh", "toy")
    assert row["engine"].startswith("0.") and row["lora"] is None or pd.isna(row["lora"])


# ------------------------------------------------------------------ results store
def test_a_corrupt_results_file_is_named_left_out_and_computed_again(tmp_path):
    write_rows(tmp_path, "good", [{"run_id": "good", "value": 1.0}])
    result_path(tmp_path, "bad").write_bytes(b"PAR1 truncated")
    with pytest.warns(UnreadableResultWarning, match=r"bad.parquet \(") as record:
        table = load_results(tmp_path)
    assert list(table.run_id) == ["good"] and len(record) == 1
    assert is_done(tmp_path, "good") and not is_done(tmp_path, "bad")


def test_results_of_a_directory_that_does_not_exist_are_an_error(capsys):
    from xltlib.cli import main

    assert main(["results", "/no/such/study"]) == 2
    err = capsys.readouterr().err
    assert "not a study directory" in err and len(err.strip().splitlines()) == 1


def test_an_unwritable_out_or_cache_is_named_in_one_line(tmp_path, monkeypatch):
    from xltlib.experiment.runner import run_study
    from xltlib.toy.pretrain import toy_model

    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"--out .*file/out is not writable"):
        run_study(study_from_dict(BASE), blocker / "out", progress=False)
    monkeypatch.setenv("XLT_CACHE", str(blocker / "cache"))
    with pytest.raises(ConfigError, match=r"XLT_CACHE: .*file/cache is not writable"):
        toy_model("smoke", progress=False)


def test_ctrl_c_says_in_one_line_what_is_saved(tmp_path, capsys, monkeypatch):
    from xltlib import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("xltlib.experiment.runner.run_study", interrupted)
    study = tmp_path / "s.yaml"
    study.write_text(yaml.safe_dump(BASE))
    assert cli.main(["run", str(study), "--out", str(tmp_path / "out")]) == 130
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "0 of 2 runs are saved" in err and "resumes" in err


def test_slurm_parameters_are_json_named_when_wrong(tmp_path, monkeypatch):
    from xltlib import cli

    seen = {}
    monkeypatch.setattr("xltlib.experiment.runner.run_study", lambda study, out, **kw: seen.update(kw) or
                        {"runs": 0, "already_done": 0, "ran": 0})
    study = tmp_path / "s.yaml"
    study.write_text(yaml.safe_dump(BASE))
    assert cli.main(["run", str(study), "--out", str(tmp_path), "--executor", "slurm",
                     "--slurm", '{"gpus_per_node": 1, "slurm_partition": "gpu"}']) == 0
    assert seen["slurm"] == {"gpus_per_node": 1, "slurm_partition": "gpu"} and seen["executor"] == "slurm"
    assert cli.main(["run", str(study), "--out", str(tmp_path), "--slurm", "{gpus: 1}"]) == 2


# ------------------------------------------------------------------ before anything trains
def test_an_unusable_local_file_stops_the_study_before_training_by_name(tmp_path):
    from xltlib.experiment.runner import run_study

    model = _tiny_model(tmp_path / "model")
    data = tmp_path / "data"
    (data / "mnli" / "en").mkdir(parents=True)
    (data / "mnli" / "en" / "train.jsonl").write_text('{"id": 1, "text_a": "a", "text_b": "b", "label": "x"}\n')
    (data / "pawsx").mkdir()
    (data / "pawsx" / "test-en.tsv").write_text("")  # 0 bytes
    study = study_from_dict({"name": "x", "profile": "xtreme", "model": model, "targets": ["pawsx"],
                             "languages": ["en"], "local_data": str(data),
                             "intermediate": [{"name": "m", "tasks": ["mnli"]}]})
    with pytest.raises(XltError) as err:
        run_study(study, tmp_path / "out", progress=False)
    message = str(err.value)
    assert "nothing was trained" in message and "mnli/en/train.jsonl: none of its 1 row(s)" in message
    assert "pawsx/test-en.tsv: holds no rows" in message
    assert not (tmp_path / "out" / "checkpoints").exists() and not (tmp_path / "out" / "results").exists()


# ------------------------------------------------------------------ concurrency
def test_a_run_another_process_holds_is_not_computed_twice(tmp_path):
    from xltlib.experiment.runner import execute_group
    from xltlib.locking import file_lock

    (run,) = study_from_dict({**BASE, "intermediate": ["baseline"], "targets": ["tatoeba"], "languages": ["nh"]}).runs()
    with file_lock(tmp_path / "results" / f"{run.id}.lock"):  # another `xlt run` is computing it
        assert execute_group([run], tmp_path, wait=False) == [None]
        assert not is_done(tmp_path, run.id)
    assert execute_group([run], tmp_path, wait=False)[0]  # free again: computed once
    assert execute_group([run], tmp_path, wait=False) == [[]]  # done: nothing computed


# ------------------------------------------------------------------ notebooks
def test_unknown_notebook_parameters_are_refused_listing_the_known_ones(tmp_path):
    from xltlib.report.reports import build_reports

    with pytest.raises(ConfigError, match=r"unknown notebook parameter\(s\) seed; .*: .*seeds"):
        build_reports("smoke", ["00_xstilts_main_table"], tmp_path, {"seed": [0]})


def test_a_wrong_kind_of_parameter_fails_in_one_line_and_the_explicit_profile_wins(tmp_path, monkeypatch):
    from xltlib.report.reports import build_reports

    monkeypatch.setenv("XLT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XLT_NOTEBOOK_PROFILE", "toy")  # CI's override for nbval: not for an explicit --profile
    with pytest.raises(XltError) as err:
        build_reports("smoke", ["00_xstilts_main_table"], tmp_path, {"seeds": "notalist"})
    message = str(err.value)
    assert "\n" not in message and "parameter seeds: expected a list" in message and "failed in cell" in message
    assert (tmp_path / "smoke" / "00_xstilts_main_table.ipynb").exists() and not (tmp_path / "toy").exists()


def test_a_toy_world_change_is_in_the_run_key_the_recipe_and_the_results_and_only_toy_profiles_take_one():
    plain = study_from_dict(BASE)
    slow = study_from_dict({**BASE, "world": {"lr_ratio": 0.025, "head_lr_ratio": 0.5}})
    assert {r.id for r in plain.runs()}.isdisjoint(r.id for r in slow.runs())
    spec = slow.profile_impl.source_spec("mnli")
    assert (slow.train_config(spec, 0).lr, slow.train_config(spec, 0).head_lr) == (2.5e-5, 5e-4)
    assert (plain.train_config(spec, 0).lr, plain.train_config(spec, 0).head_lr) == (5e-4, None)
    bigger = study_from_dict({**BASE, "world": {"intermediate_scale": 2}})
    assert len(bigger.profile_impl.load("mnli", "en", "train").examples) == 2 * len(plain.profile_impl.load("mnli", "en", "train").examples)
    assert len(bigger.profile_impl.load("udpos", "en", "train").examples) == len(plain.profile_impl.load("udpos", "en", "train").examples)
    assert "profile xtreme reads real data" in _refused({**BASE, "profile": "xtreme", "world": {"lr_ratio": 0.1}}, "world")


def test_a_world_with_more_languages_has_its_own_model_and_evaluates_them_all():
    plain = study_from_dict(BASE)
    wide = study_from_dict({**BASE, "world": {"high_languages": 5}})
    assert {r.id for r in plain.runs()}.isdisjoint(r.id for r in wide.runs())
    assert plain.profile_impl.key()["world"] != wide.profile_impl.key()["world"]  # another pretrained model
    assert "high_languages" not in plain.profile_impl.key()["sizes"]  # in the model's key, not twice
    assert wide.profile_impl.target_spec("xnli").languages == ("en", "nh", "nl", "mh", "ml", "fh", "fl", "ah", "eh")
    assert wide.profile_impl.load("xnli", "eh", "test").examples
    assert "5 high- and 3 low-resource" in make_profile("toy", world={"high_languages": 5}).banner
    with pytest.raises(ConfigError, match="toy world: language 'eh' is not one of en, nh"):
        plain.profile_impl.load("xnli", "eh", "test")
