"""``xlt toy check``: is transfer real in the toy world?

For every toy target task: fine-tune on English (early stopping on English dev) and evaluate zero-shot
on every toy language, once from the pretrained toy XLM-R and once from the same architecture with
random weights (the no-pretraining control). Retrieval tasks are scored straight from the encoders.

    $ xlt toy check                 # table
    $ xlt toy check --json          # {task: {language: {"pretrained": score, "control": score}}}
"""
from __future__ import annotations

import dataclasses

from xltlib.data import load_examples
from xltlib.evaluate import evaluate, evaluate_retrieval
from xltlib.features import featurize
from xltlib.model import TransferModel
from xltlib.tasks import Format
from xltlib.toy.data import TARGETS, ToyWorld, toy_spec
from xltlib.toy.pretrain import toy_model
from xltlib.train import TrainConfig, fine_tune

# fine-tuning recipe for the tiny toy models (the XTREME recipe's lr 1e-5 is for XLM-R Large)
TOY_TRAIN = TrainConfig(lr=5e-4, epochs=4, batch_size=32, warmup=0.1, evals_per_epoch=2)
TOY_EPOCHS = {Format.TAGGING: 3, Format.SPAN_QA: 6, Format.MULTIPLE_CHOICE: 6, Format.CLASSIFICATION: 6}


def toy_train_config(task: str, seed: int = 0, scale: float = 1.0) -> TrainConfig:
    fmt = toy_spec(task).format
    return dataclasses.replace(TOY_TRAIN, epochs=TOY_EPOCHS.get(fmt, 4) * scale, seed=seed)


def primary(spec, scores: dict) -> float:
    if spec.format is Format.SPAN_QA:
        return (scores["exact_match"] + scores["f1"]) / 2
    return scores[spec.metrics[0]]


def load_encoder(model_dir, control: bool, seed: int, pooling: str = "pair"):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = TransferModel.from_pretrained(str(model_dir), pooling=pooling, random_init=control, seed=seed)
    return model, tokenizer


def target_scores(model, tokenizer, task: str, world: ToyWorld, seed: int = 0, languages=None,
                  train_scale: float = 1.0) -> dict[str, float]:
    """Fine-tune ``model`` on the English data of toy ``task`` and score it on each language's test set."""
    spec = toy_spec(task)
    languages = languages or spec.languages
    if spec.format is Format.RETRIEVAL:
        out = {}
        for lang in languages:
            threshold = None
            if spec.metrics[0] == "f1":  # BUCC: the threshold is tuned on dev, applied on test
                dev = load_examples(task, lang, "dev", source=world)
                threshold = evaluate_retrieval(model, spec, dev.examples, tokenizer, lang)["threshold"]
            test = load_examples(task, lang, "test", source=world)
            out[lang] = evaluate_retrieval(model, spec, test.examples, tokenizer, lang, threshold)[spec.metrics[0]]
        return out
    train = load_examples(task, "en", "train", source=world)
    dev = load_examples(task, "en", "dev", source=world)
    model.add_head(spec, seed=seed)
    feats = featurize(train.task, train.examples, tokenizer, spec.max_length)
    feats.spec = spec
    fine_tune(model, spec.name, feats, tokenizer, toy_train_config(task, seed, train_scale),
              dev=(dev.examples, "en"))
    out = {}
    for lang in languages:
        test = load_examples(task, lang, "test", source=world)
        out[lang] = primary(spec, evaluate(model, spec.name, spec, test.examples, tokenizer, lang))
    return out


def toy_check(size: str = "base", world: ToyWorld = ToyWorld(), tasks=TARGETS, seed: int = 0,
              progress: bool = True) -> dict:
    model_dir = toy_model(size, progress=progress)
    result: dict = {}
    for task in tasks:
        for arm, control in (("pretrained", False), ("control", True)):
            model, tokenizer = load_encoder(model_dir, control, seed)
            for lang, value in target_scores(model, tokenizer, task, world, seed).items():
                result.setdefault(task, {}).setdefault(lang, {})[arm] = round(value, 2)
        if progress:
            import sys

            print(format_table({task: result[task]}).splitlines()[-1], file=sys.stderr, flush=True)
    return result


def format_table(result: dict) -> str:
    langs = list(dict.fromkeys(l for per in result.values() for l in per))
    lines = ["task       " + " ".join(f"{l:>11}" for l in langs), "           " + " ".join(f"{'pre/ctl':>11}" for _ in langs)]
    for task, per in result.items():
        cells = [f"{per[l]['pretrained']:5.1f}/{per[l]['control']:<5.1f}" if l in per else " " * 11 for l in langs]
        lines.append(f"{task:<10} " + " ".join(cells))
    return "\n".join(lines)
