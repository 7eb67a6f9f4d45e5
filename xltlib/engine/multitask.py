"""Phase-1 training on several tasks at once: each step samples one task and trains its head and the
shared encoder on one batch of it (jiant's multi-task recipe), with the step of ``xltlib.engine.train``.

Samplers (``p`` = probability that a step trains task ``t`` of ``n_t`` examples):
proportional ``p ~ n_t``; uniform ``p = 1/T``; temperature ``p ~ n_t^(1/T)``.

>>> sampling_probabilities({"a": 900, "b": 100}, "proportional")
{'a': 0.9, 'b': 0.1}
>>> {k: round(v, 2) for k, v in sampling_probabilities({"a": 900, "b": 100}, "temperature", 2.0).items()}
{'a': 0.75, 'b': 0.25}
"""
from __future__ import annotations

import random

import torch

from xltlib import distributed
from xltlib.engine.features import Features, batches, collate
from xltlib.engine.train import Curve, TrainConfig, Trainer, step_budget


def sampling_probabilities(sizes: dict[str, int], sampler: str, temperature: float = 2.0) -> dict[str, float]:
    if sampler == "uniform":
        weights = {t: 1.0 for t in sizes}
    elif sampler == "temperature":
        weights = {t: n ** (1.0 / temperature) for t, n in sizes.items()}
    elif sampler == "proportional":
        weights = {t: float(n) for t, n in sizes.items()}
    else:
        raise ValueError(f"sampler {sampler!r} is not one of proportional, uniform, temperature")
    total = sum(weights.values())
    return {t: w / total for t, w in weights.items()}


def train_multitask(model, tasks: dict[str, Features], tokenizer, cfg: TrainConfig, sampler: str = "proportional",
                    temperature: float = 2.0, progress: bool = False, ckpt=None, tracker=None,
                    log_prefix: str = "phase1/") -> dict:
    """Train heads ``tasks`` (head name -> features; heads must exist) for as many steps as
    ``cfg.epochs`` passes over all of their data would take. Returns losses, steps per task and the curve
    (``xltlib.engine.train.Curve``).

    ``ckpt`` (a ``xltlib.engine.checkpoint.Checkpointer``): save the training state when it is due, resume
    from its saved state, raise ``Preempted`` on a stop request, delete the state when training completes.
    ``tracker`` (``xltlib.engine.tracking``): loss and lr as they come, tagged ``log_prefix``."""
    from tqdm import tqdm

    from xltlib.engine.checkpoint import boundary, load_model_state, model_state, rng_state, set_rng_state

    rng = random.Random(cfg.seed)
    probs = sampling_probabilities({t: len(f.items) for t, f in tasks.items()}, sampler, temperature)
    micro, _, total = step_budget([len(f.items) for f in tasks.values()], cfg)
    trainer = Trainer(model, cfg, total, "phase 1 (" + "+".join(tasks) + ")")
    queues: dict[str, list] = {t: [] for t in tasks}
    epochs = {t: 0 for t in tasks}
    history = {"losses": trainer.losses, "steps": {t: 0 for t in tasks}, "curve": []}
    curve = Curve(trainer, history["curve"], tracker, log_prefix)
    names, weights = list(probs), list(probs.values())

    def epoch_groups(task: str, epoch: int) -> list:
        return distributed.shard(batches(tasks[task], micro, shuffle=True, seed=cfg.seed * 1000 + epoch))

    torch.manual_seed(cfg.seed)
    what = {"loop": "train_multitask", "tasks": {t: len(f.items) for t, f in tasks.items()}, "total": total,
            "sampler": sampler, "temperature": temperature}
    saved = ckpt.resume(what) if ckpt is not None else None
    if saved is not None:
        load_model_state(model, saved["model"])
        trainer.load_state_dict(saved["trainer"])
        rng.setstate(saved["sampler"])
        epochs.update(saved["epochs"])
        # a task's queue is the head of its current epoch's batches (``pop`` takes from the end)
        queues.update({t: epoch_groups(t, epochs[t] - 1)[:n] for t, n in saved["queued"].items() if n})
        history["steps"].update(saved["history"]["steps"])
        history["curve"][:] = saved["history"]["curve"]
        set_rng_state(saved["rng"])

    def state():
        return {"what": what, "model": model_state(model), "trainer": trainer.state_dict(),
                "sampler": rng.getstate(), "epochs": dict(epochs), "queued": {t: len(q) for t, q in queues.items()},
                "history": {"steps": dict(history["steps"]), "curve": history["curve"]}, "rng": rng_state()}

    bar = tqdm(total=total, initial=trainer.steps, desc="phase 1: " + "+".join(tasks), disable=not progress,
               mininterval=2, leave=False)
    while trainer.steps < total:
        task = rng.choices(names, weights)[0]  # same seed on every process: all train the same task
        micro_batches = []
        for _ in range(cfg.grad_accum):
            while not queues[task]:
                queues[task] = epoch_groups(task, epochs[task])
                epochs[task] += 1
            micro_batches.append(collate(tasks[task], queues[task].pop(), tokenizer.pad_token_id, cfg.pad_multiple))
        trainer.step(task, micro_batches)
        history["steps"][task] += 1
        bar.update(1)
        curve.at_step()
        if trainer.steps < total:
            boundary(ckpt, state)
    bar.close()
    curve.record()
    if ckpt is not None:
        ckpt.discard()
    return history
