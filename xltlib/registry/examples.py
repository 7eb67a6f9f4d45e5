"""Normalized examples: one small dataclass per format, whatever the source (Hub, local files, toy world).

Each type validates itself against its task spec: ``validate(spec)`` returns None when the example is
usable, or a ``(reason, detail)`` pair naming what is wrong. Loaders count those reasons and apply the
malformed-row policy (``xltlib.data``).

>>> from xltlib.registry.tasks import get_task
>>> ClassificationExample("1", "A man sleeps.", "Nobody sleeps.", "contradiction").validate(get_task("xnli"))
>>> ClassificationExample("2", "A man sleeps.", "He rests.", "maybe").validate(get_task("xnli"))
('label_not_in_label_set', "label 'maybe' is not one of entailment, neutral, contradiction")
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from xltlib.registry.tasks import Format, TaskSpec



def _blank(text) -> bool:
    return not isinstance(text, str) or not text.strip()


@dataclass(frozen=True)
class ClassificationExample:
    """A sentence (``text_b`` None) or sentence pair with one label name."""

    id: str
    text_a: str
    text_b: str | None
    label: str
    lang: str = "en"
    format: ClassVar[Format] = Format.CLASSIFICATION

    def validate(self, spec: TaskSpec):
        if _blank(self.text_a) or (self.text_b is not None and _blank(self.text_b)):
            return "empty_text", "text_a or text_b is empty"
        if spec.labels and self.label not in spec.labels:
            return "label_not_in_label_set", f"label {self.label!r} is not one of {', '.join(spec.labels)}"
        return None


@dataclass(frozen=True)
class MultipleChoiceExample:
    """A context (and optional question) with k choices; ``label`` is the index of the right choice."""

    id: str
    context: str
    question: str
    choices: tuple[str, ...]
    label: int
    lang: str = "en"
    format: ClassVar[Format] = Format.MULTIPLE_CHOICE

    def validate(self, spec: TaskSpec):
        if (_blank(self.context) and _blank(self.question)) or any(_blank(c) for c in self.choices):
            return "empty_text", "context/question or a choice is empty"
        if spec.num_choices and len(self.choices) != spec.num_choices:
            return "wrong_choice_count", f"{len(self.choices)} choices, expected {spec.num_choices}"
        if not 0 <= self.label < len(self.choices):
            return "label_not_in_label_set", f"label {self.label} is not a choice index 0..{len(self.choices) - 1}"
        return None


@dataclass(frozen=True)
class SpanQAExample:
    """Extractive QA: gold answers with their character offsets in ``context``; none = unanswerable."""

    id: str
    context: str
    question: str
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]
    lang: str = "en"
    format: ClassVar[Format] = Format.SPAN_QA

    def validate(self, spec: TaskSpec):
        if _blank(self.context) or _blank(self.question):
            return "empty_text", "context or question is empty"
        if len(self.answers) != len(self.answer_starts):
            return "length_mismatch", f"{len(self.answers)} answers but {len(self.answer_starts)} answer_starts"
        if not self.answers and not spec.allow_no_answer:
            return "no_answer", "no gold answer (only SQuAD v2-style tasks allow unanswerable questions)"
        for text, start in zip(self.answers, self.answer_starts):
            if _blank(text):
                return "empty_text", "an answer is empty"
            if self.context[start : start + len(text)] != text:
                return "answer_not_in_context", f"answer {text!r} is not at offset {start} of the context"
        return None

    def repaired(self) -> "SpanQAExample | None":
        """Misaligned offsets moved to the answer's first occurrence, or None if an answer is absent."""
        starts = []
        for text, start in zip(self.answers, self.answer_starts):
            if self.context[start : start + len(text)] == text:
                starts.append(start)
            elif text and text in self.context:
                starts.append(self.context.index(text))
            else:
                return None
        return dataclasses.replace(self, answer_starts=tuple(starts))


@dataclass(frozen=True)
class TaggingExample:
    """Pre-tokenized words with one tag each."""

    id: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    lang: str = "en"
    format: ClassVar[Format] = Format.TAGGING

    def validate(self, spec: TaskSpec):
        if not self.tokens or any(_blank(t) for t in self.tokens):
            return "empty_text", "no tokens, or an empty token"
        if len(self.tokens) != len(self.tags):
            return "length_mismatch", f"{len(self.tokens)} tokens but {len(self.tags)} tags"
        if spec.labels:
            bad = sorted({t for t in self.tags if t not in spec.labels})
            if bad:
                return "label_not_in_label_set", f"tags {', '.join(bad)} not in the tag set of {spec.name}"
        return None


@dataclass(frozen=True)
class RetrievalExample:
    """One item of a retrieval set: a query (with the ids of its gold candidates) or a candidate.

    Bitext mining and Tatoeba: each source sentence is a query whose one positive is its translation;
    BUCC distractors are queries/candidates without positives. Mewsli-X/LAReQA: queries with several
    positives over a shared candidate pool.
    """

    id: str
    text: str
    role: str  # "query" | "candidate"
    positives: tuple[str, ...] = ()
    lang: str = "en"
    format: ClassVar[Format] = Format.RETRIEVAL

    def validate(self, spec: TaskSpec):
        if self.role not in ("query", "candidate"):
            return "bad_role", f"role {self.role!r} is not 'query' or 'candidate'"
        if _blank(self.text):
            return "empty_text", f"{self.role} text is empty"
        return None


@dataclass(frozen=True)
class TextExample:
    """Unlabeled text (continued masked-LM training)."""

    id: str
    text: str
    lang: str = "en"
    format: ClassVar[Format] = Format.MLM

    def validate(self, spec: TaskSpec):
        return ("empty_text", "the text is empty") if _blank(self.text) else None


EXAMPLE_TYPES: dict[Format, type] = {
    cls.format: cls
    for cls in (ClassificationExample, MultipleChoiceExample, SpanQAExample, TaggingExample, RetrievalExample,
                TextExample)
}


def example_from_dict(fmt: Format, row: dict[str, Any]):
    """Build the example type of ``fmt`` from a normalized record (JSONL line, parquet row).

    Raises ValueError naming missing/unknown fields. Sequences become tuples.
    """
    cls = EXAMPLE_TYPES[Format(fmt)]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    required = [n for n, f in fields.items() if f.default is dataclasses.MISSING]
    missing = [n for n in required if n not in row]
    unknown = [k for k in row if k not in fields]
    if missing or unknown:
        raise ValueError(
            f"{cls.__name__} record: missing fields {missing or 'none'}, unknown fields {unknown or 'none'}; "
            f"expected fields: {', '.join(fields)}"
        )
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in row.items()}
    values["id"] = str(values["id"])
    return cls(**values)
