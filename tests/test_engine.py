"""Model, featurization, training and evaluation: every format end to end on the smoke toy model."""
from __future__ import annotations

import dataclasses
import shutil

import pytest
import torch

from xltlib.data import load_examples
from xltlib.engine.evaluation import evaluate, evaluate_retrieval
from xltlib.engine.features import IGNORE, batches, collate, featurize
from xltlib.engine.model import TransferModel
from xltlib.engine.phases import dev_task, training_chain
from xltlib.engine.train import TrainConfig, fine_tune
from xltlib.toy.check import target_scores
from xltlib.toy.world import ToyWorld, toy_spec

WORLD = ToyWorld.smoke()


@pytest.fixture
def tokenizer(smoke_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smoke_dir)


def test_toy_model_is_cached_and_loads_through_xlmr_classes(smoke_cache, tokenizer):
    from transformers import AutoModelForMaskedLM

    from xltlib.toy.pretrain import toy_model

    assert toy_model("smoke") == smoke_cache  # second call: from the cache, no training
    assert type(tokenizer).__name__ == "XLMRobertaTokenizer"
    assert type(AutoModelForMaskedLM.from_pretrained(smoke_cache)).__name__ == "XLMRobertaForMaskedLM"
    ids = tokenizer("Ana eat", "the cake")["input_ids"]
    assert ids[0] == tokenizer.cls_token_id and ids.count(tokenizer.sep_token_id) == 3  # <s> A </s></s> B </s>


def test_the_shipped_toy_checkpoints_are_the_notebooks_models_at_this_world_version():
    import json

    from xltlib.toy.pretrain import MODEL_FILES, SHIPPED, WORLD_VERSION, model_key

    sixteen = ToyWorld(high_languages=12).languages  # notebook 01's world
    assert sorted(p.name for p in SHIPPED.iterdir()) == sorted(
        [model_key("base"), model_key("small"), model_key("base", languages=sixteen)])
    for model in SHIPPED.iterdir():
        meta = json.loads((model / "xlt_toy.json").read_text())
        assert meta["world_version"] == WORLD_VERSION and all((model / f).is_file() for f in MODEL_FILES)


@pytest.mark.slow  # ~20 s: pretrains the smoke model twice
def test_toy_models_come_from_the_shipped_copy_and_a_rebuild_is_byte_identical(tmp_path, monkeypatch, capsys,
                                                                               one_thread):
    from xltlib import cli
    from xltlib.toy import pretrain as P

    monkeypatch.setattr(P, "SHIPPED", tmp_path / "shipped")
    monkeypatch.setenv("XLT_CACHE", str(tmp_path / "cache"))
    shipped, _ = P.rebuild("smoke", ship=True, progress=False)
    assert shipped.parent == tmp_path / "shipped" and shipped.name == P.model_key("smoke")

    def no_pretraining(*args, **kwargs):
        raise AssertionError("pretrained although a checkpoint is shipped")

    with monkeypatch.context() as mp:
        mp.setattr(P, "pretrain", no_pretraining)
        copy = P.toy_model("smoke", progress=False)
    assert copy.parent == tmp_path / "cache" / "toy" and P.fingerprint(copy) == P.fingerprint(shipped)
    assert P.rebuild("smoke", progress=False) == (shipped, [])  # pretraining is deterministic

    rebuilt = tmp_path / "rebuilt"
    shutil.copytree(shipped, rebuilt)  # a rebuild's bytes (identical, just checked): the CLI's check pretrains no more
    tokenizer = shipped / "tokenizer.json"
    tokenizer.write_text(tokenizer.read_text().replace('"▁', '"_', 1))
    with monkeypatch.context() as mp:
        mp.setattr(P, "pretrain", lambda size, out, *args: shutil.copytree(rebuilt, out, dirs_exist_ok=True))
        assert cli.main(["toy", "build", "--size", "smoke", "--rebuild"]) == 1
    assert "the rebuild differs in tokenizer.json" in capsys.readouterr().out


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
def test_every_format_trains_and_evaluates(smoke_dir, tokenizer, task, monkeypatch):
    import xltlib.toy.check as check

    histories = []
    real = check.fine_tune_chain
    monkeypatch.setattr(check, "fine_tune_chain", lambda *a, **k: histories.append(real(*a, **k)) or histories[-1])
    model = TransferModel.from_pretrained(str(smoke_dir))
    scores = target_scores(model, tokenizer, task, WORLD, languages=["en", "fh"], train_scale=0.5)
    # targets: zero-shot per language; intermediate tasks: English dev only
    assert set(scores) == ({"en", "fh"} if toy_spec(task).role == "target" else {"en"})
    (history,) = histories
    assert all(0 <= v <= 100 for v in scores.values())
    chain = training_chain(toy_spec(task), toy_spec)
    if history["best"] is not None:  # the best dev checkpoint is the model that was kept and scored
        dev = WORLD.load(dev_task(chain[-1]), "en", "dev").examples
        assert history["best_step"] > 0 and history["steps"] >= history["best_step"]
        assert chain[-1].primary(evaluate(model, chain[-1].name, chain[-1], dev, tokenizer, "en")) == \
            pytest.approx(history["best"])
    else:  # no English dev set (TyDiQA): a fixed budget, and it learns
        losses, quarter = history["losses"], max(1, len(history["losses"]) // 4)
        assert sum(losses[-quarter:]) < sum(losses[:quarter]), losses


def test_toy_check_cli_reports_targets_and_intermediate_tasks(smoke_cache, capsys):
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


def test_toy_pretraining_runs_on_its_own_thread_count_and_restores_the_callers(tmp_path, monkeypatch):
    """A pretraining run's bytes depend on its threads: it always uses ``THREADS`` (a rebuild anywhere
    reproduces the shipped checkpoints), and the caller's setting comes back afterwards."""
    import torch

    import xltlib.toy.pretrain as P

    seen = []
    monkeypatch.setattr(P, "_pretrain", lambda *args: seen.append(torch.get_num_threads()) or {})
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1 if P.THREADS != 1 else 3)
        caller = torch.get_num_threads()
        P.pretrain("smoke", tmp_path, progress=False)
        assert seen == [P.THREADS] and torch.get_num_threads() == caller
    finally:
        torch.set_num_threads(before)


