"""Test-wide settings: the Hub is unreachable here, so fail fast instead of retrying for seconds."""
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# OpenMP threads that wait sleep instead of spinning: on 2 cores shared with anything else, spinning threads
# made tiny toy steps 10-50x slower (set before torch is imported)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# nbval executes the notebooks as they are: on the smoke profile (their parameters cell says "toy")
os.environ.setdefault("XLT_NOTEBOOK_PROFILE", "smoke")


def pytest_collection_modifyitems(items):
    """nbval's notebook cells are slow tests too: ``-m "not slow"`` (``make check``) leaves them out."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
