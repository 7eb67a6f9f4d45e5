"""Fine-tuning one head (and the shared encoder) on one task, with early stopping on a dev set.

The defaults are jiant's XTREME recipe (FACTS.md): AdamW (weight decay 0.01, none on biases and
LayerNorm), eps 1e-8, warmup 10% then linear decay, gradient-norm clipping at 1.0. bf16 autocast and
the fused AdamW kernel on GPUs.

    history = fine_tune(model, "xnli", train_feats, dev=(dev_examples, "en"), tokenizer=tok, cfg=TrainConfig())
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from xltlib import distributed
from xltlib.evaluate import to_device, autocast, device_of, evaluate
from xltlib.features import Features, batches, collate, featurize


@dataclass
class TrainConfig:
    lr: float = 1e-5  # jiant's XTREME recipe for XLM-R Large; tiny toy models need ~1e-3
    epochs: float = 2.0
    batch_size: int = 32  # effective batch (QA: 16)
    grad_accum: int = 1  # micro-batches per optimizer step: batch_size // grad_accum each
    warmup: float = 0.1  # fraction of the steps
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    eps: float = 1e-8
    evals_per_epoch: int = 1  # dev evaluations per epoch, for early stopping
    patience: int | None = None  # stop after this many evaluations without a better dev score
    max_steps: int | None = None  # cap on optimizer steps (budgets for quick runs)
    eval_batch_size: int = 128
    seed: int = 0


def _optimizer(model, cfg: TrainConfig, device) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "LayerNorm" in name or "layer_norm" in name else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, eps=cfg.eps, fused=device.type == "cuda")


def linear_schedule(opt, total: int, warmup: float):
    """Linear warmup over ``warmup`` of the steps, then linear decay to 0 at ``total``."""
    warm = max(1, int(warmup * total))
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))


def optimizer_step(model, opt, sched, max_grad_norm: float) -> None:
    """Clip the gradient norm, step the optimizer and the schedule, clear the gradients."""
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)


def fine_tune(model, head: str, train: Features, tokenizer, cfg: TrainConfig,
              dev: tuple[list, str] | None = None, progress: bool = False) -> dict:
    """Train ``model`` on ``train`` through head ``head``; with ``dev=(examples, lang)``, evaluate
    ``cfg.evals_per_epoch`` times per epoch and restore the best state at the end.

    Returns the history: steps, train losses, dev scores, best dev score and step.
    """
    device = device_of(model)
    spec = train.spec
    world = accelerator_world()
    micro = max(1, cfg.batch_size // (cfg.grad_accum * world))  # the effective batch stays cfg.batch_size
    per_epoch = max(1, math.ceil(len(train.items) / micro) // world)  # micro-batches per process and epoch
    total = max(1, math.ceil(per_epoch * cfg.epochs / cfg.grad_accum))
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    opt = _optimizer(model, cfg, device)
    sched = linear_schedule(opt, total, cfg.warmup)
    eval_every = max(1, per_epoch // cfg.grad_accum // max(1, cfg.evals_per_epoch))
    torch.manual_seed(cfg.seed)
    history = {"losses": [], "dev": [], "best": None, "best_step": 0, "steps": 0}
    best_state, stale, step, epoch = None, 0, 0, 0
    from tqdm import tqdm

    bar = tqdm(total=total, desc=f"fine-tune {head}", disable=not progress, mininterval=2, leave=False)
    stepper = distributed.wrap(model)
    dev_feats = featurize(spec, dev[0], tokenizer) if dev is not None else None  # tokenized once
    while step < total:
        groups = distributed.shard(batches(train, micro, shuffle=True, seed=cfg.seed * 1000 + epoch))
        epoch += 1
        model.train()
        for n, idx in enumerate(groups):
            batch = to_device(collate(train, idx, tokenizer.pad_token_id), device)
            with autocast(device):
                loss = stepper(head, batch)["loss"] / cfg.grad_accum
            distributed.backward(loss)
            if (n + 1) % cfg.grad_accum:
                continue
            optimizer_step(model, opt, sched, cfg.max_grad_norm)
            step += 1
            bar.update(1)
            history["losses"].append(loss.item() * cfg.grad_accum)
            if not math.isfinite(history["losses"][-1]):
                raise FloatingPointError(f"{head}: non-finite training loss at step {step}")
            if dev is not None and (step % eval_every == 0 or step == total):
                value = evaluate(model, head, spec, dev[0], tokenizer, dev[1], cfg.eval_batch_size,
                                 feats=dev_feats)[spec.metrics[0]]
                history["dev"].append((step, value))
                model.train()
                if history["best"] is None or value > history["best"]:
                    history["best"], history["best_step"], stale = value, step, 0
                    best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
                else:
                    stale += 1
                if cfg.patience is not None and stale >= cfg.patience:
                    total = step
            if step >= total:
                break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    history["steps"] = step
    return history


def accelerator_world() -> int:
    return distributed.accelerator().num_processes if distributed.is_distributed() else 1
