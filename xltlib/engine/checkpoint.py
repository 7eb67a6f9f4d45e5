"""Checkpoints inside a training phase, for clusters with time limits and preemption (Slurm).

A ``Checkpointer`` stands for one directory. The training loops (``fine_tune``, ``train_multitask``) ask
``ckpt.due()`` at every optimizer-step boundary (never inside a step): when ``every_s`` seconds have passed
since the last save, or a stop was requested, they save their whole state into ``state.pt`` there (model,
optimizer, schedule, losses, history, data position, RNG states); on a stop request they then raise
``Preempted``. A loop given a checkpointer whose ``state.pt`` exists resumes from it: on CPU in one process,
the resumed run's weights, losses and dev scores are bit-identical to an uninterrupted run's (tests/test_resume.py).

Layout (one directory per loop, children made with ``sub``)::

    ckpt = Checkpointer(out / "resume" / group_id)
    fine_tune_chain(..., ckpt=ckpt.sub("attempt0"))   # steps in attempt0/step0, attempt0/step1, ...
    intermediate_training(..., ckpt=ckpt)              # groups in group0, group1, ...

Lifetimes: a loop that completes deletes its ``state.pt``; a chain (``fine_tune_chain``) or a sequence of
phase-1 groups (``intermediate_training``) then writes ``done.pt`` in that step's directory (the model's
trained state and the step's history), so that a resume loads finished steps instead of training them
again. Nothing removes ``done.pt``: the caller removes the whole tree (``clear``) once the phase's output
is saved.

What is saved of the model is its trainable parameters and its buffers (``model_state``): frozen weights
(a LoRA base, frozen embeddings) come back from the same initial load that the resumed process makes.

Stop requests: ``install_signal_handlers()`` (main thread) makes SIGUSR2 and SIGTERM set a flag
(``request_stop``); the loop that sees it saves at once and raises ``Preempted``. Slurm sends SIGTERM only
``KillWait`` seconds (often 30) before the kill: ask for an earlier signal with ``--signal=USR2@300``.

Several processes (DDP): every process asks ``due()`` at the same step, and they agree (any process's
stop request or timer counts); the main process writes, the others wait for it. The main process's RNG
states are restored on every process, so a multi-process resume is exact only up to dropout masks.
"""
from __future__ import annotations

import logging
import os
import random
import shutil
import signal
import threading
import time
from pathlib import Path

import torch

from xltlib import distributed

log = logging.getLogger(__name__)

STATE, DONE = "state.pt", "done.pt"

_stop = threading.Event()
_now = time.monotonic  # the clock ``due`` reads (tests replace it)


class Preempted(RuntimeError):
    """A loop stopped on request after saving its state in ``directory``; running it again resumes there."""

    def __init__(self, directory):
        self.directory = Path(directory)
        super().__init__(f"training stopped on request; its state is saved in {self.directory} "
                         "(run again with the same checkpoint directory to resume)")


# ------------------------------------------------------------------------------------------ stop requests
def request_stop() -> None:
    """Ask the running loop to save and raise ``Preempted`` at its next step boundary."""
    _stop.set()


def stop_requested() -> bool:
    return _stop.is_set()


def clear_stop() -> None:
    """Forget a stop request (a process that goes on after handling ``Preempted``)."""
    _stop.clear()


def install_signal_handlers(signals=(signal.SIGUSR2, signal.SIGTERM)) -> dict:
    """Make each of ``signals`` request a stop instead of its default action. Returns the handlers it
    replaced (signal -> handler, for ``signal.signal`` to put back); {} and nothing installed outside the
    main thread (Python delivers signals to the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum, frame):
        log.warning("received %s: saving a checkpoint at the next step boundary", signal.Signals(signum).name)
        request_stop()

    return {s: signal.signal(s, handler) for s in signals}


# -------------------------------------------------------------------------------------------- model state
def model_state(model) -> dict[str, torch.Tensor]:
    """CPU copies of ``model``'s trainable parameters and buffers (its state_dict less the frozen weights)."""
    keep = {n for n, p in model.named_parameters(remove_duplicate=False) if p.requires_grad}
    keep |= {n for n, _ in model.named_buffers(remove_duplicate=False)}
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items() if k in keep}


