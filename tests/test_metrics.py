"""Scoring edge cases, each checked against what the official XTREME / SQuAD / MLQA / BUCC scorers do."""
from __future__ import annotations

import itertools

import pandas as pd
import pytest
import torch

from xltlib.metrics import (
    accuracy,
    bucc_f1,
    map_at_k,
    mine_candidates,
    normalize_answer,
    squad_scores,
    tagging_f1,
    tatoeba_accuracy,
    xtreme_score,
)
from xltlib.registry.tasks import Format, get_task, list_tasks


def qa(pred, golds, lang="en", rules="auto"):
    return squad_scores({"q": pred}, {"q": golds}, lang=lang, rules=rules)


# ------------------------------------------------------------------ QA
@pytest.mark.parametrize("pred,gold,em,f1", [
    ("The Cat", "cat", 100, 100),  # case and articles
    ("an apple", "apple", 100, 100),
    ("theatre", "atre", 0, 0),  # articles only as whole words
    ("U.S.A.", "USA", 100, 100),  # punctuation removed inside tokens
    ("x x y", "x y", 0, 80),  # repeated tokens: clipped counts (P 2/3, R 1)
    ("", "Paris", 0, 0),  # empty prediction
    ("the", "The", 100, 0),  # both normalize to "": SQuAD v1.1 gives EM 1 but F1 0
])
def test_squad_rules(pred, gold, em, f1):
    scores = qa(pred, [gold], rules="squad")
    assert scores["exact_match"] == em and scores["f1"] == pytest.approx(f1)


def test_multiple_golds_take_max_of_each_metric_separately():
    # EM: neither gold equals; F1: the second gold has the same bag of tokens
    assert qa("red big car", ["car", "big red car"]) == {"exact_match": 0.0, "f1": 100.0}
    assert qa("car", ["car", "big red car"]) == {"exact_match": 100.0, "f1": 100.0}


def test_unanswered_questions_score_zero_and_extra_predictions_are_ignored():
    scores = squad_scores({"a": "x", "zzz": "y"}, {"a": ["x"], "b": ["y"]})
    assert scores == {"exact_match": 50.0, "f1": 50.0}


def test_unanswerable_questions_follow_squad_v2():
    assert qa("", []) == {"exact_match": 100.0, "f1": 100.0}
    assert qa("something", []) == {"exact_match": 0.0, "f1": 0.0}


def test_unicode_punctuation_only_under_mlqa_rules():
    assert qa("«Paris»", ["Paris"], lang="es", rules="squad") == {"exact_match": 0.0, "f1": 0.0}
    assert qa("«Paris»", ["Paris"], lang="es") == {"exact_match": 100.0, "f1": 100.0}  # auto -> MLQA for es


def test_language_articles():
    assert qa("der Hund", ["Hund"], lang="de")["exact_match"] == 100
    squad = qa("der Hund", ["Hund"], lang="de", rules="squad")  # XQuAD-de is scored with English articles
    assert squad["exact_match"] == 0 and squad["f1"] == pytest.approx(100 * 2 / 3)
    assert normalize_answer("những con mèo của tôi", "vi") == "con mèo tôi"
    assert normalize_answer("los gatos", "es") == "gatos"
    assert normalize_answer("एक किताब", "hi") == "एक किताब"  # Hindi: no articles removed


def test_arabic_al_substring_becomes_a_space_everywhere():
    assert normalize_answer("الكتاب", "ar") == "كتاب"
    assert normalize_answer("مالك", "ar") == "م ك"  # mid-word too, as the official regex does
    assert qa("الكتاب", ["كتاب"], lang="ar")["exact_match"] == 100


def test_chinese_character_segmentation():
    scores = qa("北京", ["北京大学"], lang="zh")
    assert scores["exact_match"] == 0 and scores["f1"] == pytest.approx(100 * 2 / 3)  # P 1, R 1/2
    assert qa("北京", ["北京大学"], lang="zh", rules="squad")["f1"] == 0  # whitespace tokens: no overlap
    assert normalize_answer("iPhone手机。", "zh") == "iphone 手 机"


