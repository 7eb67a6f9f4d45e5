"""xlt power: the spread of paired gains, the smallest detectable gain, and what 1, 2, 5 points would take
(xltlib.report.power), on made-up tables with known answers and on a toy study's output."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from xltlib import cli
from xltlib.experiment.results import COLUMNS
from xltlib.report import power


def _table(gains: dict[int, float], base: float = 50.0, languages=("en", "de", "fr")) -> pd.DataFrame:
    rows = []
    for seed, gain in gains.items():
        for setup, value in (("baseline", base), ("mnli", base + gain)):
            for lang in languages:
                rows.append({c: None for c in COLUMNS} | {
                    "run_id": f"{setup}{seed}", "setup": setup, "target": "xnli", "language": lang, "seed": seed,
                    "phase": "zero-shot", "split": "test", "metric": "accuracy", "value": value, "model": "m"})
    return pd.DataFrame(rows)


def test_the_spread_and_the_smallest_detectable_gain_follow_the_paired_gains():
    frame = power.report(_table({0: 1.0, 1: 3.0, 2: 2.0}))
    row = frame[frame.group == "zero-shot"].iloc[0]
    assert row.seeds == 3 and row.mean_gain == pytest.approx(2.0) and row.sd == pytest.approx(1.0)
    assert row.mde == pytest.approx(power.detectable(1.0, 3))
    assert row["seeds_for_5"] == power.seeds_for(5.0, 1.0) <= row["seeds_for_2"] <= row["seeds_for_1"]
    assert math.isnan(row.item_sd)  # no example counts given: the noise is not split


def test_more_seeds_detect_smaller_gains_and_the_formula_holds():
    assert power.detectable(2.0, 3) > power.detectable(2.0, 5) > power.detectable(2.0, 20)
    # (t(0.975, 9) + t(0.8, 9)) * sd / sqrt(10) = (2.262 + 0.883) / 3.162
    assert power.detectable(1.0, 10) == pytest.approx(0.9947, abs=1e-3)
    assert math.isnan(power.detectable(1.0, 1))


def test_scored_example_noise_is_separated_from_seed_noise():
    table = _table({0: 1.0, 1: 3.0, 2: 2.0}, base=50.0)
    examples = {("xnli", lang): 100 for lang in ("de", "fr")}
    row = power.report(table, examples).set_index("group").loc["zero-shot"]
    # two languages of 100 examples at 50%: 2 * (50 * 50 / 100) / 2 = 25 -> item sd 5, more than the spread
    assert row.item_sd == pytest.approx(5.0) and row.seed_sd == 0.0
    assert row["examples_for_1"] is not None and row["examples_for_1"] > 100
    few = power.examples_for(1.0, seed_sd=3.0, item_sd=1.0, examples=100, seeds=3)
    assert few is None  # seed noise alone hides a 1-point gain with 3 seeds: no number of examples helps


def test_power_needs_a_baseline():
    table = _table({0: 1.0, 1: 2.0})
    with pytest.raises(Exception, match="no 'control' setup"):
        power.report(table, baseline="control")


@pytest.mark.slow
def test_xlt_power_on_a_toy_study_and_plan_with_a_pilot(tmp_path, capsys, smoke_cache):
    study = {"name": "pilot", "profile": "smoke", "model": "smoke", "targets": ["xnli"], "languages": ["en", "nh"],
             "intermediate": ["baseline", {"name": "mnli", "tasks": ["mnli"]}], "seeds": [0, 1, 2],
             "train_scale": 0.3}
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(study))
    assert cli.main(["run", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["power", str(tmp_path / "o"), "--json"]) == 0
    rows = {r["group"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["zero-shot"]["seeds"] == 3 and rows["zero-shot"]["examples"] > 0 and rows["zero-shot"]["sd"] >= 0
    control = tmp_path / "c.yaml"  # the same design, baseline only, every weight random: paired against it
    control.write_text(json.dumps({**study, "intermediate": ["baseline"], "random_weights": True}))
    assert cli.main(["run", str(control), "--out", str(tmp_path / "c"), "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["power", str(tmp_path / "o"), "--against", str(tmp_path / "c")]) == 0
    text = capsys.readouterr().out
    assert f"paired gains over {tmp_path / 'c'}'s scores" in text and "xnli" in text
    assert cli.main(["power", str(tmp_path / "c"), "--against", str(tmp_path / "o")]) == 2  # two setups there
    assert "expected a study of one setup" in capsys.readouterr().err
    bigger = tmp_path / "big.yaml"
    bigger.write_text(json.dumps({**study, "seeds": list(range(10))}))
    assert cli.main(["plan", str(bigger), "--pilot", str(tmp_path / "o")]) == 0
    assert "power with 10 seed(s)" in capsys.readouterr().out


def test_a_reports_power_statement_beside_its_answer():
    text = power.answer(power.report(_table({0: 1.0, 1: 3.0, 2: 2.0})))
    assert "| xnli | 3 | +2.0 | 1.0 |" in text and f"up to {power.detectable(1.0, 3):.1f} points (xnli)" in text
    assert "cannot be estimated" in power.answer(power.report(_table({0: 1.0})))


def test_a_study_beside_its_control_is_paired_by_the_seeds_both_have():
    """Notebook 00's control section (``xltlib.report.notebook.versus_control``): per language and on the mean
    of the zero-shot languages, each one's mean over its own seeds and the difference over the seeds in common."""
    from xltlib.report import notebook

    study = _table({0: 1.0, 1: 3.0, 2: 2.0})
    study = study[study.setup == "mnli"]  # scores 51, 53, 52 by seed
    control = _table({0: 0.0}, base=40.0)
    control = control[control.setup == "baseline"].assign(setup=notebook.CONTROL, model="another")
    versus = notebook.versus_control(study, control).set_index("language")
    assert list(versus.index) == ["de", "en", "fr", notebook.ZERO_SHOT_MEAN]
    row = versus.loc[notebook.ZERO_SHOT_MEAN]
    assert (row.score, row.lowest, row.highest, row.control) == (52.0, 51.0, 53.0, 40.0)
    assert row.difference == 11.0 and row.seeds == 1  # seed 0 alone is paired, whatever the model
    assert "+11.0 points on the mean of its zero-shot languages on the one seed both have" in notebook.control_lines(versus.reset_index())[0]
    other = notebook.versus_control(study, control.assign(seed=7))
    assert (other.seeds == 0).all() and other.difference.isna().all()
    assert "no seed in common" in notebook.control_lines(other)[0]
