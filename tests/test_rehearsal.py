"""The quick rehearsal (make test's share of `make rehearsal`): the xtreme profile's real code path, end to
end, on a Hub mirror of real-format data with random-weight XLM-R stand-ins and XLM-R's real tokenizer:
every XTREME target once (all its languages but a few: `QUICK_STUDY`), XTREME-R's XCOPA and missing UD
languages, and every notebook once with its xtreme defaults cut down."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from xltlib.registry.tasks import get_benchmark

pytestmark = pytest.mark.slow  # ~200 s: the quick rehearsal


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    from xltlib.rehearsal import rehearse

    out = tmp_path_factory.mktemp("rehearsal")
    return out, rehearse(out, quick=True)


def test_every_xtreme_target_runs_on_the_real_code_path(rehearsal):
    out, done = rehearsal
    assert done["targets"] == sorted(get_benchmark("xtreme").tasks)
    table = pd.read_csv(done["results"])
    test = table[table.split == "test"]
    assert set(test.target) == set(get_benchmark("xtreme").tasks) and test.value.notna().all()
    assert set(test.model) == {"FacebookAI/xlm-roberta-large"} and set(test.train_scale) == {0.2}
    assert set(test[test.target == "bucc2018"].comparable) == {False}  # the Hub's BUCC: gold pairs only
    assert set(test[test.target == "xnli"].comparable) == {True}


def test_every_notebook_renders_saying_its_weights_are_random(rehearsal):
    out, done = rehearsal
    assert len(done["pages"]) == 6
    for page in done["pages"]:
        text = re.sub(r"<[^>]+>", " ", open(page, encoding="utf-8").read())
        assert "Rehearsal: random weights" in text, page


def test_missing_xtreme_r_languages_are_listed_with_their_reason(rehearsal):
    out, _ = rehearsal
    table = pd.read_csv(out / "reports" / "xtreme" / "01_languages_diminishing_returns.csv")
    missing = table[table.metric == "missing"]
    assert set(missing.language) == {"lt", "pl", "ro", "uk", "wo"} and set(missing.target) == {"udpos"}
    assert missing.note.str.contains("no Hub source").all()
    xcopa = table[(table.target == "xcopa") & (table.split == "test")]
    assert len(set(xcopa.language)) == 11  # trained on SIQA (a script-only Hub repo), then COPA
    page = open(out / "reports" / "xtreme" / "01_languages_diminishing_returns.html", encoding="utf-8").read()
    assert "missing" in page and "udpos/lt" in page


def test_the_study_starts_without_ccgbank_and_lists_the_ccg_runs_it_skipped(rehearsal):
    out, done = rehearsal
    assert done["skipped"] and {s["setup"] for s in done["skipped"]} == {"ccg"}
    assert all("ccg en/train" in s["reason"] for s in done["skipped"])
    table = pd.read_csv(done["results"])
    assert "ccg" not in set(table.setup) and {"baseline", "mnli"} <= set(table.setup)


def test_what_each_phase_costs_is_reported(rehearsal):
    _, done = rehearsal
    phase1 = done["costs"]["phase1"]
    assert phase1 and all(p["seconds"] > 0 and p["checkpoint_gb"] > 0.01 for p in phase1)  # 250k embeddings
    assert any(k.startswith("FacebookAI/xlm-roberta-large ") for k in done["costs"]["run_seconds"])


def test_real_size_stand_ins_have_the_real_shapes():
    from xltlib.rehearsal import stand_in_config

    large, xl = (stand_in_config(r, real_size=True) for r in ("FacebookAI/xlm-roberta-large", "facebook/xlm-roberta-xl"))
    assert (large.hidden_size, large.num_hidden_layers, large.vocab_size) == (1024, 24, 250002)
    assert (xl.model_type, xl.hidden_size, xl.num_hidden_layers, xl.vocab_size) == ("xlm-roberta-xl", 2560, 36, 250880)
    assert stand_in_config("FacebookAI/xlm-roberta-large").hidden_size == 32
