"""Model, featurization, training and evaluation: every format end to end on the smoke toy model."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from xltlib.data import load_examples
from xltlib.evaluate import evaluate, evaluate_retrieval, predict
from xltlib.features import IGNORE, batches, collate, featurize
from xltlib.model import TransferModel
from xltlib.toy.check import target_scores
from xltlib.toy.data import ToyWorld, toy_spec
from xltlib.train import TrainConfig, fine_tune

WORLD = ToyWorld.smoke()


@pytest.fixture(scope="session")
def smoke_dir(tmp_path_factory):
    import os

    os.environ["XLT_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    from xltlib.toy.pretrain import toy_model

    return toy_model("smoke", progress=False)


@pytest.fixture
def tokenizer(smoke_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smoke_dir)


def test_toy_model_is_cached_and_loads_through_xlmr_classes(smoke_dir, tokenizer):
    from transformers import AutoModelForMaskedLM

    from xltlib.toy.pretrain import toy_model

    assert toy_model("smoke") == smoke_dir  # second call: from the cache, no training
    assert type(tokenizer).__name__ == "XLMRobertaTokenizer"
    assert type(AutoModelForMaskedLM.from_pretrained(smoke_dir)).__name__ == "XLMRobertaForMaskedLM"
    ids = tokenizer("Ana eat", "the cake")["input_ids"]
    assert ids[0] == tokenizer.cls_token_id and ids.count(tokenizer.sep_token_id) == 3  # <s> A </s></s> B </s>


def test_tagging_labels_only_first_subtoken(tokenizer):
    spec = toy_spec("udpos")
    examples = load_examples("udpos", "en", "test", source=WORLD).examples[:4]
    feats = featurize(spec, examples, tokenizer)
    for item, e in zip(feats.items, examples):
        labelled = [l for l in item["labels"] if l != IGNORE]
        assert len(labelled) == len(e.tokens)
        assert item["labels"][0] == IGNORE and item["labels"][-1] == IGNORE  # <s>, </s>


def test_qa_windows_locate_the_answer(tokenizer):
    spec = toy_spec("mlqa")
    examples = load_examples("mlqa", "en", "test", source=WORLD).examples[:8]
    feats = featurize(spec, examples, tokenizer, max_length=48)  # short windows: several per question
    assert len(feats.items) > len(examples)
    for item in feats.items:
        e = examples[item["example"]]
        if item["start"]:
            a, b = item["offsets"][item["start"]][0], item["offsets"][item["end"]][1]
            assert e.context[a:b] == e.answers[0]


def test_length_grouped_batches_pad_less_than_random_batches(tokenizer):
    spec = toy_spec("panx")
    feats = featurize(spec, load_examples("panx", "en", "train", source=WORLD).examples, tokenizer)
    def padding(groups):
        return sum(collate(feats, g, 1)["input_ids"].numel() for g in groups)
    grouped = batches(feats, 8, shuffle=True, seed=0)
    assert sorted(i for g in grouped for i in g) == list(range(len(feats.items)))  # every item once
    naive = [list(range(s, min(s + 8, len(feats.items)))) for s in range(0, len(feats.items), 8)]
    assert padding(grouped) < padding(naive)


def test_fine_tuning_learns_english_pos(smoke_dir, tokenizer):
    model = TransferModel.from_pretrained(str(smoke_dir), pooling="mean")
    spec = toy_spec("udpos")
    model.add_head(spec)
    dev = load_examples("udpos", "en", "dev", source=WORLD).examples
    before = evaluate(model, "udpos", spec, dev, tokenizer, "en")["f1"]
    train = featurize(spec, load_examples("udpos", "en", "train", source=WORLD).examples, tokenizer)
    history = fine_tune(model, "udpos", train, tokenizer, TrainConfig(lr=3e-3, epochs=12, batch_size=16),
                        dev=(dev, "en"))
    after = evaluate(model, "udpos", spec, dev, tokenizer, "en")["f1"]
    assert after == history["best"] and after > 60 and after > before + 30, (before, after)
    assert history["losses"][-1] < history["losses"][0]


@pytest.mark.parametrize("task", ["xnli", "xcopa", "panx", "tydiqa", "squad_v2", "ccg", "sst2"])
def test_every_format_trains_and_evaluates(smoke_dir, tokenizer, task):
    model = TransferModel.from_pretrained(str(smoke_dir))
    scores = target_scores(model, tokenizer, task, WORLD, languages=["en", "fh"], train_scale=0.25)
    # targets: zero-shot per language; intermediate tasks: English dev only
    assert set(scores) == ({"en", "fh"} if toy_spec(task).role == "target" else {"en"})
    assert all(0 <= v <= 100 for v in scores.values())


def test_toy_check_cli_reports_targets_and_intermediate_tasks(smoke_dir, capsys):
    import json

    from xltlib.cli import main
    from xltlib.toy.check import format_table

    assert main(["toy", "check", "--size", "smoke", "--json", "--tasks", "tatoeba,sst2"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"tatoeba", "sst2"} and set(result["sst2"]) == {"en"}
    assert set(result["tatoeba"]) == set(toy_spec("tatoeba").languages)
    assert all(set(cell) == {"pretrained", "control"} for per in result.values() for cell in per.values())
    table = format_table(result, WORLD)
    assert "sst2 (dev)" in table and "majority" in table.splitlines()[0]


def test_squad_v2_can_predict_no_answer(smoke_dir, tokenizer):
    model = TransferModel.from_pretrained(str(smoke_dir))
    spec = toy_spec("squad_v2")
    model.add_head(spec)
    with torch.no_grad():  # make the null (<s>) start/end scores win everywhere
        model.heads["squad_v2"].out.bias.copy_(torch.tensor([0.0, 0.0]))
        model.heads["squad_v2"].out.weight.zero_()
    examples = load_examples("squad_v2", "en", "dev", source=WORLD).examples
    feats = featurize(spec, examples, tokenizer)
    answers = predict(model, "squad_v2", feats, tokenizer.pad_token_id)
    assert len(answers) == len(examples)
    scores = evaluate(model, "squad_v2", spec, examples, tokenizer, "en")
    unanswerable = 100 * sum(not e.answers for e in examples) / len(examples)
    assert scores["exact_match"] >= 0 and scores["exact_match"] <= unanswerable + 1e-9


@pytest.mark.parametrize("task", ["tatoeba", "bucc2018"])
def test_retrieval_from_the_encoder(smoke_dir, tokenizer, task):
    model = TransferModel.from_pretrained(str(smoke_dir))
    spec = toy_spec(task)
    examples = load_examples(task, "nh", "test", source=WORLD).examples
    scores = evaluate_retrieval(model, spec, examples, tokenizer, "nh")
    assert 0 <= scores[spec.metrics[0]] <= 100


def test_random_init_control_keeps_config_but_not_weights(smoke_dir):
    a = TransferModel.from_pretrained(str(smoke_dir))
    b = TransferModel.from_pretrained(str(smoke_dir), random_init=True, seed=1)
    assert a.encoder.config.hidden_size == b.encoder.config.hidden_size
    wa = a.encoder.embeddings.word_embeddings.weight
    wb = b.encoder.embeddings.word_embeddings.weight
    assert wa.shape == wb.shape and not torch.allclose(wa, wb)
