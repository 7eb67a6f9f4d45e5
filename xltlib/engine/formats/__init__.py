"""One class per task format: everything the engine does differently for a format, in one place.

Each class (``TaskFormat``) turns its examples into model inputs, puts its head on the encoder, computes
the head's loss, decodes and scores predictions, says what text an example stands for, scores the data
audit's oracle and makes up the rehearsal's rows; the generic code (``features``, ``model``, ``evaluation``,
``similarity``, ``audit``, ``rehearsal``, ``plan``) asks ``format_of(spec)``.

    >>> from xltlib.registry.tasks import get_task
    >>> format_of(get_task("xnli")), format_of(get_task("tydiqa")).windowed, format_of(get_task("tatoeba")).trains_head
    (Classification(), True, False)
    >>> sorted(f.value for f in FORMATS) == sorted(f.value for f in Format)
    True

A new format is a ``TaskFormat`` subclass in a module of its own, listed in ``FORMATS``, with a member
of ``xltlib.registry.tasks.Format`` and its example type in ``xltlib.registry.examples``.
"""
from __future__ import annotations

from xltlib.engine.formats.base import IGNORE, TaskFormat
from xltlib.engine.formats.classification import Classification
from xltlib.engine.formats.mlm import MaskedLM
from xltlib.engine.formats.multiple_choice import MultipleChoice
from xltlib.engine.formats.retrieval import Retrieval
from xltlib.engine.formats.span_qa import SpanQA
from xltlib.engine.formats.tagging import Tagging
from xltlib.registry.tasks import Format, TaskSpec

FORMATS: dict[Format, TaskFormat] = {f.format: f() for f in (Classification, MultipleChoice, SpanQA, Tagging,
                                                                Retrieval, MaskedLM)}

__all__ = ["FORMATS", "IGNORE", "TaskFormat", "format_of"]


def format_of(what: TaskSpec | Format | str) -> TaskFormat:
    """The format class of a task spec (or of a ``Format`` or its value)."""
    return FORMATS[Format(what.format if isinstance(what, TaskSpec) else what)]
