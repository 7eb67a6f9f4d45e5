"""The notebooks' experiments (notebooks/<name>.yaml, xltlib.report.experiments): every notebook's default study per
profile is valid, the notebooks name their file and declare the parameters their defaults have, and ``xlt plan
--notebook`` plans them."""
import json

import pytest

from xltlib.errors import ConfigError
from xltlib.experiment.study import Study
from xltlib.report.experiments import build, experiment_files, read_experiment
from xltlib.report.reports import notebook_parameters, notebooks

NAMES = [p.stem for p in experiment_files()]


@pytest.mark.parametrize("name", NAMES)
def test_every_notebooks_default_studies_are_valid_on_every_profile(name):
    for profile in ("smoke", "toy", "xtreme"):
        e = build(name, profile)  # validated: a ConfigError names the field, if any
        assert e.studies and e.study is e.studies[0] and e.profile == profile
        for study in e.studies:
            assert isinstance(study, Study) and study.profile == profile and len(study.runs()) > 0


def test_each_notebook_is_one_of_the_experiments_and_declares_their_parameters():
    from xltlib.rehearsal import LONGEST_FIRST

    assert sorted(nb.stem for nb in notebooks()) == sorted(NAMES) == sorted(LONGEST_FIRST)  # the rehearsal's order
    internal = {"benchmark", "cap"}  # defaults the notebooks do not expose
    for nb in notebooks():
        import papermill as pm

        declared = notebook_parameters(nb)
        experiment = pm.inspect_notebook(str(nb))["experiment"]["default"]
        assert experiment == f'"{nb.stem}.yaml"' and (nb.parent / experiment.strip('"')).exists()  # beside it
        for profile in ("smoke", "toy", "xtreme", "rehearsal"):
            missing = set(read_experiment(nb.stem)[profile]) - internal - set(declared)
            assert not missing, f"{nb.stem} ({profile}): defaults without a notebook parameter: {missing}"


def test_a_given_parameter_wins_over_the_profile_default_and_must_be_of_its_kind():
    e = build("01_languages_diminishing_returns", "toy", ks=[0, 4], seeds=[7])
    assert [s.name for s in e.study.intermediate] == ["baseline", "k=0", "k=4"]
    assert e.study.seeds == (7,) and e.added[4] == ["nh", "mh", "fh", "ah"]
    with pytest.raises(ConfigError, match="parameter ks: expected a list"):
        build("01_languages_diminishing_returns", "toy", ks=4)
    with pytest.raises(ConfigError, match="no experiment 'nope'.*00_xstilts_main_table"):
        build("nope", "toy")


def test_an_experiment_file_is_checked_and_found_by_path_or_by_its_notebooks_name(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("experiment: data_size\ntoy: {seeds: [0], tasks: [mnli], targets: [xnli], sizes: [0.5], "
                    "train_scale: 0.1}\n")
    assert [s.name for s in build(path, "toy").study.intermediate] == ["baseline", "mnli@0.5"]
    with pytest.raises(ConfigError, match="no defaults for profile 'xtreme'"):
        build(path, "xtreme")
    path.write_text("experiment: nope\n")
    with pytest.raises(ConfigError, match="experiment: expected one of main_table"):
        build(path, "toy")


def test_a_study_file_replaces_the_defaults_and_brings_its_profile(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nprofile: smoke\nintermediate: [baseline]\ntargets: [udpos]\nseeds: [0]\n")
    e = build("00_xstilts_main_table", "toy", study_file=str(path))
    assert e.profile == "smoke" and e.study.name == "mine" and len(e.studies) == 1


def test_a_study_file_brings_its_design_to_a_research_notebook_and_a_given_parameter_wins(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nprofile: smoke\ntargets: [xnli]\nseeds: [3, 4]\nintermediate:\n  - baseline\n"
                    "  - {name: a, tasks: [mnli], size: 50}\n  - {name: b, tasks: [mnli]}\n"
                    "  - {name: c, tasks: [squad_v1, mnli], mode: sequential, size: 50}\n")
    e = build("02_intermediate_data_size", "toy", study_file=str(path))
    assert (e.p.seeds, e.p.targets, e.p.tasks, e.p.sizes) == ([3, 4], ["xnli"], ["mnli", "squad_v1"], [1.0, 50])
    assert build("03_task_count_multitask_vs_sequential", "toy", study_file=str(path)).p.counts == [1, 2]
    assert build("02_intermediate_data_size", "toy", study_file=str(path), seeds=[3]).p.seeds == [3]


def test_xlt_plan_plans_a_notebooks_studies(capsys):
    from xltlib.cli import main

    assert main(["plan", "--notebook", "04_synthetic_multilingual_vs_english_scale", "--profile", "smoke",
                 "--json"]) == 0
    plans = json.loads(capsys.readouterr().out)
    assert len(plans) == len(build("04_synthetic_multilingual_vs_english_scale", "smoke").studies)
    assert main(["plan"]) == 2 and "study file or --notebook" in capsys.readouterr().err


@pytest.mark.parametrize("name", NAMES)
def test_the_committed_toy_reports_come_from_the_toy_defaults_as_they_are_now(name):
    """Each committed toy report's table holds exactly the runs its notebook's toy defaults ask for (run ids
    hash everything that decides a result: a change to a default, a key or the engine revision fails here
    until the reports are rendered again with `make reports`)."""
    import pandas as pd

    from xltlib.report.reports import ROOT

    table = pd.read_csv(ROOT / "reports" / "toy" / f"{name}.csv")
    wanted = {r.id for study in build(name, "toy").studies for r in study.runs()}
    assert set(table["run_id"]) == wanted


def test_the_quick_rehearsal_reduces_every_notebook_and_only_by_its_parameters():
    for name in NAMES:
        experiment = read_experiment(name)
        reduced = experiment["rehearsal"]
        assert reduced, name
        extra = {k: v for k, v in reduced.items() if k in experiment["xtreme"]}
        build(name, "xtreme", **extra)  # of the kinds the defaults have
