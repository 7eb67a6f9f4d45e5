"""The three phases for one model, whatever the data source: phase 1 (intermediate training on one or more
tasks, mixed or in turn), phase 2 (fine-tuning on a target's English data) and phase 3 (zero-shot scores in
each language); ``load(task, lang, split)`` returns the split's TaskData. The runner (``xltlib.experiment.runner``)
builds the data and models, caches each phase's output and writes the results.

    history = intermediate_training(model, feats, phase1_groups(setup.mode, setup.tasks), tokenizer, cfg_for,
                                    setup.sampler, setup.temperature)
    history = fine_tune_chain(model, training_chain(spec), tokenizer, cfg_for, load, seed)
    scores = zero_shot(model, spec, tokenizer, ["en", "sw"], load)   # {lang: {metric: value}}

Phases 1 and 2 take a ``Checkpointer`` (``xltlib.engine.checkpoint``: resumable after a preemption, finished
groups and chain steps not trained again) and a tracker (``xltlib.engine.tracking``: live curves).

Model selection (docs/reference.md): early stopping on the English dev set of the data a target trains on
-- its training task's (XNLI: MNLI; XQuAD and MLQA: SQuAD v1.1; XCOPA: COPA) or its own (PAWS-X, UD-POS,
PAN-X) -- so that one fine-tuning serves every target that trains on the same data. TyDiQA-GoldP has no
English dev set (its dev set is XTREME's test set): it trains for a fixed budget and keeps the last
checkpoint, as XTREME does.
"""
from __future__ import annotations

from typing import Callable

from xltlib.engine.checkpoint import Checkpointer, load_model_state, model_state
from xltlib.engine.evaluation import evaluate, evaluate_retrieval
from xltlib.engine.features import Features, featurize
from xltlib.engine.formats import format_of
from xltlib.engine.multitask import train_multitask
from xltlib.engine.train import TrainConfig, fine_tune
from xltlib.errors import DataUnavailableError
from xltlib.registry.tasks import TaskSpec, get_task

Loader = Callable[[str, str, str], object]  # (task, language, split) -> TaskData


# ------------------------------------------------------------------------------------------------ phase 1
def phase1_groups(mode: str, tasks) -> list[list[str]]:
    """The task groups phase 1 trains one after another: every task at once (multitask) or each in turn.

    >>> phase1_groups("multitask", ["mnli", "squad_v1"]), phase1_groups("sequential", ["mnli", "squad_v1"])
    ([['mnli', 'squad_v1']], [['mnli'], ['squad_v1']])
    """
    return [list(tasks)] if mode == "multitask" else [[t] for t in tasks]


def intermediate_training(model, feats: dict[str, Features], groups: list[list[str]], tokenizer,
                          cfg_for: Callable[[str], TrainConfig], sampler: str, temperature: float,
                          progress: bool = False, ckpt: Checkpointer | None = None, tracker=None) -> list[dict]:
    """Phase 1: train ``model`` (its heads already added) on each group of tasks in turn, the tasks of a
    group mixed (``train_multitask``: ``sampler``, ``temperature``) at the recipe of the group's first task.
    Returns one record per group: its tasks, steps, final loss (the mean of its last 20 losses) and curve.

    ``ckpt``: group ``i`` checkpoints in ``ckpt.sub(f"group{i}")``, and marks it done there when it
    completes; a resumed run loads the trained state of finished groups instead of training them again.
    ``tracker``: each group's curve, tagged ``phase1/`` (one group) or ``phase1/<tasks>/``."""
    history = []
    for i, group in enumerate(groups):
        sub = ckpt.sub(f"group{i}") if ckpt is not None else None
        done = sub.done() if sub is not None else None
        if done is not None:
            load_model_state(model, done["model"])
            history.append(done["record"])
            continue
        prefix = "phase1/" if len(groups) == 1 else "phase1/" + "+".join(group) + "/"
        h = train_multitask(model, {t: feats[t] for t in group}, tokenizer, cfg_for(group[0]), sampler,
                            temperature, progress, ckpt=sub, tracker=tracker, log_prefix=prefix)
        last = h["losses"][-20:]
        record = {"tasks": group, "steps": h["steps"], "final_loss": sum(last) / len(last), "curve": h["curve"]}
        if sub is not None:
            sub.mark_done({"model": model_state(model), "record": record})
        history.append(record)
    return history


# ------------------------------------------------------------------------------------------- phases 2, 3
def dev_task(spec: TaskSpec) -> str | None:
    """The task whose English dev set selects a model trained on ``spec``'s data: its own, or None (no
    English dev set: a fixed budget, the last checkpoint)."""
    if not spec.hub or ("dev" in spec.splits() and "en" in spec.languages and "en" not in spec.test_only):
        return spec.name
    return None


