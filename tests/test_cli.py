"""The command line's conventions: help for every option, --version, a parser built without torch, one way
to give a list (the others read the same), flags a command would ignore refused, papermill's -p form,
machine-readable output."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pandas as pd
import pytest

from xltlib import cli


def _actions(parser: argparse.ArgumentParser, path: str = "xlt"):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, f"{path} {name}")
        elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            yield path, action


def test_every_option_has_help():
    missing = [f"{path} {a.option_strings or a.dest}" for path, a in _actions(cli.build_parser()) if not a.help]
    assert not missing


def test_version_and_a_parser_built_without_torch(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("xlt 0.")
    code = "import sys; from xltlib.cli import build_parser; build_parser(); assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_the_toy_sizes_the_parser_offers_are_the_models():
    from xltlib.toy.pretrain import SIZES

    assert set(cli.TOY_SIZES) == set(SIZES)


@pytest.mark.parametrize("argv", [["--languages", "en", "de"], ["--languages", "en,de"],
                                  ["--languages", "en", "--languages", "de"]])
def test_a_list_is_read_the_same_in_every_form(argv):
    args = cli.build_parser().parse_args(["data", "audit", "xnli", *argv])
    assert args.languages == ["en", "de"]


def test_list_values_are_checked_by_name():
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["data", "audit", "--splits", "dev,bogus"])
    args = cli.build_parser().parse_args(["toy", "alignment", "--lr-ratios", "0.5,0.1", "--seed", "0", "1"])
    assert args.lr_ratios == [0.5, 0.1] and args.seed == [0, 1] and args.epochs == [1.0, 3.0, 9.0]


def test_plan_refuses_a_profile_it_would_ignore(capsys):
    assert cli.main(["plan", "examples/toy_small.yaml", "--profile", "xtreme"]) == 2
    assert "--profile goes with --notebook" in capsys.readouterr().err


def test_notebook_parameters_as_papermill_gives_them():
    assert cli._parameters([["seeds", "[0, 1]"], ["train_scale=0.5"]]) == {"seeds": [0, 1], "train_scale": 0.5}
    with pytest.raises(Exception, match="expected -p KEY VALUE"):
        cli._parameters([["a", "b", "c"]])


def test_results_in_json_and_parquet(tmp_path, capsys):
    from xltlib.experiment.results import COLUMNS, write_rows

    write_rows(tmp_path, "r1", [{c: None for c in COLUMNS} | {"run_id": "r1", "metric": "accuracy", "value": 50.0}])
    assert cli.main(["results", str(tmp_path), "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["run_id"] == "r1" and row["value"] == 50.0
    assert cli.main(["results", str(tmp_path), "--format", "parquet"]) == 2  # not to a terminal
    assert cli.main(["results", str(tmp_path), "--format", "parquet", "--output", str(tmp_path / "t.parquet")]) == 0
    assert pd.read_parquet(tmp_path / "t.parquet").value.tolist() == [50.0]


def test_workers_auto_is_one_per_visible_gpu_else_one_per_core(monkeypatch):
    import os

    parse = lambda: cli.build_parser().parse_args(["run", "s.yaml", "--out", "o", "--workers", "auto"]).workers  # noqa: E731
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,3,5")
    assert parse() == 3
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert parse() == (os.cpu_count() or 1)
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["run", "s.yaml", "--out", "o", "--workers", "many"])
