"""The notebooks' experiments (xltlib/experiment/studies.py): every notebook's default study per profile is valid, the
notebooks declare the parameters their defaults have, and ``xlt plan --notebook`` plans them."""
import json

import pytest

from xltlib.errors import ConfigError
from xltlib.experiment.studies import DEFAULTS, build
from xltlib.experiment.study import study_from_dict
from xltlib.report.reports import notebook_parameters, notebooks


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_every_notebooks_default_studies_are_valid_on_every_profile(name):
    for profile in ("smoke", "toy", "xtreme"):
        e = build(name, profile)
        assert e.studies and e.study is e.studies[0] and e.profile == profile
        for s in e.studies:
            study = study_from_dict(s, name)  # raises ConfigError naming the field, if any
            assert study.profile == profile and len(study.runs()) > 0


def test_each_notebook_is_one_of_the_experiments_and_declares_their_parameters():
    from xltlib.rehearsal import LONGEST_FIRST

    assert sorted(nb.stem for nb in notebooks()) == sorted(DEFAULTS) == sorted(LONGEST_FIRST)  # the rehearsal's order
    internal = {"benchmark", "cap"}  # defaults the notebooks do not expose
    for nb in notebooks():
        declared = set(notebook_parameters(nb))
        for profile, defaults in DEFAULTS[nb.stem].items():
            missing = set(defaults) - internal - declared
            assert not missing, f"{nb.stem} ({profile}): defaults without a notebook parameter: {missing}"


def test_a_given_parameter_wins_over_the_profile_default_and_must_be_of_its_kind():
    e = build("01_languages_diminishing_returns", "toy", ks=[0, 4], seeds=[7])
    assert [s["name"] if isinstance(s, dict) else s for s in e.study["intermediate"]] == ["baseline", "k=0", "k=4"]
    assert e.study["seeds"] == [7] and e.added[4] == ["nh", "mh", "fh", "ah"]
    with pytest.raises(ConfigError, match="parameter ks: expected a list"):
        build("01_languages_diminishing_returns", "toy", ks=4)
    with pytest.raises(ConfigError, match="no notebook 'nope'.*00_xstilts_main_table"):
        build("nope", "toy")


def test_a_study_file_replaces_the_defaults_and_brings_its_profile(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nprofile: smoke\nintermediate: [baseline]\ntargets: [udpos]\nseeds: [0]\n")
    e = build("00_xstilts_main_table", "toy", study_file=str(path))
    assert e.profile == "smoke" and e.study["name"] == "mine" and len(e.studies) == 1


def test_xlt_plan_plans_a_notebooks_studies(capsys):
    from xltlib.cli import main

    assert main(["plan", "--notebook", "04_synthetic_multilingual_vs_english_scale", "--profile", "smoke",
                 "--json"]) == 0
    plans = json.loads(capsys.readouterr().out)
    assert len(plans) == len(build("04_synthetic_multilingual_vs_english_scale", "smoke").studies)
    assert main(["plan"]) == 2 and "study file or --notebook" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_the_committed_toy_reports_come_from_the_toy_defaults_as_they_are_now(name):
    """Each committed toy report's table holds exactly the runs its notebook's toy defaults ask for (run ids
    hash everything that decides a result: a change to a default, a key or the engine revision fails here
    until the reports are rendered again with `make reports`)."""
    import pandas as pd

    from xltlib.report.reports import ROOT

    table = pd.read_csv(ROOT / "reports" / "toy" / f"{name}.csv")
    wanted = {r.id for s in build(name, "toy").studies for r in study_from_dict(s, name).runs()}
    assert set(table["run_id"]) == wanted


def test_the_quick_rehearsal_reduces_every_notebook_and_only_by_its_parameters():
    from xltlib.rehearsal import QUICK_NOTEBOOK

    assert set(QUICK_NOTEBOOK) == set(DEFAULTS)
    for name, reduced in QUICK_NOTEBOOK.items():
        extra = {k: v for k, v in reduced.items() if k in DEFAULTS[name]["xtreme"]}
        build(name, "xtreme", **extra)  # of the kinds the defaults have
