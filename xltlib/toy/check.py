"""``xlt toy check``: is transfer real in the toy world?

For every toy target task: fine-tune on English (early stopping on English dev) and evaluate zero-shot
on every toy language, once from the pretrained toy XLM-R and once from the same architecture with
random weights (the no-pretraining control). Retrieval tasks are scored straight from the encoders.

    $ xlt toy check                 # table
    $ xlt toy check --json          # {task: {language: {"pretrained": score, "control": score}}}
"""
from __future__ import annotations

import dataclasses

from xltlib.engine.evaluation import evaluate
from xltlib.engine.formats import format_of
from xltlib.engine.model import TransferModel
from xltlib.engine.phases import dev_task, fine_tune_chain, head_name, training_chain, zero_shot
from xltlib.experiment.profiles import toy_train_config
from xltlib.toy.world import INTERMEDIATE, TARGETS, ToyWorld
from xltlib.toy.pretrain import toy_model


def load_encoder(model_dir, control: bool, seed: int, pooling: str = "pair"):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = TransferModel.from_pretrained(str(model_dir), pooling=pooling, random_init=control, seed=seed)
    return model, tokenizer


def target_scores(model, tokenizer, task: str, world: ToyWorld, seed: int = 0, languages=None,
                  train_scale: float = 1.0) -> dict[str, float]:
    """Fine-tune ``model`` on the English data of toy ``task`` (not retrieval) and score each language."""
    spec = world.spec(task)

    def load(t, lang, split):
        return world.load(t, lang, split)

    def cfg_for(s):
        cfg = toy_train_config(s.name, seed, world)
        return dataclasses.replace(cfg, epochs=cfg.epochs * train_scale)

    if format_of(spec).trains_head:
        fine_tune_chain(model, training_chain(spec, world.spec), tokenizer, cfg_for, load, seed)
    if spec.role != "target":  # an intermediate task: is it learned in English? (its English dev set)
        dev = load(dev_task(spec), "en", "dev").examples
        return {"en": spec.primary(evaluate(model, spec.name, spec, dev, tokenizer, "en"))}
    scores = zero_shot(model, spec, tokenizer, languages or spec.languages, load,
                       head=head_name(spec, world.spec))
    return {lang: spec.primary(s) for lang, s in scores.items()}


def majority(task: str, world: ToyWorld) -> float | None:
    """English dev score of always answering the most frequent class or choice (None: no such baseline)."""
    spec = world.spec(task)
    if not format_of(spec).picks_one:
        return None
    chain = training_chain(spec, world.spec)
    dev = world.load(dev_task(chain[-1]), "en", "dev").examples
    labels = [e.label for e in dev]
    return 100.0 * max(labels.count(l) for l in set(labels)) / len(labels)


def toy_check(size: str = "base", world: ToyWorld = ToyWorld(), tasks=TARGETS + INTERMEDIATE, seed: int = 0,
              progress: bool = True, train_scale: float = 1.0) -> dict:
    """``{task: {language: {pretrained, control}}}``: each task fine-tuned on English (at ``train_scale`` x
    the toy recipe's epochs: the notebooks' budget is their ``train_scale``) and scored per language, from
    the pretrained toy model and from the same architecture with random weights."""
    model_dir = toy_model(size, progress=progress, languages=world.languages)
    result: dict = {}
    for task in tasks:
        for arm, control in (("pretrained", False), ("control", True)):
            model, tokenizer = load_encoder(model_dir, control, seed)
            for lang, value in target_scores(model, tokenizer, task, world, seed, train_scale=train_scale).items():
                result.setdefault(task, {}).setdefault(lang, {})[arm] = round(value, 2)
        if progress:
            import sys

            print(format_table({task: result[task]}, world).splitlines()[-1], file=sys.stderr, flush=True)
    return result


def format_table(result: dict, world: ToyWorld = ToyWorld()) -> str:
    """Targets: zero-shot test scores per language; intermediate tasks: English dev, beside the majority
    baseline where there is one."""
    langs = list(dict.fromkeys(l for per in result.values() for l in per))
    names = {t: t if world.spec(t).role == "target" else f"{t} (dev)" for t in result}
    width = max([len(n) for n in names.values()] + [4]) + 1
    lines = ["task".ljust(width) + " ".join(f"{l:>11}" for l in langs) + "   majority",
             " " * width + " ".join(f"{'pre/ctl':>11}" for _ in langs)]
    for task, per in result.items():
        cells = [f"{per[l]['pretrained']:5.1f}/{per[l]['control']:<5.1f}" if l in per else " " * 11 for l in langs]
        base = majority(task, world)
        lines.append(names[task].ljust(width) + " ".join(cells) + (f"   {base:5.1f}" if base is not None else ""))
    return "\n".join(lines)
