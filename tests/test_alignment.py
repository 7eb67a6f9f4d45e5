"""The alignment measurement (``xlt toy alignment``): English-other retrieval and cosine gap of a toy encoder
before and after phase 1."""
import pytest

from xltlib.toy.alignment import phase1_sweep, summary

pytestmark = pytest.mark.usefixtures("one_thread")


def test_phase_1_moves_the_encoder_only_when_its_learning_rate_is_not_zero():
    rows = phase1_sweep("smoke", "mnli", [0.0, 0.5], [2], languages=["nh", "fh"])
    assert len(rows) == 3 * 2 * 2  # (pretrained, two phase 1s) x languages x layers
    by = {(r["lr_ratio"], r["epochs"], r["language"], r["layer"]): r for r in rows}
    for lang in ("nh", "fh"):
        for layer in ("retrieval", "last"):
            pretrained, frozen, trained = by[0.0, 0.0, lang, layer], by[0.0, 2, lang, layer], by[0.5, 2, lang, layer]
            assert frozen["steps"] > 0 and frozen["gap"] == pytest.approx(pretrained["gap"], abs=1e-6)  # head only
            assert trained["gap"] != pytest.approx(pretrained["gap"], abs=1e-4)
            assert 0 <= trained["retrieval"] <= 100
    table = summary(rows)
    assert {"retrieval (high)", "gap (high)", "steps", "final_loss"} <= set(table.columns)
