"""Files that several processes share: exclusive locks, so that concurrent processes (a Slurm array, a local
pool, two ``xlt run`` on one directory) build a checkpoint or compute a run once, and atomic writes.

    with file_lock(path) as taken: ...                 # waits for the lock
    with file_lock(path, wait=False) as taken: ...     # taken is False if another process holds it
    write_atomic(path, text)                           # the file appears whole or not at all
"""
from __future__ import annotations

import fcntl
import os
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


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temp file beside it, then a rename): a reader in
    another process never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