def load_model_state(model, state: dict[str, torch.Tensor]) -> None:
    """Load a ``model_state`` into ``model`` (same architecture; the weights it lacks stay as they are)."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected:
        raise ValueError(f"checkpoint holds weights the model lacks: {unexpected[:5]}")


# ------------------------------------------------------------------------------------------------- RNG
def rng_state() -> dict:
    """The RNG states of torch (CPU, CUDA when available), python's ``random`` and numpy."""
    import numpy as np

    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "random": random.getstate(),
             "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss))}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    import numpy as np

    torch.set_rng_state(state["torch"])
    random.setstate(state["random"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def to_cpu(obj):
    """``obj`` with every tensor in it (dicts, lists, tuples) copied to the CPU."""
    if torch.is_tensor(obj):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def plain(obj):
    """``obj`` with numpy scalars made python numbers (a checkpoint loads with ``weights_only=True``)."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain(v) for v in obj)
    if hasattr(obj, "item") and type(obj).__module__ == "numpy":
        return obj.item()
    return obj


# ---------------------------------------------------------------------------------------- the checkpointer
def default_every_s() -> float:
    """Seconds between saves: ``XLT_CHECKPOINT_MINUTES`` (minutes, default 10)."""
    return 60.0 * float(os.environ.get("XLT_CHECKPOINT_MINUTES", "10"))


class Checkpointer:
    """The checkpoints of one training loop, in ``directory``; ``sub(name)`` for a loop inside it. A
    checkpointer and its children share one clock: ``every_s`` counts from the last save by any of them."""

    def __init__(self, directory, every_s: float | None = None, _clock: list | None = None):
        self.directory = Path(directory)
        self.every_s = default_every_s() if every_s is None else float(every_s)
        self._clock = _clock if _clock is not None else [_now()]  # [time of the last save]
        self.stopping = False  # set by ``due``: the save it asks for is for a stop request

    def __repr__(self):
        return f"Checkpointer({str(self.directory)!r}, every_s={self.every_s})"

    def sub(self, name: str) -> "Checkpointer":
        return Checkpointer(self.directory / name, self.every_s, self._clock)

    # ---------------------------------------------------------------- in-progress state
    def due(self) -> bool:
        """Whether to save now: ``every_s`` seconds since the last save, or a stop was requested (then
        ``stopping`` is set). Processes of a distributed run agree (a collective: every process calls it)."""
        timer, stop = _now() - self._clock[0] >= self.every_s, stop_requested()
        if distributed.is_distributed():
            timer, stop = _agree(timer, stop)
        self.stopping = stop
        return timer or stop

    def save(self, state: dict) -> None:
        """Write ``state`` (tensors copied to the CPU) as this loop's ``state.pt``, atomically; its
        ``"what"`` entry says which loop it resumes (``resume``)."""
        if distributed.is_main():
            self._write(STATE, to_cpu(plain(state)))
        distributed.barrier()
        self._clock[0] = _now()
        log.info("checkpoint saved: %s", self.directory / STATE)

    def load(self) -> dict | None:
        """The saved state, or None when there is none."""
        path = self.directory / STATE
        return torch.load(path, map_location="cpu", weights_only=True) if path.exists() else None

    def resume(self, what: dict) -> dict | None:
        """The saved state of the loop described by ``what`` (its kind, data sizes, step budget), or None
        when there is none; a state saved by another loop is an error, not silently trained on."""
        saved = self.load()
        if saved is not None and saved.get("what") != what:
            raise ValueError(f"{self.directory}: the saved training state is for {saved.get('what')}, not {what}: "
                             "remove the directory to start over")
        return saved

    def discard(self) -> None:
        """Remove ``state.pt`` (the loop completed)."""
        if distributed.is_main():
            (self.directory / STATE).unlink(missing_ok=True)

    def stop_if_requested(self) -> None:
        """After a save that ``due`` asked for: raise ``Preempted`` when it was for a stop request."""
        if self.stopping:
            raise Preempted(self.directory)

    # ---------------------------------------------------------------- finished steps
    def mark_done(self, payload: dict) -> None:
        """Record that this loop finished, with ``payload`` (e.g. the model's state and the history),
        atomically; ``state.pt`` goes."""
        if distributed.is_main():
            self._write(DONE, to_cpu(plain(payload)))
            (self.directory / STATE).unlink(missing_ok=True)
        distributed.barrier()

    def done(self) -> dict | None:
        """What ``mark_done`` recorded, or None."""
        path = self.directory / DONE
        return torch.load(path, map_location="cpu", weights_only=True) if path.exists() else None

    def clear(self) -> None:
        """Remove the directory and everything in it (the phase's output is saved)."""
        if distributed.is_main():
            shutil.rmtree(self.directory, ignore_errors=True)

    def _write(self, name: str, obj) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".{name}.tmp{os.getpid()}"
        torch.save(obj, tmp)
        os.replace(tmp, self.directory / name)


_host_group = []  # a gloo process group over the same processes, made on first use


def _agree(*flags: bool) -> tuple[bool, ...]:
    """Each flag true on any process, on every process: an all-reduce over CPU tensors (gloo), so that
    asking at every step does not wait for the GPU to finish its queued work (NCCL would)."""
    dist = torch.distributed
    if not _host_group:
        _host_group.append(dist.new_group(backend="gloo") if dist.get_backend() != "gloo" else None)
    t = torch.tensor([float(f) for f in flags])
    dist.all_reduce(t, op=dist.ReduceOp.MAX, group=_host_group[0])
    return tuple(bool(v) for v in t.tolist())


def boundary(ckpt: Checkpointer | None, state) -> None:
    """A loop's step boundary: when ``ckpt`` is due, save ``state()`` and, on a stop request, raise
    ``Preempted``."""
    if ckpt is not None and ckpt.due():
        ckpt.save(state())
        ckpt.stop_if_requested()
