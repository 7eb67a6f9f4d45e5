"""Split slices (xltlib.data.slices): a target trained on English items of a set translated item by item and
scored on the other items in every language; slices that overlap are refused by name."""
from __future__ import annotations

import pytest

from xltlib.data.slices import parse
from xltlib.errors import ConfigError
from xltlib.experiment.results import load_results
from xltlib.experiment.study import study_from_dict
from xltlib.rehearsal import SAMPLE

from test_schedule import _tiny_model  # noqa: E402 (tests/ is on the path)


def _study(model: str, **fields) -> dict:
    return {"name": "sl", "profile": "xtreme", "model": model, "local_data": str(SAMPLE), "targets": ["xnli", "pawsx"],
            "languages": ["en", "de", "zh"], "train_on": {"xnli": "xnli", "pawsx": "pawsx"},
            "train_split": {"xnli": "dev[:50%]", "pawsx": "dev[:50%]"},
            "eval_split": {"xnli": "dev[50%:]", "pawsx": "dev[50%:]"}, "train_scale": 0.05, "random_weights": True,
            **fields}


def test_slices_parse_and_say_what_is_wrong():
    assert str(parse("dev[:1000]")) == "dev[:1000]" and parse("dev").whole
    assert parse("dev[10:20]").bounds(100) == (10, 20) and parse("dev[10%:]").bounds(2490) == (249, 2490)
    with pytest.raises(ValueError, match=r"expected train, dev or test, optionally with \[start:stop\]"):
        parse("validation[:5]")
    assert parse("dev[:1000]").overlaps(parse("dev[50%:]"))  # bounds in two units: taken as overlapping


def test_overlapping_training_and_scored_slices_are_refused_by_name(tmp_path):
    model = _tiny_model(tmp_path / "model")
    with pytest.raises(ConfigError, match=r"train_split.xnli dev\[:50%\] and eval_split.xnli dev\[40%:\] overlap"):
        study_from_dict(_study(model, eval_split={"xnli": "dev[40%:]", "pawsx": "dev[50%:]"}))
    with pytest.raises(ConfigError, match=r"train_split: udpos is no target's English training task"):
        study_from_dict(_study(model, train_split={"udpos": "dev[:50%]"}))
    with pytest.raises(ConfigError, match=r"eval_split: expected .* a slice of one"):
        study_from_dict(_study(model, eval_split={"xnli": "dev[50:%]"}))


@pytest.mark.slow
def test_zero_shot_from_english_dev_items_scores_the_other_items_in_every_language(tmp_path, one_thread):
    from xltlib.experiment.runner import loader, run_study

    study = study_from_dict(_study(_tiny_model(tmp_path / "model")))
    load = loader(study)
    train, scored = load("xnli", "en", "train").examples, load("xnli", "en", "dev[50%:]").examples
    full = study.profile_impl.load("xnli", "en", "dev").examples
    assert train + scored == full and not {e.id for e in train} & {e.id for e in scored}
    assert len(load("xnli", "de", "dev[50%:]").examples) == len(scored)  # the same positions in every language
    run = study.runs()[0]
    assert study.dev_task_of(run.chain()[-1]) is None  # no English dev left to select on: a fixed budget
    run_study(study, tmp_path / "out", progress=False)
    table = load_results(tmp_path / "out")
    scored_rows = table[table.phase == "zero-shot"]
    assert set(zip(scored_rows.target, scored_rows.language)) == {(t, l) for t in ("xnli", "pawsx")
                                                                   for l in ("en", "de", "zh")}
    assert set(scored_rows.split) == {"dev[50%:]"} and not scored_rows.comparable.any()
    assert scored_rows.note.str.contains(r"fine-tuned on xnli dev\[:50%\]|fine-tuned on pawsx dev\[:50%\]").all()
