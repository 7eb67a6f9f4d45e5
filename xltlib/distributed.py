"""Data-parallel training across processes (GPUs, nodes, or CPU processes for tests) through accelerate.

    accelerate launch --num_processes 8 -m xltlib.cli run study.yaml --out DIR      # 8 GPUs, DDP
    accelerate launch --num_processes 2 --cpu -m xltlib.cli run study.yaml --out DIR

Every process runs the same study in lockstep: training batches are sharded across processes and
gradients averaged (DDP; only the active task's head takes part in a step, hence
``find_unused_parameters``); evaluation is repeated on each process so that early-stopping decisions
agree; only the main process writes checkpoints and results. In a single process all of this is a
no-op and the model simply moves to the GPU when there is one.
"""
from __future__ import annotations

import os
from contextlib import nullcontext
from functools import lru_cache

import torch


def is_distributed() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def world_size() -> int:
    return accelerator().num_processes if is_distributed() else 1


@lru_cache(maxsize=1)
def accelerator():
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    return Accelerator(kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])


def device() -> torch.device:
    if is_distributed():
        return accelerator().device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` names them (empty: none). A local pool
    gives each worker one of them (``xltlib.experiment.schedule``)."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip() and d.strip() != "-1"]
    return [str(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []


def is_main() -> bool:
    return not is_distributed() or accelerator().is_main_process


def barrier() -> None:
    if is_distributed():
        accelerator().wait_for_everyone()


def wrap(model):
    """The model to call in training steps: DDP-wrapped across processes, else the model itself."""
    return accelerator().prepare_model(model) if is_distributed() else model


def no_sync(wrapped, skip: bool):
    """No gradient all-reduce for this backward (the first micro-batches of an accumulated step)."""
    if skip and is_distributed():
        return accelerator().no_sync(wrapped)
    return nullcontext()


def backward(loss) -> None:
    if is_distributed():
        accelerator().backward(loss)
    else:
        loss.backward()


def shard(groups: list) -> list:
    """This process's share of the batches; every process gets the same number of steps."""
    if not is_distributed():
        return groups
    acc = accelerator()
    if len(groups) < acc.num_processes:  # fewer batches than processes: repeat them
        groups = (groups * acc.num_processes)[:acc.num_processes]
    n = len(groups) // acc.num_processes * acc.num_processes
    return groups[acc.process_index:n:acc.num_processes]