def test_mlqa_rules_only_for_mlqa_languages():
    with pytest.raises(ValueError, match="MLQA normalization is defined for ar, de, en, es, hi, vi, zh, not 'sw'"):
        qa("a", ["a"], lang="sw", rules="mlqa")
    assert normalize_answer("Die Katze", "sw") == "die katze"  # auto: SQuAD rules


# ------------------------------------------------------------------ classification and tagging
def test_accuracy_checks_lengths():
    assert accuracy([0, 1, 1, 1], [0, 1, 0, 1]) == 75.0
    with pytest.raises(ValueError):
        accuracy([], [])


def test_tagging_f1_is_conll_chunk_f1():
    # an I- tag after O starts a chunk (CoNLL eval / seqeval default mode)
    assert tagging_f1([["I-PER", "I-PER", "O"]], [["B-PER", "I-PER", "O"]])["f1"] == 100.0
    # a chunk with a wrong boundary is wrong as a whole
    scores = tagging_f1([["B-PER", "O", "B-LOC"], ["B-ORG"]], [["B-PER", "I-PER", "B-LOC"], ["B-ORG"]])
    assert scores["precision"] == pytest.approx(200 / 3) and scores["recall"] == pytest.approx(200 / 3)
    # corpus-level micro average, not a mean over sentences
    scores = tagging_f1([["B-PER"], ["O", "O"]], [["B-PER"], ["B-LOC", "B-ORG"]])
    assert scores["precision"] == 100.0 and scores["recall"] == pytest.approx(100 / 3)


# ------------------------------------------------------------------ retrieval
def test_tatoeba_accuracy_is_nearest_neighbour_by_cosine():
    g = torch.Generator().manual_seed(0)
    src = torch.randn(50, 16, generator=g)
    tgt = 3.0 * (src + 0.05 * torch.randn(50, 16, generator=g))  # scale must not matter (cosine)
    assert tatoeba_accuracy(src, tgt) == 100.0
    perm = torch.arange(50)
    perm[:10] = perm[:10].flip(0)
    assert tatoeba_accuracy(src, tgt[perm]) == 80.0
    with pytest.raises(ValueError, match="50 source rows but 49 target rows"):
        tatoeba_accuracy(src, tgt[:49])


def test_bucc_ties_are_kept_or_dropped_together():
    # item-by-item, the cut after ("c","C") would claim F1 100 at a threshold that also admits ("b","X")
    cands = [("a", "A", 0.9), ("c", "C", 0.5), ("b", "X", 0.5)]
    scores = bucc_f1(cands, {("a", "A"), ("c", "C")})
    assert scores["threshold"] == 0.5 and scores["f1"] == pytest.approx(80.0)


def test_bucc_duplicates_count_once_and_fixed_threshold_applies():
    cands = [("a", "A", 0.9), ("a", "A", 0.95), ("b", "B", 0.3)]
    assert bucc_f1(cands, {("a", "A"), ("b", "B")}, threshold=0.5) == {
        "f1": pytest.approx(200 / 3), "precision": 100.0, "recall": 50.0, "threshold": 0.5}
    assert bucc_f1([], {("a", "A")}, threshold=0.5)["f1"] == 0.0


def test_mining_recovers_translations_among_distractors():
    g = torch.Generator().manual_seed(1)
    src = torch.randn(40, 32, generator=g)
    noise = torch.randn(40, 32, generator=g)
    tgt = torch.cat([src + 0.3 * noise, torch.randn(60, 32, generator=g)])  # 60 distractor targets
    order = torch.randperm(100, generator=g)
    tgt_ids = [f"en{i}" for i in range(100)]
    cands = mine_candidates(src, tgt[order], [f"de{i}" for i in range(40)], [tgt_ids[i] for i in order.tolist()])
    gold = {(f"de{i}", f"en{i}") for i in range(40)}
    assert bucc_f1(cands, gold)["f1"] == 100.0
    assert len({s for s, _, _ in cands}) == len(cands)  # one-to-one


