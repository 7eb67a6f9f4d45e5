"""The toy-vs-paper table: each of the paper's claims as a signed statistic over seeds, with a verdict."""
from __future__ import annotations

import pandas as pd

from xltlib.experiment.study import Setup
from xltlib.report.claims import check_claims, claim_roles

SETUPS = [Setup("baseline"), Setup("mnli", ("mnli",)), Setup("squad", ("squad_v1",)), Setup("sst2", ("sst2",)),
          Setup("all", ("mnli", "squad_v1", "sst2")), Setup("mnli_tr", ("mnli",), languages=("en", "nh")),
          Setup("mnli_mlm", ("mnli", "mlm"))]


def scores_with(gain):
    """Scores of every setup, target, language and seed: the baseline's 50, others 50 + gain(...)."""
    rows = []
    for setup in [s.name for s in SETUPS]:
        for target in ("xnli", "tydiqa", "tatoeba"):
            for lang in ("en", "nh", "fh"):
                for seed in (0, 1, 2):
                    value = 50.0 if setup == "baseline" else 50.0 + gain(setup, target, lang, seed)
                    rows.append({"setup": setup, "target": target, "language": lang, "seed": seed, "score": value})
    return pd.DataFrame(rows)


def test_roles_come_from_what_each_setup_trains_not_from_its_name():
    roles = claim_roles(SETUPS)
    assert roles["best"] == ["mnli", "squad"] and roles["others"] == ["sst2"] and roles["multitask"] == "all"
    assert roles["translated"] == {"mnli_tr": "mnli"} and roles["mlm"] == {"mnli_mlm": "mnli"}


def test_each_claim_gets_its_sign_checked_over_seeds():
    def paper_like(setup, target, lang, seed):
        if lang == "en":
            return -50.0  # English never counts: the claims are about zero-shot languages
        base = {"mnli": 2.0, "squad": 3.0, "sst2": -1.0, "all": 1.0, "mnli_tr": -2.0, "mnli_mlm": 0.0}[setup]
        if target == "tatoeba":
            base += 4.0 if setup != "all" else 9.0
        if target == "xnli":
            base -= 3.0
        return base + 0.1 * seed
    table = check_claims(scores_with(paper_like), claim_roles(SETUPS)).set_index("claim")
    assert (table["reproduced"] == "yes").all(), table[["mean", "ci_low", "ci_high", "reproduced"]]
    assert table["seeds"].eq(3).all()

    def opposite(setup, target, lang, seed):
        return -paper_like(setup, target, lang, seed) + (seed - 1) * 0.01
    table = check_claims(scores_with(opposite), claim_roles(SETUPS))
    assert (table["reproduced"] == "no").all(), table


def test_noise_is_inconclusive_and_missing_setups_are_not_measured():
    noisy = lambda setup, target, lang, seed: [-3.0, 0.5, 3.0][seed]
    table = check_claims(scores_with(noisy), claim_roles(SETUPS))
    assert set(table["reproduced"]) == {"inconclusive"}
    few = scores_with(lambda *a: 1.0)
    few = few[few["setup"].isin(["baseline", "mnli"])]
    table = check_claims(few, claim_roles(SETUPS[:2])).set_index("claim")
    assert table.loc["TyDiQA gains", "reproduced"] == "yes"
    assert table.loc["English intermediate data beats machine-translated data", "reproduced"] == "not measured"
