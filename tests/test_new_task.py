"""Adding a task is one public call with one record: ``xltlib.register_task(TaskSpec(...))``, naming where its
splits live on the Hub (and which schema reads them) and in a local directory (and which reader). Everything
else follows from it: loading, the study checks, ``xlt plan`` (which counts what its size table lacks as
nothing, with a note) and a run. Here a BoolQ-like intermediate task, its Hub repo written by its schema's own
writer, trains phase 1 of a study on a tiny model with XLM-R's real tokenizer."""
from __future__ import annotations

import pytest

import xltlib as xlt
from xltlib.data import load_examples
from xltlib.data.mirror import build_mirror
from xltlib.experiment.plan import plan_study
from xltlib.experiment.results import load_results
from xltlib.experiment.runner import run_study
from xltlib.experiment.study import study_from_dict
from xltlib.registry import tasks
from xltlib.registry.examples import ClassificationExample
from xltlib.errors import ConfigError
from xltlib.registry.tasks import Format, HubSource, LocalFile, TaskSpec, ToyAnalog

from test_encoders import SAMPLE, _model

BOOLQ = TaskSpec(
    "boolq", "BoolQ", Format.CLASSIFICATION, "intermediate", ("accuracy",), ("en",),
    hub={split: (HubSource("acme/boolq", None, hub_split, "pair", columns={"text_a": "question", "text_b": "passage"}),)
         for split, hub_split in (("train", "train"), ("dev", "validation"))},
    labels=("no", "yes"), epochs=1, local={"dev": (LocalFile("boolq/dev.tsv", "pairs"),)},
)


@pytest.fixture
def registered():
    yield xlt.register_task(BOOLQ)  # the one record, one public call
    tasks._REGISTRY.pop(BOOLQ.name)


def test_a_task_added_as_one_record_loads_plans_and_trains(tmp_path, monkeypatch, one_thread, registered):
    def examples(spec, lang, split):
        return [ClassificationExample(str(i), f"is it {i} ?", f"passage {i} says {'yes' if i % 2 else 'no'} .",
                                      "yes" if i % 2 else "no") for i in range(24)]

    monkeypatch.setenv("XLT_HUB_MIRROR", str(build_mirror(tmp_path / "hub", [BOOLQ], lambda s, split: ["en"], examples)))
    assert load_examples("boolq", "en", "dev").examples == examples(BOOLQ, "en", "dev")

    study = study_from_dict({"name": "boolq", "profile": "xtreme", "model": _model(tmp_path / "m", "xlm-roberta"),
                             "local_data": str(SAMPLE), "intermediate": ["baseline", {"name": "boolq", "tasks": ["boolq"]}],
                             "targets": ["udpos"], "languages": ["en"], "eval_split": {"udpos": "dev"},
                             "target_size": {"udpos": 24}, "eval_size": 12, "train_scale": 0.2, "seeds": [0]})
    plan = plan_study(study)
    assert plan.runs == 2 and any("not counted: boolq" in note for note in plan.notes)  # no row in the size tables
    run_study(study, tmp_path / "out", progress=False)
    results = load_results(tmp_path / "out")
    trained = results[results.setup == "boolq"]
    assert set(results.setup) == {"baseline", "boolq"} and results.value.notna().all()
    assert (trained.phase1_key != "none").all() and (tmp_path / "out" / "checkpoints" / trained.phase1_key.iloc[0]).is_dir()


def test_a_registered_task_reads_its_own_local_layout_and_the_toy_profile_refuses_it_by_name(tmp_path, registered):
    (tmp_path / "boolq").mkdir()
    (tmp_path / "boolq" / "dev.tsv").write_text("is it ?\tit is .\tyes\nis it not ?\tit is .\tno\n")
    data = load_examples("boolq", "en", "dev", source=tmp_path)
    assert [e.label for e in data.examples] == ["yes", "no"] and data.source.endswith("dev.tsv")
    with pytest.raises(ConfigError, match="toy world has no analog of task 'boolq'"):
        xlt.load_study({"name": "t", "profile": "toy", "targets": ["xnli"],
                        "intermediate": ["baseline", {"name": "boolq", "tasks": ["boolq"]}]})


@pytest.mark.parametrize("changes, field", [
    ({"name": "xnli"}, "name: a task named 'xnli' exists"), ({"name": "Bool Q"}, "name: expected a lowercase"),
    ({"role": "main"}, "role: expected one of"), ({"train_task": "nope"}, "train_task: 'nope' is no registered"),
    ({"hub": {"train": (HubSource("acme/boolq", None, "train", "nope"),)}}, "hub.train: schema 'nope' is unknown"),
    ({"local": {"dev": (LocalFile("x.tsv", "nope"),)}}, "local.dev: reader 'nope' is unknown"),
    ({"local": {"valid": (LocalFile("x.tsv", "pairs"),)}}, "local: split 'valid' is not one of"),
    ({"toy": ToyAnalog("nope")}, "toy: generator 'nope' is not one of"),
])
def test_a_record_that_cannot_be_used_is_refused_naming_its_field(changes, field):
    import dataclasses

    with pytest.raises(ConfigError, match=field):
        xlt.register_task(dataclasses.replace(BOOLQ, **changes))
    assert "boolq" not in tasks._REGISTRY


def test_a_registered_task_with_a_toy_analog_runs_on_the_toy_profile(tmp_path, one_thread, smoke_cache):
    import dataclasses

    from xltlib.registry.tasks import get_task

    nli = dataclasses.replace(get_task("mnli"), name="my_nli", title="an NLI task of one's own", hub={}, local={},
                              toy=ToyAnalog("nli"))
    xlt.register_task(nli)
    try:
        study = xlt.load_study({"name": "t", "profile": "smoke", "targets": ["xnli"], "languages": ["en", "nh"],
                                "intermediate": ["baseline", {"name": "mine", "tasks": ["my_nli"]}],
                                "train_scale": 0.2})
        xlt.run_study(study, tmp_path, progress=False)
        assert set(xlt.load_results(tmp_path).setup) == {"baseline", "mine"}
    finally:
        tasks._REGISTRY.pop("my_nli")
