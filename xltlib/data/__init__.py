"""Load a task's split in one language as normalized examples, from the Hub or a local directory.

    from xltlib.data import load_examples
    data = load_examples("panx", "sw", "test")                      # google/xtreme PAN-X.sw via datasets
    data = load_examples("ccg", "en", "train", source="/data/xlt")  # a local directory
    data.examples[0], data.skipped                                  # examples, malformed rows per reason

Malformed-row policy (``on_error``):

- ``"skip"`` (default): unusable rows are left out, counted per reason in ``TaskData.skipped``, and one
  warning names the source, the counts and the first bad row. Nothing is dropped silently.
- ``"raise"``: the first unusable row raises ``MalformedDataError`` naming source, row, field and reason.

Reasons: ``empty_text``, ``label_not_in_label_set``, ``length_mismatch`` (tokens vs tags),
``answer_not_in_context``, ``no_answer``, ``wrong_choice_count``, ``unreadable_row``, ``bad_role``.
QA answers whose offset is wrong but whose text occurs in the context are moved to its first
occurrence, counted in ``TaskData.repaired`` and warned about (XTREME's data has a few of these).
"""
from __future__ import annotations

import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from xltlib.errors import ConfigError, MalformedDataError
from xltlib.tasks import Format, TaskSpec, get_task

ON_ERROR = ("skip", "raise")


class MalformedRowWarning(UserWarning):
    pass


@dataclass
class TaskData:
    """The examples of one (task, language, split), with what was skipped or repaired on the way."""

    task: TaskSpec
    lang: str
    split: str
    source: str  # where the rows came from, e.g. "google/xtreme [PAN-X.sw] test"
    examples: list = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # reason -> rows left out
    repaired: int = 0  # QA answers moved to the right offset

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator:
        return iter(self.examples)

    def __getitem__(self, i):
        return self.examples[i]


def collect(
    spec: TaskSpec, lang: str, split: str, source: str, rows: Iterable[tuple[str, object]], on_error: str
) -> TaskData:
    """Validate ``(row_ref, example | Exception)`` pairs under the malformed-row policy."""
    data = TaskData(spec, lang, split, source)
    first_bad = None
    for ref, item in rows:
        if isinstance(item, Exception):
            problem = ("unreadable_row", f"{type(item).__name__}: {item}")
        else:
            problem = item.validate(spec)
            if problem and problem[0] == "answer_not_in_context":
                fixed = item.repaired()
                if fixed is not None:
                    item, problem = fixed, None
                    data.repaired += 1
        if problem is None:
            data.examples.append(item)
            continue
        reason, detail = problem
        if on_error == "raise":
            raise MalformedDataError(f"{source}, row {ref}: {reason}: {detail} (task {spec.name}, {lang}/{split})")
        data.skipped[reason] += 1
        first_bad = first_bad or f"row {ref}: {detail}"
    if data.skipped:
        counts = ", ".join(f"{n} {reason}" for reason, n in data.skipped.most_common())
        warnings.warn(
            f"{source}: skipped {sum(data.skipped.values())} malformed row(s) of {spec.name} {lang}/{split} "
            f"({counts}); first: {first_bad}. Pass on_error='raise' to stop at the first one.",
            MalformedRowWarning, stacklevel=3,
        )
    if data.repaired:
        warnings.warn(
            f"{source}: moved {data.repaired} misaligned answer offset(s) of {spec.name} {lang}/{split} to the "
            f"answer's first occurrence in its context", MalformedRowWarning, stacklevel=3,
        )
    return data


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
            a local directory (see ``xltlib.data.local``), or ``"toy"`` / a ``ToyWorld`` (generated).
        on_error: the malformed-row policy, ``"skip"`` or ``"raise"`` (module docstring).
        benchmark: apply a benchmark's variant of the spec (e.g. ``"xtreme-r"`` language lists).
        limit: keep at most this many rows of the source (read in order), for quick looks.
    """
    if on_error not in ON_ERROR:
        raise ConfigError(f"on_error={on_error!r} is not one of {', '.join(ON_ERROR)}")
    if str(source) == "toy" or not isinstance(source, (str, os.PathLike)):
        from xltlib.toy.data import ToyWorld, load as toy_load

        world = ToyWorld() if str(source) == "toy" else source
        if not isinstance(world, ToyWorld):
            raise ConfigError(f"source={source!r}: expected 'hub', 'toy', a ToyWorld or a local directory")
        return toy_load(task, lang, split, world, on_error=on_error, limit=limit)
    spec = get_task(task, benchmark)
    if split == "train" and spec.train_task:
        spec = get_task(spec.train_task)
    if str(source) == "hub":
        from xltlib.data import hub

        spec.check(lang, split)
        return hub.load(spec, lang, split, on_error=on_error, limit=limit)
    from xltlib.data import local

    return local.load(spec, lang, split, os.fspath(source), on_error=on_error, limit=limit)


__all__ = ["Format", "TaskData", "load_examples", "collect", "MalformedRowWarning"]
