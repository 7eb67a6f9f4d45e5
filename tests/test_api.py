"""The Python API: ``import xltlib as xlt; xlt.load_study / xlt.plan / xlt.run_study / xlt.load_results``,
cheap to import (no torch) and complete in ``dir``."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

import xltlib as xlt
from xltlib.errors import ConfigError

TINY = {"name": "api", "profile": "smoke", "seeds": [0], "targets": ["xnli"], "languages": ["en", "nh"],
        "intermediate": ["baseline"], "train_scale": 0.3}


def test_importing_xltlib_loads_neither_torch_nor_the_engine():
    code = ("import sys, xltlib; bad = [m for m in sys.modules if m == 'torch' or m.startswith(('xltlib.engine', "
            "'xltlib.experiment'))]; assert not bad, bad; print(sorted(xltlib.__all__))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for name in ("load_study", "run_study", "load_results", "plan"):
        assert name in result.stdout


def test_the_names_import_and_are_listed():
    from xltlib import load_results, load_study, plan, run_study  # noqa: F401

    from xltlib.experiment.results import load_results as deep_load_results
    from xltlib.experiment.runner import run_study as deep_run_study

    assert xlt.run_study is deep_run_study and xlt.load_results is deep_load_results
    assert set(xlt.__all__) <= set(dir(xlt))
    assert all(hasattr(xlt, name) for name in xlt.__all__)
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        xlt.no_such_name  # noqa: B018


def test_load_study_takes_a_file_or_a_dict_and_validates(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    assert xlt.load_study(path) == xlt.load_study(TINY)
    assert xlt.load_study({k: v for k, v in TINY.items() if k != "name"}, name="unnamed").name == "unnamed"
    with pytest.raises(ConfigError, match="profile: 'laptop' is not one of"):
        xlt.load_study({**TINY, "profile": "laptop"})


def test_plan_counts_a_study_given_as_a_study_a_file_or_a_dict(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    plans = [xlt.plan(source) for source in (xlt.load_study(TINY), path, TINY)]
    assert {p.runs for p in plans} == {1}
    assert plans[0].to_json()["runs"] == 1


def test_a_smoke_study_runs_through_the_api(tmp_path, smoke_cache):
    study = xlt.load_study(TINY)
    counts = xlt.run_study(study, tmp_path / "runs", progress=False)
    assert (counts["runs"], counts["ran"]) == (1, 1)
    df = xlt.load_results(tmp_path / "runs")
    assert set(df["language"]) >= {"en", "nh"} and set(df["target"]) == {"xnli"}
    assert xlt.run_study(study, tmp_path / "runs", progress=False)["ran"] == 0  # nothing recomputed
