"""Split slices, in the syntax of Hugging Face ``datasets``: a split, then optionally ``[start:stop]`` with
bounds in examples or in percent of the split.

    >>> s = parse("dev[:50%]"); s.split, s.take(list(range(10)))
    ('dev', [0, 1, 2, 3, 4])
    >>> parse("dev[50%:]").take(list(range(10))), parse("test[2:4]").take(list(range(10)))
    ([5, 6, 7, 8, 9], [2, 3])
    >>> parse("dev[:50%]").overlaps(parse("dev[50%:]")), parse("dev").overlaps(parse("dev[50%:]"))
    (False, True)

A slice is taken by position, so the same positions in every language: on a set translated item by item
(XNLI's and PAWS-X's dev files: line i of ``dev-de.tsv`` translates line i of ``dev-en.tsv``) training on
``dev[:50%]`` in English and scoring ``dev[50%:]`` in every language scores no item trained on, in any
language. Percent bounds are rounded to the nearest example, as ``datasets`` rounds them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

SPLIT = re.compile(r"^(?P<split>train|dev|test)(?:\[(?P<start>\d+%?)?:(?P<stop>\d+%?)?\])?$")


@dataclass(frozen=True)
class Slice:
    split: str
    start: str | None = None  # "1000" (examples) or "50%"; None: the split's start
    stop: str | None = None

    @property
    def whole(self) -> bool:
        return self.start is None and self.stop is None

    def __str__(self) -> str:
        return self.split if self.whole else f"{self.split}[{self.start or ''}:{self.stop or ''}]"

    def bounds(self, n: int) -> tuple[int, int]:
        """The positions ``[lo, hi)`` this slice keeps of a split of ``n`` examples."""
        def at(bound, default):
            if bound is None:
                return default
            if bound.endswith("%"):
                return min(n, int(round(n * float(bound[:-1]) / 100)))
            return min(n, int(bound))
        return at(self.start, 0), at(self.stop, n)

    def take(self, examples: list) -> list:
        lo, hi = self.bounds(len(examples))
        return examples if self.whole else examples[lo:hi]

    def unit(self) -> str | None:
        """How its bounds are given: "%", "examples", or None (the whole split: both)."""
        kinds = {"%" if b.endswith("%") else "examples" for b in (self.start, self.stop) if b is not None}
        return kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else None)

    def overlaps(self, other: "Slice") -> bool:
        """Whether two slices of the same split share a position, for any split size; slices whose bounds
        are given in different units (percent and examples) count as overlapping (it depends on the size)."""
        if self.split != other.split:
            return False
        units = {self.unit(), other.unit()} - {None}
        if len(units) > 1 or "mixed" in units:
            return True
        n = 10 ** 6 if units == {"examples"} else 10 ** 4  # any size shows it: bounds in one unit
        (a, b), (c, d) = self.bounds(n), other.bounds(n)
        return max(a, c) < min(b, d)


def parse(text: str) -> Slice:
    """A split or a slice of one; a ValueError that shows the syntax otherwise."""
    m = SPLIT.match(str(text).replace(" ", ""))
    if not m:
        raise ValueError(f"{text!r} is not a split or a slice of one: expected train, dev or test, optionally "
                         "with [start:stop] in examples or percent, e.g. dev[:50%], dev[50%:], dev[:1000]")
    return Slice(m["split"], m["start"], m["stop"])
