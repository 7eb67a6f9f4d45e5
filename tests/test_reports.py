"""``xlt reports``: notebooks executed with Papermill, rendered to HTML, indexed."""
from __future__ import annotations

import pytest

from xltlib.errors import ConfigError
from xltlib.reports import build_reports, notebooks, parse_params


def test_parameters_are_read_as_yaml_and_bad_ones_are_named():
    assert parse_params(["seeds=[0, 1]", "train_scale=0.5", "focus=tydiqa"]) == \
        {"seeds": [0, 1], "train_scale": 0.5, "focus": "tydiqa"}
    with pytest.raises(ConfigError, match="-p 'seeds': expected key=value"):
        parse_params(["seeds"])


def test_every_research_question_has_a_notebook():
    assert [nb.stem[:2] for nb in notebooks()] == ["00", "01", "02", "03", "04", "05"]


def test_a_report_is_executed_rendered_and_indexed(tmp_path, monkeypatch):
    monkeypatch.setenv("XLT_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ConfigError, match="unknown notebook\\(s\\) \\['99_nothing'\\]"):
        build_reports("smoke", ["99_nothing"], tmp_path)
    pages = build_reports("smoke", ["00_xstilts_main_table"], tmp_path, {"seeds": [0]})
    target = tmp_path / "smoke"
    assert pages == [target / "00_xstilts_main_table.html"]
    for name in ("00_xstilts_main_table.ipynb", "00_xstilts_main_table.csv", "00_gains.png",
                 "00_xstilts_main_table.seconds"):
        assert (target / name).exists(), name
    html = pages[0].read_text()
    assert "On the **smoke** profile" not in html and "On the <strong>smoke</strong> profile" in html
    assert "import pandas" not in html  # code cells are left out of the page
    index = (tmp_path / "index.html").read_text()
    assert "smoke/00_xstilts_main_table.html" in index and "X-STILTs main table" in index
    assert list((tmp_path / "runs" / "smoke" / "results").glob("*.parquet"))  # the run cache it shares
