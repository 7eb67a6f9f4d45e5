"""Phase 2 (fine-tuning on a target's English data) and phase 3 (zero-shot scores in each language) for
one model and task, whatever the data source: ``load(task, lang, split)`` returns the split's examples.

    history = fine_tune_target(model, spec, tokenizer, cfg, load, seed)
    scores = zero_shot(model, spec, tokenizer, ["en", "sw"], load)   # {lang: {metric: value}}
"""
from __future__ import annotations

from typing import Callable

from xltlib.evaluate import evaluate, evaluate_retrieval
from xltlib.features import featurize
from xltlib.tasks import Format, TaskSpec
from xltlib.train import TrainConfig, fine_tune

Loader = Callable[[str, str, str], list]  # (task, language, split) -> examples


def dev_task(spec: TaskSpec) -> str:
    """The task whose English dev set selects the model: the target's own, or its training task's when the
    target has none (XQuAD: SQuAD dev)."""
    has_dev = not spec.hub or "dev" in spec.splits()
    return spec.name if has_dev or not spec.train_task else spec.train_task


def fine_tune_target(model, spec: TaskSpec, tokenizer, cfg: TrainConfig, load: Loader, seed: int = 0) -> dict:
    """A fresh head for ``spec``, trained on its English training data with early stopping on English dev."""
    train = load(spec.name, "en", "train")
    dev = load(dev_task(spec), "en", "dev")
    model.add_head(spec, seed=seed)
    feats = featurize(spec, train, tokenizer)
    return fine_tune(model, spec.name, feats, tokenizer, cfg, dev=(dev, "en"))


def zero_shot(model, spec: TaskSpec, tokenizer, languages, load: Loader) -> dict[str, dict[str, float]]:
    """Test scores per language; retrieval straight from the encoder (BUCC: threshold tuned on dev)."""
    out = {}
    for lang in languages:
        test = load(spec.name, lang, "test")
        if spec.format is Format.RETRIEVAL:
            threshold = None
            if spec.metrics[0] == "f1":
                threshold = evaluate_retrieval(model, spec, load(spec.name, lang, "dev"), tokenizer, lang)["threshold"]
            scores = evaluate_retrieval(model, spec, test, tokenizer, lang, threshold)
        else:
            scores = evaluate(model, spec.name, spec, test, tokenizer, lang)
        out[lang] = {m: v for m, v in scores.items() if m in spec.metrics}
    return out


def primary(spec: TaskSpec, scores: dict) -> float:
    """The one number per language: the first metric; QA: (EM + F1) / 2."""
    return sum(scores[m] for m in spec.primary_metrics) / len(spec.primary_metrics)
