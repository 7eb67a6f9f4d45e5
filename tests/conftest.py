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


@pytest.fixture(scope="session")
def smoke_dir(tmp_path_factory):
    """The smoke-size toy model (the tests' tiny XLM-R), pretrained once per session into the session's own
    cache, ``basetemp/xlt-cache`` (``XLT_CACHE`` is set only while it is built: no other test sees it)."""
    from xltlib.toy.pretrain import toy_model

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XLT_CACHE", str(tmp_path_factory.getbasetemp() / "xlt-cache"))
        return toy_model("smoke", progress=False)


@pytest.fixture
def smoke_cache(smoke_dir, monkeypatch):
    """``XLT_CACHE`` set, for one test, to the cache that holds ``smoke_dir``: code that asks for the smoke
    model by name (``xlt toy check --size smoke``) finds it there."""
    monkeypatch.setenv("XLT_CACHE", str(smoke_dir.parent.parent))
    return smoke_dir
