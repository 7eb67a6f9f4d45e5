"""``xlt reports``: notebooks executed with Papermill, rendered to HTML, indexed."""
from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from xltlib.cli import main
from xltlib.errors import ConfigError
from xltlib.report.reports import build_reports, notebooks, parse_params


def test_parameters_are_read_as_yaml_and_bad_ones_are_named():
    assert parse_params(["seeds=[0, 1]", "train_scale=0.5", "focus=tydiqa"]) == \
        {"seeds": [0, 1], "train_scale": 0.5, "focus": "tydiqa"}
    with pytest.raises(ConfigError, match="-p 'seeds': expected key=value"):
        parse_params(["seeds"])


def test_every_research_question_has_a_notebook():
    assert [nb.stem[:2] for nb in notebooks()] == ["00", "01", "02", "03", "04", "05"]


@pytest.mark.slow  # ~15 s: a notebook executed (the suite's one execution of notebook 00 besides nbval's)
def test_a_report_is_executed_rendered_and_indexed_with_progress_lines_on_stderr(tmp_path, monkeypatch, capsys):
    """`xlt reports --study FILE ... 2>log`: notebook 00 runs (or loads) that study instead of its defaults,
    renders under the study's name and writes progress lines to stderr (not a terminal here)."""
    monkeypatch.setenv("XLT_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ConfigError, match="unknown notebook\\(s\\) \\['99_nothing'\\]"):
        build_reports("smoke", ["99_nothing"], tmp_path)
    study = tmp_path / "mine.yaml"
    study.write_text("name: my-study\nprofile: smoke\nintermediate: [baseline, mnli]\ntargets: [udpos, tatoeba]\n"
                     "languages: [en, nh]\nseeds: [0]\ntrain_scale: 0.3\n")
    assert main(["reports", "--study", str(study), "--out", str(tmp_path)]) == 0  # notebook 00 alone: no --only
    out, err = capsys.readouterr()
    target = tmp_path / "my-study"
    assert out.split() == [str(target / "00_xstilts_main_table.html")]
    lines = err.splitlines()
    assert "00_xstilts_main_table: started (notebook 1 of 1, profile smoke)" in lines
    runs = [l for l in lines if re.fullmatch(r"00_xstilts_main_table: \S+: \d+/\d+ runs done, .+ elapsed(, .+)?", l)]
    assert len(runs) >= 2 and runs[0].endswith("time left known once a run finishes"), err
    done, total = map(int, re.search(r"(\d+)/(\d+) runs done", runs[-1]).groups())
    assert done == total == 4 and runs[-1].endswith("elapsed")
    assert re.search(r"00_xstilts_main_table: done in \d+ s", err)
    assert "runs done" not in (target / "00_xstilts_main_table.ipynb").read_text()  # not in the notebook
    for name in ("00_xstilts_main_table.ipynb", "00_xstilts_main_table.csv", "00_gains.png",
                 "00_xstilts_main_table.seconds"):
        assert (target / name).exists(), name
    html = (target / "00_xstilts_main_table.html").read_text()
    assert "Profile <code>smoke</code>" in html and "4 runs: 2 setups x 2 targets x 1 seeds" in html
    assert "import pandas" not in html  # code cells are left out of the page
    index = (tmp_path / "index.html").read_text()
    assert "my-study/00_xstilts_main_table.html" in index and "X-STILTs main table" in index
    table = pd.read_csv(target / "00_xstilts_main_table.csv")
    assert set(table.setup) == {"baseline", "mnli"} and set(table.target) == {"udpos", "tatoeba"}
    assert set(table.language) == {"en", "nh"}
    assert list((tmp_path / "runs" / "my-study" / "results").glob("*.parquet"))  # the run cache it shares
    study.write_text("name: bad\nprofile: smoke\ntargets: [nope]\n")
    assert main(["reports", "--study", str(study), "--out", str(tmp_path)]) == 2  # validated before any notebook


def test_a_baseline_only_study_is_set_beside_its_control(tmp_path, monkeypatch):
    """`xlt reports --study FILE -p control_file CONTROL`: a study of the baseline alone renders (no gains
    over itself to show), its scores beside a control study's (here: the same baseline at random weights),
    paired by seed, with the answer and the power against the control; a control of two setups is refused."""
    monkeypatch.setenv("XLT_CACHE", str(tmp_path / "cache"))
    design = "profile: smoke\nintermediate: [baseline]\ntargets: [udpos]\nlanguages: [en, nh]\nseeds: [0, 1]\n"
    (tmp_path / "study.yaml").write_text("name: alone\n" + design)
    (tmp_path / "random.yaml").write_text("name: alone-random\nrandom_weights: true\n" + design)
    (tmp_path / "two.yaml").write_text("name: two\n" + design.replace("[baseline]", "[baseline, mnli]"))
    monkeypatch.chdir(tmp_path)  # the files named from here; the notebook runs in its own folder
    assert main(["reports", "--study", "study.yaml", "-p", "control_file", "random.yaml", "--out", "out"]) == 0
    target = tmp_path / "out" / "alone"
    versus = pd.read_csv(target / "00_versus_control.csv")
    assert set(versus.language) == {"en", "nh", "zero-shot mean"} and set(versus.seeds) == {2}
    assert (versus.difference.round(6) == (versus.score - versus.control).round(6)).all()  # same seeds: means agree
    table = pd.read_csv(target / "00_xstilts_main_table.csv")
    assert set(table.setup) == {"baseline"}  # the control's rows are not the study's
    assert list((tmp_path / "out" / "runs" / "alone-random" / "results").glob("*.parquet"))  # its own runs
    html = (target / "00_xstilts_main_table.html").read_text()
    assert "only its baseline" in html and "with every weight drawn at random" in html
    nh = versus.set_index("language").loc["nh"]
    assert f"<code>baseline</code> against the control: {nh.difference:+.1f} points" in html
    assert "gains over the control on the zero-shot languages" in html  # the power statement
    with pytest.raises(ConfigError, match="control_file .*two.yaml: expected a study of one setup .*found 2: baseline, mnli"):
        build_reports(study="study.yaml", params={"control_file": "two.yaml"}, out="fresh")
    assert not (tmp_path / "fresh").exists()  # refused before any notebook or run started


def test_progress_lines_come_per_finished_run_and_per_minute_while_none_finishes(tmp_path):
    import time

    from xltlib.experiment.runner import Progress

    stream = io.StringIO()
    with Progress("s", 4, stream, every=0.2) as progress:
        time.sleep(0.5)  # nothing finishes: a line "a minute" (here 0.2 s)
        progress.update(2)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("s: 0/4 runs done, 0 s elapsed, time left known once a run finishes")
    assert len(lines) >= 3 and lines[1].startswith("s: 0/4 runs done")
    assert re.fullmatch(r"s: 2/4 runs done, \d+ s elapsed, about \d+ s left", lines[-1])
    log = tmp_path / "progress.log"  # a path: the lines are appended to the file
    with Progress("s", 1, str(log)) as progress:
        progress.update(1)
    assert log.read_text().splitlines()[-1].startswith("s: 1/1 runs done")


def test_environ_sets_and_unsets_for_the_block_and_restores_even_on_error(monkeypatch):
    import os

    from xltlib.report.reports import environ

    monkeypatch.setenv("XLT_TEST_KEPT", "before")
    monkeypatch.delenv("XLT_TEST_NEW", raising=False)
    with pytest.raises(RuntimeError):
        with environ(XLT_TEST_KEPT=None, XLT_TEST_NEW="set"):
            assert "XLT_TEST_KEPT" not in os.environ and os.environ["XLT_TEST_NEW"] == "set"
            raise RuntimeError
    assert os.environ["XLT_TEST_KEPT"] == "before" and "XLT_TEST_NEW" not in os.environ
