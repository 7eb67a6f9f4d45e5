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
from xltlib.engine.train import TrainConfig, Trainer, step_budget


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
                    temperature: float = 2.0, progress: bool = False) -> dict:
    """Train heads ``tasks`` (head name -> features; heads must exist) for as many steps as
    ``cfg.epochs`` passes over all of their data would take. Returns losses and steps per task."""
    from tqdm import tqdm

    rng = random.Random(cfg.seed)
    probs = sampling_probabilities({t: len(f.items) for t, f in tasks.items()}, sampler, temperature)
    micro, _, total = step_budget([len(f.items) for f in tasks.values()], cfg)
    trainer = Trainer(model, cfg, total, "phase 1 (" + "+".join(tasks) + ")")
    queues: dict[str, list] = {t: [] for t in tasks}
    epochs = {t: 0 for t in tasks}
    history = {"losses": trainer.losses, "steps": {t: 0 for t in tasks}}
    names, weights = list(probs), list(probs.values())
    torch.manual_seed(cfg.seed)
    for _ in tqdm(range(total), desc="phase 1: " + "+".join(tasks), disable=not progress, mininterval=2, leave=False):
        task = rng.choices(names, weights)[0]  # same seed on every process: all train the same task
        micro_batches = []
        for _ in range(cfg.grad_accum):
            while not queues[task]:
                queues[task] = distributed.shard(batches(tasks[task], micro, shuffle=True,
                                                         seed=cfg.seed * 1000 + epochs[task]))
                epochs[task] += 1
            micro_batches.append(collate(tasks[task], queues[task].pop(), tokenizer.pad_token_id, cfg.pad_multiple))
        trainer.step(task, micro_batches)
        history["steps"][task] += 1
    trainer.flush()
    return history
