"""Where a training step's time goes: a timer that ``xltlib.engine.train.Trainer`` calls as each phase of its step
ends (``trainer.timer = timer``), on the GPU's clock (CUDA events: what the device spends, host gaps
included where the device waits for the host) or the CPU's wall clock.

    timer = StepTimer(device)
    for idx in plan:
        timer.begin()                                  # the step starts: collate comes next
        trainer.step(head, [collate(feats, idx, pad_id)])
    parts = timer.summary()                            # {"host": ms, "forward": ms, ...} per step

Phases: host (collate, copies to the device), forward, backward, clip (gradient-norm clipping),
optimizer (AdamW, schedule, clearing the gradients).
"""
from __future__ import annotations

import time

import torch

PHASES = ("host", "forward", "backward", "clip", "optimizer")


class StepTimer:
    def __init__(self, device: str | torch.device):
        self.cuda = torch.device(device).type == "cuda"
        self.steps: list[list[tuple[str, object]]] = []

    def _now(self):
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.perf_counter()

    def begin(self) -> None:
        self.steps.append([("begin", self._now())])

    def __call__(self, phase: str) -> None:
        self.steps[-1].append((phase, self._now()))

    def summary(self) -> dict[str, float]:
        """Mean milliseconds per step and phase (call after the device is synchronized)."""
        totals = dict.fromkeys(PHASES, 0.0)
        for marks in self.steps:
            for (_, a), (phase, b) in zip(marks, marks[1:]):
                totals[phase] += a.elapsed_time(b) if self.cuda else 1000 * (b - a)
        return {phase: ms / max(1, len(self.steps)) for phase, ms in totals.items()}
