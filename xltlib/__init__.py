"""xltlib: English intermediate-task training and zero-shot cross-lingual transfer (X-STILTs) on XTREME.

Start with ``xlt tasks``, ``xlt toy check``, ``xlt run examples/toy_small.yaml --out runs/toy_small`` and
``xlt reports``; the README maps the modules.
"""
import os

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # per-shard bars of save/load, not our progress
