"""Task-similarity measures (research question 5) on the smoke toy model."""
from __future__ import annotations

import numpy as np
import pytest

from xltlib.data import load_examples
from xltlib.report import similarity
from xltlib.registry.tasks import get_task
from xltlib.toy.world import ToyWorld, toy_spec

WORLD = ToyWorld.smoke()


@pytest.fixture
def model_dir(smoke_dir):
    return str(smoke_dir)


def texts(task, n=32):
    return similarity.input_texts(load_examples(task, "en", "train", source=WORLD).examples, n)


def test_format_overlap():
    assert similarity.format_overlap(get_task("mnli"), get_task("xnli")) == 1.0
    assert similarity.format_overlap(get_task("squad_v2"), get_task("tydiqa")) == 1.0
    assert similarity.format_overlap(get_task("mnli"), get_task("udpos")) == 0.0
    assert similarity.format_overlap(toy_spec("ccg"), toy_spec("udpos")) == 0.5  # tagging, disjoint tag sets
    # both classification; the label names are compared, not their meaning: QQP's duplicate/not_duplicate and
    # PAWS-X's "0"/"1" share none, so 0.5 + 0.5 x 0
    assert get_task("qqp").labels == ("not_duplicate", "duplicate") and get_task("pawsx").labels == ("0", "1")
    assert similarity.format_overlap(get_task("qqp"), get_task("pawsx")) == 0.5


def test_input_texts_cover_every_format_without_answers():
    for task in ("mnli", "squad_v1", "udpos", "hellaswag", "tatoeba"):
        split = "test" if task == "tatoeba" else "train"
        lang = "nh" if task == "tatoeba" else "en"
        examples = load_examples(task, lang, split, source=WORLD).examples
        out = similarity.input_texts(examples, 8, seed=1)
        assert len(out) == 8 and all(isinstance(t, str) and t for t in out)
        assert out == similarity.input_texts(examples, 8, seed=1)  # seeded
    with pytest.raises(TypeError, match="not a normalized example"):
        similarity.input_text("raw text")


@pytest.mark.parametrize("measure", [similarity.embedding_similarity, similarity.gradient_similarity])
def test_model_based_measures_are_symmetric_centred_cosines(model_dir, measure):
    data = {"mnli": texts("mnli"), "mnli_again": texts("mnli"), "udpos": texts("udpos"), "squad_v1": texts("squad_v1")}
    m = measure(model_dir, data)
    assert list(m.index) == list(data) and np.allclose(m.values, m.values.T, atol=1e-6)
    assert np.allclose(np.diag(m.values), 1.0, atol=1e-5)
    assert m.loc["mnli", "mnli_again"] == pytest.approx(1.0, abs=1e-5)  # same inputs, same task vector
    assert m.loc["mnli", "udpos"] < 0.99
    long = similarity.pairs(m, ["mnli", "squad_v1"], ["udpos"], "sim")
    assert list(long.columns) == ["intermediate", "target", "sim"] and len(long) == 2