def test_margin_beats_a_hub_that_cosine_prefers():
    # target "hub" is close to every source; cosine NN sends source 0 there, the margin does not
    src = torch.tensor([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.8, 0.0, 0.6]])
    tgt = torch.tensor([[0.9, 0.3, 0.3], [0.83, 0.0, -0.55], [0.8, 0.6, 0.0], [0.8, 0.0, 0.6]])
    cos = torch.nn.functional.normalize(src, dim=1) @ torch.nn.functional.normalize(tgt, dim=1).T
    assert cos[0].argmax().item() == 0  # the hub
    pairs = {(s, t) for s, t, _ in mine_candidates(src, tgt, k=2)}
    assert (0, 1) in pairs and (1, 2) in pairs and (2, 3) in pairs


def test_map_at_k_cuts_at_k_and_normalizes_by_min_relevant_k():
    ranking = {"q": [f"x{i}" for i in range(20)] + ["gold"]}  # the gold item sits at rank 21
    assert map_at_k(ranking, {"q": ["gold"]}, k=20) == 0.0
    assert map_at_k({"q": ["a", "b"]}, {"q": ["a", "b", "c"]}, k=2) == 100.0
    assert map_at_k({}, {"q": ["a"]}) == 0.0


# ------------------------------------------------------------------ benchmark aggregates
def full_table(value=lambda task, lang, metric: 50.0, benchmark="xtreme"):
    rows = []
    for spec in list_tasks(benchmark=benchmark):
        for lang, metric in itertools.product(spec.languages, spec.metrics):
            rows.append((spec.name, lang, metric, value(spec.name, lang, metric)))
    return pd.DataFrame(rows, columns=["task", "language", "metric", "value"])


def test_xtreme_score_complete_table():
    qa_split = {"exact_match": 40.0, "f1": 60.0}
    table = full_table(lambda t, l, m: qa_split[m] if get_task(t).format is Format.SPAN_QA else 50.0)
    scores = xtreme_score(table)
    assert list(scores[scores.level == "task"]["name"]) == [
        "xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba"]
    assert scores["score"].eq(50.0).all() and scores["complete"].all()
    cats = scores[scores.level == "category"].set_index("name")["n"].to_dict()
    assert cats == {"classification": 2, "structured": 2, "qa": 3, "retrieval": 2}


def test_xtreme_r_headline_averages_categories():
    table = full_table(lambda t, l, m: 90.0 if t == "xnli" else 50.0, benchmark="xtreme-r")
    scores = xtreme_score(table, benchmark="xtreme-r").set_index(["level", "name"])["score"]
    assert scores["task", "xnli"] == 90 and scores["category", "classification"] == 70
    assert scores["benchmark", "tasks"] == pytest.approx(54.0)  # (90 + 9 * 50) / 10
    assert scores["benchmark", "categories"] == pytest.approx(55.0)  # (70 + 50 + 50 + 50) / 4


def test_xtreme_score_groups_averages_seeds_and_flags_partial_tables():
    table = full_table()
    both = pd.concat([table.assign(setup="base", seed=s, value=table.value + s) for s in (0, 2)]
                     + [table.assign(setup="mnli", seed=0, value=60.0)])
    scores = xtreme_score(both, by=["setup"])
    headline = scores[(scores.level == "benchmark") & (scores.name == "tasks")].set_index("setup")["score"]
    assert headline.to_dict() == {"base": 51.0, "mnli": 60.0}
    partial = xtreme_score(table[table.language != "sw"])
    assert not partial.set_index(["level", "name"]).loc[("task", "xnli"), "complete"]
    assert partial.set_index(["level", "name"]).loc[("task", "pawsx"), "complete"]
    assert not partial[partial.level == "benchmark"]["complete"].any()
    no_en = xtreme_score(table, exclude_languages=["en"]).set_index(["level", "name"])
    assert no_en.loc[("task", "xnli"), "n"] == 14 and no_en.loc[("task", "xnli"), "complete"]


