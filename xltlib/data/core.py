"""What every loader returns: a split's normalized examples with what was skipped, repaired or renamed on
the way, under one malformed-row policy.

Malformed-row policy (``on_error``):

- ``"skip"`` (default): unusable rows are left out, counted per reason in ``TaskData.skipped``, and one
  warning names the source, the counts and the first bad row. Nothing is dropped silently. A split left
  with no usable row at all is an error (``MalformedDataError`` naming the source and the reasons).
- ``"raise"``: the first unusable row raises ``MalformedDataError`` naming source, row, field and reason.

Reasons: ``empty_text``, ``label_not_in_label_set``, ``length_mismatch`` (tokens vs tags),
``answer_not_in_context``, ``no_answer``, ``wrong_choice_count``, ``unreadable_row``, ``bad_role``,
``not_utf8``. QA answers whose offset is wrong but whose text occurs in the context are moved to its first
occurrence, counted in ``TaskData.repaired`` and warned about (XTREME's data has a few of these).

Example ids are unique within a split: scoring keys predictions by id, so a repeated id (XTREME's
``tydiqa.goldp.en.train.json`` has 3,696 questions under 89 ids) becomes ``id#2``, ``id#3``, ... and is
counted in ``TaskData.renamed_ids``.
"""
from __future__ import annotations

import dataclasses
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from xltlib.errors import ConfigError, DataUnavailableError, MalformedDataError, NoSourceError
from xltlib.registry.tasks import TaskSpec, get_task

ON_ERROR = ("skip", "raise")


class MalformedRowWarning(UserWarning):
    pass


class BlankedLabelsError(NoSourceError):
    """A split whose gold labels were removed by its distributor (XTREME keeps its test labels for the
    leaderboard): it can be read but never scored. ``path``: the file; ``reason``: how the blanking shows."""

    def __init__(self, message: str, path: str | None = None, reason: str | None = None):
        super().__init__(message)
        self.path, self.reason = path, reason


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
    renamed_ids: int = 0  # rows whose id repeated an earlier one's, renamed to keep ids unique

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator:
        return iter(self.examples)

    def __getitem__(self, i):
        return self.examples[i]

    def extend(self, other: "TaskData") -> None:
        """Append another part of the same split (several Hub sources), keeping ids unique."""
        seen = Counter(e.id for e in self.examples)
        for e in other.examples:
            self.examples.append(_unique(e, seen, self))
        self.skipped += other.skipped
        self.repaired += other.repaired
        self.renamed_ids += other.renamed_ids
        self.source = f"{self.source} + {other.source}"


def _unique(example, seen: Counter, data: TaskData):
    seen[example.id] += 1
    if seen[example.id] == 1:
        return example
    data.renamed_ids += 1
    new = f"{example.id}#{seen[example.id]}"
    seen[new] += 1
    return dataclasses.replace(example, id=new)


def read_spec(task: str | TaskSpec, split: str, benchmark: str | None = None) -> TaskSpec:
    """The spec whose data a split is read from: a target's training split is its training task's
    (XNLI trains on MNLI, XQuAD on SQuAD v1.1), with ``benchmark``'s variant where it defines one."""
    spec = get_task(task, benchmark)
    if split == "train" and spec.train_task:
        spec = get_task(spec.train_task)
    return spec


def check_policy(on_error: str) -> None:
    if on_error not in ON_ERROR:
        raise ConfigError(f"on_error={on_error!r} is not one of {', '.join(ON_ERROR)}")


def collect(
    spec: TaskSpec, lang: str, split: str, source: str, rows: Iterable[tuple[str, object]], on_error: str
) -> TaskData:
    """Validate ``(row_ref, example | Exception)`` pairs under the malformed-row policy."""
    data = TaskData(spec, lang, split, source)
    first_bad = None
    seen: Counter = Counter()
    for ref, item in rows:
        if isinstance(item, UnicodeDecodeError):
            problem = ("not_utf8", f"not UTF-8 text ({item.reason} at byte {item.start})")
        elif isinstance(item, Exception):
            problem = ("unreadable_row", f"{type(item).__name__}: {item}")
        else:
            problem = item.validate(spec)
            if problem and problem[0] == "answer_not_in_context":
                fixed = item.repaired()
                if fixed is not None:
                    item, problem = fixed, None
                    data.repaired += 1
        if problem is None:
            data.examples.append(_unique(item, seen, data))
            continue
        reason, detail = problem
        if on_error == "raise":
            raise MalformedDataError(f"{source}, row {ref}: {reason}: {detail} (task {spec.name}, {lang}/{split})")
        data.skipped[reason] += 1
        first_bad = first_bad or f"row {ref}: {detail}"
    counts = ", ".join(f"{n} {reason}" for reason, n in data.skipped.most_common())
    if spec.open_labels and not spec.labels and data.examples:  # an open tag set (CCG): the data's
        data.task = dataclasses.replace(spec, labels=tuple(sorted({t for e in data.examples for t in e.tags})))
    if not data.examples:
        if data.skipped:
            raise MalformedDataError(f"{source}: none of its {sum(data.skipped.values())} row(s) of {spec.name} "
                                     f"{lang}/{split} is usable ({counts}); first: {first_bad}")
        raise DataUnavailableError(f"{source}: holds no rows of {spec.name} {lang}/{split} (empty file or split)")
    if data.skipped:
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
