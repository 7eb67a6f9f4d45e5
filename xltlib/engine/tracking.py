"""Live training curves: the loops' loss, learning rate and dev scores, as they come, to TensorBoard or
Weights & Biases.

    tracker = make_tracker(["tensorboard"], out / "tb", run.id, config={"lr": 1e-5})
    fine_tune(..., tracker=tracker)          # scalars tagged phase2/<task>/loss, .../lr, .../dev/<metric>
    tracker.close()

``report_to`` names the backends: "tensorboard" (``torch.utils.tensorboard``: event files in
``logdir/run_name``; ``pip install 'xltlib[track]'``), "wandb" (``pip install wandb``; project from
``WANDB_PROJECT``, default "xltlib"; ``WANDB_MODE=offline`` writes under ``logdir`` without a network),
"none" or nothing: a tracker that does nothing. Only the main process of a distributed run logs.

Steps start again at 0 in each loop (phase 1's groups, phase 2's chain steps): each loop logs under its own
prefix, and for W&B each prefix has its own step axis (``<prefix>step``). A resumed loop logs again the
steps between its last checkpoint and the interruption.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from xltlib import distributed
from xltlib.errors import ConfigError

BACKENDS = ("tensorboard", "wandb", "none")


class Tracker:
    """Logs nothing: the tracker of ``report_to=[]`` or ``["none"]``, and of processes other than the main."""

    def log(self, scalars: dict[str, float], step: int, prefix: str = "") -> None:
        """Scalars ``{name: value}`` at ``step``, tagged ``prefix + name``."""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class TensorBoardTracker(Tracker):
    def __init__(self, logdir, run_name: str, config: dict | None = None):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise ImportError("report_to tensorboard needs the tensorboard package: "
                              "pip install 'xltlib[track]'") from exc
        self.writer = SummaryWriter(log_dir=str(Path(logdir) / run_name))
        if config:
            self.writer.add_text("config", "```\n" + json.dumps(config, indent=1, default=str) + "\n```")

    def log(self, scalars, step, prefix=""):
        for name, value in scalars.items():
            if value is not None:
                self.writer.add_scalar(prefix + name, float(value), step)
        self.writer.flush()

    def close(self):
        self.writer.close()


class WandbTracker(Tracker):
    def __init__(self, logdir, run_name: str, config: dict | None = None):
        try:
            import wandb
        except ImportError as exc:
            raise ImportError("report_to wandb needs the wandb package: pip install wandb") from exc
        Path(logdir).mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", "xltlib"), name=run_name, dir=str(logdir),
                              config=config or {}, mode=os.environ.get("WANDB_MODE") or None)
        self.axes: set[str] = set()

    def log(self, scalars, step, prefix=""):
        if prefix not in self.axes:  # steps restart in each loop: one step axis per prefix
            self.run.define_metric(prefix + "step")
            self.run.define_metric(prefix + "*", step_metric=prefix + "step")
            self.axes.add(prefix)
        self.run.log({prefix + "step": step,
                      **{prefix + name: float(value) for name, value in scalars.items() if value is not None}})

    def close(self):
        self.run.finish()


class Trackers(Tracker):
    """Several backends at once."""

    def __init__(self, trackers: list[Tracker]):
        self.trackers = trackers

    def log(self, scalars, step, prefix=""):
        for t in self.trackers:
            t.log(scalars, step, prefix)

    def close(self):
        for t in self.trackers:
            t.close()


def make_tracker(report_to, logdir, run_name: str, config: dict | None = None) -> Tracker:
    """The tracker for ``report_to`` (a list of backend names, or one name): see the module's docstring.

    >>> make_tracker([], "tb", "run").log({"loss": 1.0}, step=1, prefix="phase1/")   # logs nothing
    """
    names = [report_to] if isinstance(report_to, str) else list(report_to or [])
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        raise ConfigError(f"report_to {unknown[0]!r} is not one of {', '.join(BACKENDS)}")
    names = [n for n in dict.fromkeys(names) if n != "none"]
    if not names or not distributed.is_main():
        return Tracker()
    made = [TensorBoardTracker(logdir, run_name, config) if n == "tensorboard" else
            WandbTracker(logdir, run_name, config) for n in names]
    return made[0] if len(made) == 1 else Trackers(made)
