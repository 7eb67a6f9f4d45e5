"""Training: one optimizer, one schedule and one step for every loop of the package (target fine-tuning,
multi-task phase 1), and the step budget they share.

The defaults are jiant's XTREME recipe (docs/reference.md): AdamW (weight decay 0.01, none on biases and
LayerNorm), eps 1e-8, warmup 10% then linear decay, gradient-norm clipping at 1.0. bf16 autocast and the
fused AdamW kernel on GPUs. The loss stays on the device and is read every ``log_every`` steps (and at
each evaluation), so a step does not wait for the GPU.

Cheaper steps, same math (opt-in, for GPUs): ``pad_multiple=32`` pads each batch to a multiple of 32 tokens
(padding is masked everywhere: attention, pooling, losses), so that a task has a few batch widths instead
of one per longest sequence; ``compile=True`` then runs the model's forward and backward through
``torch.compile`` (on CUDA with one micro-batch per step, mode "reduce-overhead": CUDA graphs, one per
width; otherwise Inductor's default mode).
tests/test_train_step.py checks that the losses stay those of the eager step.

The loops keep their training curve in ``history["curve"]`` (``Curve``), send it to an optional tracker
(``xltlib.engine.tracking``), and with a ``Checkpointer`` (``xltlib.engine.checkpoint``) save their state
at step boundaries and resume from it, bit-identically on CPU (tests/test_resume.py).

    history = fine_tune(model, "xnli", train_feats, tokenizer, TrainConfig(), dev=(dev_examples, "en"))
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from xltlib import distributed
from xltlib.engine.evaluation import autocast, device_of, evaluate, to_device
from xltlib.engine.features import Features, batches, collate, featurize
from xltlib.engine.formats import format_of


@dataclass(frozen=True)
class TrainConfig:
    lr: float = 1e-5  # jiant's XTREME recipe for XLM-R Large; tiny toy models need ~5e-4
    # the fresh task heads' rate (None: ``lr``, as jiant trains them); a pretrained head (continued MLM's)
    # trains at ``lr`` like the encoder
    head_lr: float | None = None
    epochs: float = 2.0
    batch_size: int = 32  # effective batch (QA: 16)
    grad_accum: int = 1  # micro-batches per optimizer step: batch_size // grad_accum examples each
    warmup: float = 0.1  # fraction of the steps
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    eps: float = 1e-8
    evals_per_epoch: int = 1  # dev evaluations per epoch, for early stopping
    patience: int | None = None  # stop after this many evaluations without a better dev score
    max_steps: int | None = None  # cap on optimizer steps (budgets for quick runs)
    eval_batch_size: int = 128
    log_every: int = 50  # read the loss from the device every this many steps
    seed: int = 0
    pad_multiple: int | None = None  # pad batches to a multiple of this many tokens (GPU: 32): few shapes
    compile: bool = False  # torch.compile the model (CUDA: CUDA graphs); needs pad_multiple (a graph per width)

    def __post_init__(self):
        if self.pad_multiple is not None and (isinstance(self.pad_multiple, bool) or not isinstance(self.pad_multiple, int)
                                              or self.pad_multiple < 1):
            raise ValueError(f"TrainConfig.pad_multiple={self.pad_multiple!r}: expected a positive number of tokens "
                             "(e.g. 32) or None (pad each batch to its longest sequence)")
        if self.compile and self.pad_multiple is None:
            raise ValueError("TrainConfig.compile=True needs pad_multiple (e.g. 32): without it every batch width "
                             "is a new shape to compile and, on CUDA, a new graph to record")


def linear_schedule(opt, total: int, warmup: float):
    """Linear warmup over ``warmup`` of the steps, then linear decay to 0 at ``total``."""
    warm = max(1, int(warmup * total))
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))


def optimizer_step(model, opt, sched, max_grad_norm: float, mark=None) -> None:
    """Clip the gradient norm, step the optimizer and the schedule, clear the gradients (``mark``: see
    ``Trainer.timer``)."""
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    if mark is not None:
        mark("clip")
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)
    if mark is not None:
        mark("optimizer")


def compiled(module, graphs: bool):
    """``module`` through ``torch.compile``, one graph per head for every batch width (``dynamic=True``: one
    compilation instead of a static one then a dynamic one at the second width); with ``graphs``, CUDA
    graphs (mode "reduce-overhead": one recorded per head and width, hence ``pad_multiple``). The recompile
    limit is raised because the default, 8, would send a multi-task phase 1 back to eager without a word.
    The whole ``TransferModel.forward``, loss included, is one graph (no graph breaks)."""
    import torch._dynamo

    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 256)
    return torch.compile(module, mode="reduce-overhead" if graphs else None, dynamic=True)


def step_budget(sizes: list[int], cfg: TrainConfig) -> tuple[int, int, int]:
    """``(micro-batch size, micro-batches per epoch and process, optimizer steps)`` for training sets of
    ``sizes`` examples (one per task) at ``cfg``'s epochs, effective batch, accumulation and processes."""
    world = distributed.world_size()
    micro = max(1, cfg.batch_size // (cfg.grad_accum * world))  # the effective batch stays cfg.batch_size
    per_epoch = sum(max(1, math.ceil(n / micro) // world) for n in sizes)
    total = max(1, math.ceil(per_epoch * cfg.epochs / cfg.grad_accum))
    return micro, per_epoch, min(total, cfg.max_steps) if cfg.max_steps else total


def eval_interval(per_epoch: int, cfg: TrainConfig) -> int:
    """Optimizer steps between dev evaluations: ``cfg.evals_per_epoch`` per epoch of ``per_epoch`` micro-batches
    (``fine_tune`` also evaluates after the last step)."""
    return max(1, per_epoch // cfg.grad_accum // max(1, cfg.evals_per_epoch))


class Trainer:
    """AdamW over the model's trainable parameters, the linear schedule over ``total`` steps, and the step."""

    def __init__(self, model, cfg: TrainConfig, total: int, name: str):
        self.model, self.cfg, self.total, self.name = model, cfg, total, name
        self.device = device_of(model)
        groups = {}  # (fresh head?, decay?) -> parameters
        for pname, p in model.named_parameters():
            if p.requires_grad:
                head = cfg.head_lr is not None and pname.startswith("heads.") and \
                    format_of(model.formats[pname.split(".")[1]]).fresh_head
                decay = not (p.ndim < 2 or "LayerNorm" in pname or "layer_norm" in pname)
                groups.setdefault((head, decay), []).append(p)
        keys = sorted(groups)
        groups = [{"params": groups[k], "weight_decay": cfg.weight_decay if k[1] else 0.0,
                   **({"lr": cfg.head_lr} if k[0] else {})} for k in keys]
        # the group whose rate ``lr`` reports: the encoder's (the first group that is not fresh heads')
        self._encoder_group = next((i for i, (head, _) in enumerate(keys) if not head), 0)
        self.opt = torch.optim.AdamW(groups, lr=cfg.lr, eps=cfg.eps, fused=self.device.type == "cuda")
        self.sched = linear_schedule(self.opt, total, cfg.warmup)
        self.wrapped = distributed.wrap(model)
        # CUDA graphs only for one micro-batch per step in one process: a graph's outputs are overwritten by
        # its next replay, and with accumulation those outputs are the .grad being accumulated into
        # (pytorch/pytorch#169545: an error, or silently wrong gradients in older releases)
        graphs = self.device.type == "cuda" and cfg.grad_accum == 1 and distributed.world_size() == 1
        self.forward = compiled(self.wrapped, graphs) if cfg.compile else self.wrapped
        self.timer = None  # optional callable(phase): the phase of the step that ends now (benchmarks)
        self.steps = 0
        self.losses: list[float] = []
        self._pending: list[torch.Tensor] = []

    def step(self, head: str, micro_batches: list[dict]) -> None:
        """One optimizer step over ``micro_batches`` (gradient accumulation: DDP synchronizes on the last).

        With ``timer`` set, calls it as each phase ends: "host" (copies to the device), "forward",
        "backward" (once per micro-batch), "clip", "optimizer"."""
        self.model.train()
        mark = self.timer or (lambda phase: None)
        loss_sum = None
        for i, batch in enumerate(micro_batches):
            batch = to_device(batch, self.device)
            mark("host")
            with distributed.no_sync(self.wrapped, i < len(micro_batches) - 1), autocast(self.device):
                # the division (eager, outside a compiled graph) makes the loss kept below a tensor of its own
                loss = self.forward(head, batch)["loss"] / len(micro_batches)
                mark("forward")
                distributed.backward(loss)
                mark("backward")
            loss_sum = loss.detach() if loss_sum is None else loss_sum + loss.detach()
        optimizer_step(self.model, self.opt, self.sched, self.cfg.max_grad_norm, self.timer)
        self.steps += 1
        self._pending.append(loss_sum)
        if self.steps % self.cfg.log_every == 0:
            self.flush()

    def flush(self) -> list[float]:
        """Read the pending losses from the device; a non-finite one stops training (divergence)."""
        if self._pending:
            values = torch.stack(self._pending).float().tolist()
            self._pending.clear()
            for k, v in enumerate(values):
                if not math.isfinite(v):
                    step = self.steps - len(values) + k + 1
                    raise FloatingPointError(f"{self.name}: non-finite training loss at step {step}")
            self.losses.extend(values)
        return self.losses

    @property
    def lr(self) -> float:
        """The encoder's learning rate for the next step (the fresh heads' may differ: ``head_lr``)."""
        return self.opt.param_groups[self._encoder_group]["lr"]

    def state_dict(self) -> dict:
        """Optimizer, schedule, steps and losses (pending losses read first: a checkpoint's)."""
        self.flush()
        return {"opt": self.opt.state_dict(), "sched": self.sched.state_dict(), "steps": self.steps,
                "losses": list(self.losses)}

    def load_state_dict(self, state: dict) -> None:
        self.opt.load_state_dict(state["opt"])
        self.sched.load_state_dict(state["sched"])
        self.steps = state["steps"]
        self.losses[:] = state["losses"]
        self._pending.clear()


class Curve:
    """The training curve a loop keeps in ``history["curve"]``: a record ``{"step", "loss", "lr"}`` every
    ``log_every`` steps and at the end (``loss``: the mean of the losses since the previous record; ``lr``:
    the encoder's rate), and ``"dev": {metric: value}`` on records made at evaluations. Each record also goes
    to ``tracker`` (``xltlib.engine.tracking``) under ``prefix``: loss and lr, dev metrics as ``dev/<metric>``."""

    def __init__(self, trainer: Trainer, records: list, tracker=None, prefix: str = ""):
        self.trainer, self.records, self.tracker, self.prefix = trainer, records, tracker, prefix

    def record(self, dev: dict | None = None) -> None:
        """A record at the trainer's current step (one per step: a second call adds to the first)."""
        trainer = self.trainer
        losses = trainer.flush()
        step = trainer.steps
        if self.records and self.records[-1]["step"] == step:
            entry = self.records[-1]
        else:
            since = losses[self.records[-1]["step"] if self.records else 0:step]
            entry = {"step": step, "loss": sum(since) / len(since) if since else None, "lr": trainer.lr}
            self.records.append(entry)
            if self.tracker is not None and since:
                self.tracker.log({"loss": entry["loss"], "lr": entry["lr"]}, step, self.prefix)
        if dev is not None:
            entry["dev"] = dict(dev)
            if self.tracker is not None:
                self.tracker.log(dict(dev), step, self.prefix + "dev/")

    def at_step(self) -> None:
        """After each optimizer step: a record every ``log_every`` steps."""
        if self.trainer.steps % self.trainer.cfg.log_every == 0:
            self.record()


def fine_tune(model, head: str, train: Features, tokenizer, cfg: TrainConfig,
              dev: tuple[list, str] | None = None, progress: bool = False, ckpt=None, tracker=None,
              log_prefix: str | None = None) -> dict:
    """Train ``model`` on ``train`` through head ``head``; with ``dev=(examples, lang)``, evaluate
    ``cfg.evals_per_epoch`` times per epoch on the task's primary metric (QA: (EM + F1) / 2), stop after
    ``cfg.patience`` evaluations without a better score, and restore the best state at the end.

    ``ckpt`` (a ``xltlib.engine.checkpoint.Checkpointer``): save the training state when it is due, resume
    from its saved state, raise ``Preempted`` on a stop request, delete the state when training completes.
    ``tracker`` (``xltlib.engine.tracking``): loss, lr and dev scores as they come, tagged
    ``log_prefix`` (default ``phase2/<task>/``).

    Returns the history: steps, train losses, dev scores (step, {metric: value}), best primary score, step,
    and the curve (``Curve``).
    """
    from tqdm import tqdm

    from xltlib.engine.checkpoint import boundary, load_model_state, model_state, rng_state, set_rng_state

    spec = train.spec
    micro, per_epoch, total = step_budget([len(train.items)], cfg)
    trainer = Trainer(model, cfg, total, head)
    eval_every = eval_interval(per_epoch, cfg)
    torch.manual_seed(cfg.seed)
    history = {"losses": trainer.losses, "dev": [], "best": None, "best_scores": None, "best_step": 0, "steps": 0,
               "curve": []}
    curve = Curve(trainer, history["curve"], tracker, f"phase2/{spec.name}/" if log_prefix is None else log_prefix)
    best_state, stale, epoch, start = None, 0, 0, 0  # (epoch, start): the next micro-batch group to train on
    what = {"loop": "fine_tune", "head": head, "task": spec.name, "items": len(train.items), "total": total}
    saved = ckpt.resume(what) if ckpt is not None else None
    if saved is not None:
        load_model_state(model, saved["model"])
        trainer.load_state_dict(saved["trainer"])
        total, epoch, start, stale = saved["total"], saved["epoch"], saved["start"], saved["stale"]
        best_state = saved["best_state"]
        history.update({k: v for k, v in saved["history"].items() if k not in ("losses", "curve")})
        history["curve"][:] = saved["history"]["curve"]
        set_rng_state(saved["rng"])

    def state():
        return {"what": what, "model": model_state(model), "trainer": trainer.state_dict(), "total": total,
                "epoch": epoch, "start": start, "stale": stale, "best_state": best_state,
                "history": {k: v for k, v in history.items() if k != "losses"}, "rng": rng_state()}

    bar = tqdm(total=total, initial=trainer.steps, desc=f"fine-tune {head}", disable=not progress, mininterval=2,
               leave=False)
    dev_feats = featurize(spec, dev[0], tokenizer) if dev is not None else None  # tokenized once
    while trainer.steps < total:
        groups = distributed.shard(batches(train, micro, shuffle=True, seed=cfg.seed * 1000 + epoch))
        for s in range(start, len(groups), cfg.grad_accum):
            trainer.step(head, [collate(train, idx, tokenizer.pad_token_id, cfg.pad_multiple)
                                for idx in groups[s:s + cfg.grad_accum]])
            start = s + cfg.grad_accum
            bar.update(1)
            curve.at_step()
            if dev is not None and (trainer.steps % eval_every == 0 or trainer.steps == total):
                trainer.flush()  # a diverged run stops before it is evaluated
                scores = evaluate(model, head, spec, dev[0], tokenizer, dev[1], cfg.eval_batch_size, feats=dev_feats)
                value = spec.primary(scores)
                history["dev"].append((trainer.steps, scores))
                curve.record(dev=scores)
                if history["best"] is None or value > history["best"]:
                    history.update(best=value, best_scores=scores, best_step=trainer.steps)
                    stale = 0
                    best_state = model_state(model)
                else:
                    stale += 1
                if cfg.patience is not None and stale >= cfg.patience:
                    total = trainer.steps
            if trainer.steps >= total:
                break
            boundary(ckpt, state)
        else:
            epoch, start = epoch + 1, 0
    bar.close()
    curve.record()
    if best_state is not None:
        load_model_state(model, best_state)
    history["steps"] = trainer.steps
    if ckpt is not None:
        ckpt.discard()
    return history