def test_toy_check_trains_at_the_train_scale_it_is_given(smoke_cache, monkeypatch):
    """``xlt toy check --train-scale`` measures at a notebook's budget: the epochs it fine-tunes for scale."""
    import xltlib.toy.check as check
    from xltlib.cli import main

    class Recorded(Exception):
        pass

    epochs = []

    def record(model, chain, tokenizer, cfg_for, *args, **kwargs):
        epochs.append(cfg_for(chain[-1]).epochs)
        raise Recorded  # the budget is all this test needs

    monkeypatch.setattr(check, "fine_tune_chain", record)
    for extra in ([], ["--train-scale", "0.3"]):
        with pytest.raises(Recorded):
            main(["toy", "check", "--size", "smoke", "--json", "--tasks", "sst2", *extra])
    assert epochs[1] == pytest.approx(0.3 * epochs[0]) and epochs[0] > 0


def test_squad_v2_predicts_no_answer_when_the_null_score_wins(tokenizer):
    from xltlib.engine.formats.span_qa import answers

    spec = toy_spec("squad_v2")
    examples = [e for e in load_examples("squad_v2", "en", "dev", source=WORLD).examples if e.answers][:2]
    feats = featurize(spec, examples, tokenizer)
    per_item = {}
    for i, item in enumerate(feats.items):  # window scores: the null (<s>) wins for the first question only
        n = len(item["input_ids"])
        start, end = torch.zeros(n), torch.zeros(n)
        if item["example"] == 0:
            start[0] = end[0] = 5.0
        elif item["start"]:
            start[item["start"]], end[item["end"]] = 3.0, 3.0
        per_item[i] = (start, end)
    assert answers(feats, per_item) == ["", examples[1].answers[0]]
    v1 = dataclasses.replace(feats, spec=dataclasses.replace(spec, allow_no_answer=False))
    assert answers(v1, per_item)[0] != ""  # SQuAD v1.1 always answers


@pytest.mark.parametrize("task", ["tatoeba", "bucc2018"])
def test_retrieval_from_the_encoder(smoke_dir, tokenizer, task):
    from xltlib.registry.examples import RetrievalExample

    model = TransferModel.from_pretrained(str(smoke_dir))
    spec = toy_spec(task)
    examples = load_examples(task, "nh", "test", source=WORLD).examples
    scores = evaluate_retrieval(model, spec, examples, tokenizer, "nh")
    assert 0 <= scores[spec.metrics[0]] <= 100
    # each query's own text among the candidates: found (the ids, order and pooling are consistent)
    queries = [e for e in examples if e.role == "query"]
    texts = list(dict.fromkeys(e.text for e in queries))[:40]
    mirror = [RetrievalExample(f"q{i}", t, "query", (f"c{i}",), "nh") for i, t in enumerate(texts)]
    mirror += [RetrievalExample(f"c{i}", t, "candidate", (), "nh") for i, t in enumerate(reversed(texts))]
    mirror = [dataclasses.replace(e, id=f"c{len(texts) - 1 - int(e.id[1:])}") if e.role == "candidate" else e
              for e in mirror]
    assert evaluate_retrieval(model, spec, mirror, tokenizer, "nh")[spec.metrics[0]] > 95


def test_random_init_control_keeps_config_but_not_weights(smoke_dir):
    a = TransferModel.from_pretrained(str(smoke_dir))
    b = TransferModel.from_pretrained(str(smoke_dir), random_init=True, seed=1)
    assert a.encoder.config.hidden_size == b.encoder.config.hidden_size
    wa = a.encoder.embeddings.word_embeddings.weight
    wb = b.encoder.embeddings.word_embeddings.weight
    assert wa.shape == wb.shape and not torch.allclose(wa, wb)


