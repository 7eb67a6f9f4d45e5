"""Exclusive file locks, so that concurrent processes (a Slurm array, a local pool, two ``xlt run`` on one
directory) build a checkpoint or compute a run once.

    with file_lock(path) as taken: ...                 # waits for the lock
    with file_lock(path, wait=False) as taken: ...     # taken is False if another process holds it
"""
from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path

from xltlib import distributed


@contextmanager
def file_lock(path: Path, wait: bool = True):
    """An exclusive lock on ``path`` (created); yields whether it was taken (``wait=False``: maybe not)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if distributed.is_distributed():  # the processes of one DDP job work together, in lockstep
        yield True
        return
    with open(path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