def test_xtreme_score_of_a_results_table_counts_its_zero_shot_rows_on_any_split():
    """A study may score a target on dev or a slice (``eval_split``): those zero-shot rows count, the English
    dev scores of checkpoint selection do not."""
    rows = [("zero-shot", "udpos", "dev", "de", "f1", 80.0), ("zero-shot", "xnli", "dev[50%:]", "de", "accuracy", 60.0),
            ("target-dev", "xnli", "dev", "en", "accuracy", 99.0), ("zero-shot", "xnli", "test", "en", "accuracy", 70.0)]
    table = pd.DataFrame(rows,
                         columns=["phase", "target", "split", "language", "metric", "value"])
    scores = xtreme_score(table).set_index(["level", "name"])["score"]
    assert scores["task", "udpos"] == 80.0 and scores["task", "xnli"] == 65.0


def test_xtreme_score_rejects_tables_without_required_columns():
    with pytest.raises(ValueError, match="lacks column\\(s\\) metric"):
        xtreme_score(pd.DataFrame({"task": [], "language": [], "value": []}))


def test_saturating_fit_and_threshold_recover_a_known_curve():
    import numpy as np

    from xltlib.report.analysis import fit_saturating, spearman_ci, threshold_k

    k = np.array([0, 1, 2, 4, 8, 16])
    y = 70 - 20 * np.exp(-0.5 * k)
    fit = fit_saturating(k, y)
    assert fit["a"] == pytest.approx(70, abs=0.5) and fit["c"] == pytest.approx(0.5, rel=0.1)
    # marginal gain b*c*exp(-c*k) = 10*exp(-k/2) drops below 1 point per language after k = 2 ln 10 ~ 4.6
    assert threshold_k(fit, 1.0, range(0, 20)) == 5
    rho, lo, hi = spearman_ci([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5])
    assert 0 < rho < 1 and lo <= rho <= hi


def test_saturation_threshold_comes_with_a_seed_resampled_interval():
    import numpy as np

    from xltlib.report.analysis import saturation

    rng = np.random.default_rng(0)
    points = pd.DataFrame([{"seed": s, "k": k, "delta": 70 - 20 * np.exp(-0.5 * k) + rng.normal(0, 0.3)}
                           for s in range(4) for k in (0, 1, 2, 4, 8, 12)])
    sat = saturation(points, "k", "delta", min_gain=1.0, n=200)
    assert sat["threshold"] in (4, 5, 6) and sat["reached"] > 0.9
    assert sat["threshold_ci"][0] <= sat["threshold"] <= sat["threshold_ci"][1]
    assert sat["plateau_ci"][0] < 70 < sat["plateau_ci"][1] + 0.5
    assert sat["bends"]
    flat = points.assign(delta=5 + rng.normal(0, 0.1, len(points)))  # no rise: the threshold is at once
    assert saturation(flat, "k", "delta", min_gain=1.0, n=50)["threshold"] == 0
    line = points.assign(delta=2.0 * points["k"] + rng.normal(0, 0.1, len(points)))  # still rising: no plateau
    sat = saturation(line, "k", "delta", min_gain=1.0, n=50)
    assert not sat["bends"] and sat["threshold"] is None and sat["threshold_ci"] == (float("inf"), float("inf"))


def test_paired_deltas_pair_within_a_model_and_language_mean_skips_english():
    from xltlib.report.analysis import language_mean, paired_deltas

    scores = pd.DataFrame([{"model": m, "setup": s, "target": "xnli", "language": l, "seed": 0,
                            "score": {"small": 10, "base": 50}[m] + (5 if s == "mnli" else 0) + (100 if l == "en" else 0)}
                           for m in ("small", "base") for s in ("baseline", "mnli") for l in ("en", "nh")])
    deltas = paired_deltas(scores)
    assert len(deltas) == 4 and (deltas["delta"] == 5).all()
    deltas.loc[deltas.language == "en", "delta"] = 99
    means = language_mean(deltas, ["model", "setup"])
    assert (means["delta"] == 5).all() and len(means) == 2
