import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))


@pytest.fixture
def one_thread():
    """One torch thread for a test: toy sizes gain nothing from a second, and on a shared machine two threads
    can make a step 10-50x slower (seen: 150 s instead of 4 s for one test)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