def _no_dropout_model(smoke_dir, task):
    model = TransferModel.from_pretrained(str(smoke_dir), hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    model.add_head(dataclasses.replace(toy_spec(task)), seed=0)
    for head in model.heads.values():
        if hasattr(head, "dropout"):
            head.dropout.p = 0.0
    return model


def test_gradient_accumulation_equals_one_batch_of_the_same_examples(smoke_dir, tokenizer):
    from xltlib.engine.train import Trainer

    spec = toy_spec("sst2")
    feats = featurize(spec, load_examples("sst2", "en", "train", source=WORLD).examples[:8], tokenizer)
    whole = collate(feats, list(range(8)), tokenizer.pad_token_id)
    halves = [collate(feats, list(range(4)), tokenizer.pad_token_id), collate(feats, list(range(4, 8)), tokenizer.pad_token_id)]
    params = []
    for micro_batches, accum in (([whole], 1), (halves, 2)):
        model = _no_dropout_model(smoke_dir, "sst2")
        trainer = Trainer(model, TrainConfig(lr=1e-3, grad_accum=accum, log_every=1), total=10, name="sst2")
        for _ in range(3):
            trainer.step("sst2", micro_batches)
        params.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
        assert len(trainer.losses) == 3
    assert torch.allclose(params[0], params[1], atol=1e-5)
    model = _no_dropout_model(smoke_dir, "sst2")
    Trainer(model, TrainConfig(lr=1e-3), total=10, name="sst2").step("sst2", halves[:1])  # half the examples
    assert not torch.allclose(params[0], torch.cat([p.detach().flatten() for p in model.parameters()]), atol=1e-5)


def test_patience_stops_training_when_dev_stops_improving(smoke_dir, tokenizer):
    spec = toy_spec("udpos")
    train = featurize(spec, load_examples("udpos", "en", "train", source=WORLD).examples, tokenizer)
    dev = load_examples("udpos", "en", "dev", source=WORLD).examples
    cfg = TrainConfig(lr=0.0, epochs=4, batch_size=16, evals_per_epoch=2)  # lr 0: dev never improves
    full = fine_tune(_no_dropout_model(smoke_dir, "udpos"), "udpos", train, tokenizer, cfg, dev=(dev, "en"))
    stopped = fine_tune(_no_dropout_model(smoke_dir, "udpos"), "udpos", train, tokenizer,
                        dataclasses.replace(cfg, patience=1), dev=(dev, "en"))
    assert len(full["dev"]) == 8 and len(stopped["dev"]) == 2
    assert stopped["steps"] == stopped["dev"][-1][0] < full["steps"]


def test_a_non_finite_loss_stops_training_by_name(smoke_dir, tokenizer):
    from xltlib.engine.train import Trainer

    spec = toy_spec("sst2")
    feats = featurize(spec, load_examples("sst2", "en", "train", source=WORLD).examples[:8], tokenizer)
    model = _no_dropout_model(smoke_dir, "sst2")
    with torch.no_grad():
        model.heads["sst2"].out.weight.fill_(float("nan"))
    trainer = Trainer(model, TrainConfig(log_every=50), total=10, name="sst2")
    trainer.step("sst2", [collate(feats, list(range(8)), tokenizer.pad_token_id)])  # no host sync per step
    with pytest.raises(FloatingPointError, match="sst2: non-finite training loss at step 1"):
        trainer.flush()


def test_continued_mlm_masks_a_seventh_of_the_tokens_and_starts_from_the_pretrained_head(smoke_dir, tokenizer):
    spec = toy_spec("mlm")
    examples = load_examples("mlm", "nh", "train", source=WORLD).examples
    feats = featurize(spec, examples, tokenizer)
    targets = sum(l != IGNORE for it in feats.items for l in it["labels"])
    tokens = sum(len(it["input_ids"]) - 2 for it in feats.items)
    assert 0.10 < targets / tokens < 0.20
    assert featurize(spec, examples, tokenizer).items == feats.items  # the same masks every time
    model = _no_dropout_model(smoke_dir, "mlm")
    fresh = TransferModel.from_pretrained(str(smoke_dir), random_init=True)
    fresh.add_head(spec)
    assert not torch.allclose(model.heads["mlm"].dense.weight, fresh.heads["mlm"].dense.weight)
    assert model.heads["mlm"]._tied[0] is model.encoder.get_input_embeddings()  # the decoder is the embeddings
    batch = collate(feats, list(range(8)), tokenizer.pad_token_id)
    pretrained, random_head = model("mlm", batch)["loss"].item(), fresh("mlm", batch)["loss"].item()
    assert pretrained < random_head  # the toy model's own LM head predicts its corpus