def training_chain(spec: TaskSpec, source_spec: Callable[[str], TaskSpec] = get_task) -> list[TaskSpec]:
    """The training tasks of phase 2 for target ``spec``, in order, sharing one head: the tasks trained before
    the target's own data (XCOPA: SIQA), then the task whose English data the target trains on (XNLI: MNLI;
    XQuAD and MLQA: SQuAD v1.1; else the target itself); for retrieval, the task fine-tuned before the
    encoder is scored (XTREME-R's Tatoeba: SQuAD v1.1) or nothing (scored from the phase-1 encoder).
    Targets with the same chain share one fine-tuning."""
    if not format_of(spec).trains_head:
        return [] if spec.encoder_from in ("intermediate", "target") else [source_spec(spec.encoder_from)]
    last = source_spec(spec.train_task) if spec.train_task else spec
    if spec.labels and last.labels and last.labels != spec.labels:
        raise ValueError(f"{spec.name} trains on {last.name}, whose labels differ: {last.labels} vs {spec.labels}")
    return [source_spec(t) for t in spec.train_before] + [last]


def fine_tune_chain(model, chain: list[TaskSpec], tokenizer, cfg_for: Callable[[TaskSpec], TrainConfig],
                    load: Loader, seed: int = 0, ckpt: Checkpointer | None = None, tracker=None,
                    progress: bool = False, dev_of: Callable[[TaskSpec], str | None] = dev_task) -> dict:
    """Phase 2: a fresh head (named after the chain's last task, ``head_name``) trained on each task of
    ``chain`` (a target's ``training_chain``) in turn: English training data, early stopping on the English
    dev set of task ``dev_of(step)`` where there is one (None: a fixed budget, the last checkpoint).
    ``cfg_for(spec)`` gives each step's recipe. Returns the last step's history.

    ``ckpt``: step ``i`` checkpoints in ``ckpt.sub(f"step{i}")``, and marks it done there (the trained state
    and the step's history) when it completes; a resumed run loads finished steps instead of training them
    again. ``tracker``: each step's curve, tagged ``phase2/<task>/``. ``progress``: a bar per step."""
    head = chain[-1].name
    model.add_head(chain[-1], seed=seed)
    history = {}
    for i, step in enumerate(chain):
        sub = ckpt.sub(f"step{i}") if ckpt is not None else None
        done = sub.done() if sub is not None else None
        if done is not None:
            load_model_state(model, done["model"])
            history = done["history"]
            continue
        train = load(step.name, "en", "train")
        dev_name = dev_of(step)
        dev = (load(dev_name, "en", "dev").examples, "en") if dev_name else None
        feats = featurize(step, train.examples, tokenizer)
        history = fine_tune(model, head, feats, tokenizer, cfg_for(step), dev=dev, progress=progress, ckpt=sub,
                            tracker=tracker, log_prefix=f"phase2/{step.name}/")
        if sub is not None:
            sub.mark_done({"model": model_state(model), "history": history})
    return history


def head_name(spec: TaskSpec, source_spec: Callable[[str], TaskSpec] = get_task) -> str:
    """The head a target is scored through: its training chain's last task."""
    chain = training_chain(spec, source_spec)
    return chain[-1].name if chain else spec.name


def zero_shot(model, spec: TaskSpec, tokenizer, languages, load: Loader, head: str | None = None,
              on_missing: Callable[[str, Exception], None] | None = None,
              split: str = "test") -> dict[str, dict[str, float]]:
    """Test (or ``split``) scores per language; retrieval straight from the encoder (BUCC: threshold tuned
    on dev).

    A language whose data cannot be had (no source for it, its labels blanked) is passed to
    ``on_missing(lang, error)`` and skipped, when given; otherwise the error propagates."""
    out = {}
    for lang in languages:
        try:
            test = load(spec.name, lang, split).examples
            # scored on dev itself: the threshold tuned on the same set (one pass, not two)
            dev = load(spec.name, lang, "dev").examples if spec.threshold_on_dev and split != "dev" else None
        except DataUnavailableError as exc:
            if on_missing is None:
                raise
            on_missing(lang, exc)
            continue
        if not format_of(spec).trains_head:
            threshold = None if dev is None else evaluate_retrieval(model, spec, dev, tokenizer, lang)["threshold"]
            scores = evaluate_retrieval(model, spec, test, tokenizer, lang, threshold)
        else:
            scores = evaluate(model, head or spec.name, spec, test, tokenizer, lang)
        out[lang] = {m: v for m, v in scores.items() if m in spec.metrics}
    return out
