"""Adding a task is one record: a ``TaskSpec`` naming where its splits live on the Hub and which schema
reads them. Everything else follows from it: loading, the study checks, ``xlt plan`` (which counts what
its size table lacks as nothing, with a note) and a run. Here a BoolQ-like intermediate task, its Hub repo
written by its schema's own writer, trains phase 1 of a study on a tiny model with XLM-R's real tokenizer."""
from __future__ import annotations

from xltlib.data import load_examples
from xltlib.data.mirror import build_mirror
from xltlib.experiment.plan import plan_study
from xltlib.experiment.results import load_results
from xltlib.experiment.runner import run_study
from xltlib.experiment.study import study_from_dict
from xltlib.registry import tasks
from xltlib.registry.examples import ClassificationExample
from xltlib.registry.tasks import Format, HubSource, TaskSpec

from test_encoders import SAMPLE, _model

BOOLQ = TaskSpec(
    "boolq", "BoolQ", Format.CLASSIFICATION, "intermediate", ("accuracy",), ("en",),
    hub={split: (HubSource("acme/boolq", None, hub_split, "pair", columns={"text_a": "question", "text_b": "passage"}),)
         for split, hub_split in (("train", "train"), ("dev", "validation"))},
    labels=("no", "yes"), epochs=1,
)


def test_a_task_added_as_one_record_loads_plans_and_trains(tmp_path, monkeypatch, one_thread):
    monkeypatch.setitem(tasks._REGISTRY, BOOLQ.name, BOOLQ)  # the one record

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
