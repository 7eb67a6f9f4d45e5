"""Row adapters: one function per Hub schema, turning a raw row into normalized examples.

Each adapter declares the columns it reads (``SCHEMAS[name].columns``); the Hub loader checks them
once per dataset, so a schema change on the Hub fails with the missing column named, not a KeyError
deep in a loop. Labels stored as ``ClassLabel`` integers are mapped to names with the dataset's own
features; string labels are kept as they are.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from xltlib.spec.examples import (
    ClassificationExample,
    MultipleChoiceExample,
    RetrievalExample,
    SpanQAExample,
    TaggingExample,
    TextExample,
)
from xltlib.spec.tasks import TaskSpec


@dataclass
class RowContext:
    spec: TaskSpec
    lang: str
    columns: Mapping[str, str]  # normalized field -> column (HubSource.columns over the schema defaults)
    label_names: Mapping[str, Sequence[str]] = field(default_factory=dict)  # column -> ClassLabel names
    prefix: str = ""  # id prefix, to keep ids unique when several sources are concatenated

    def col(self, name: str) -> str:
        return self.columns.get(name, name)

    def label(self, column: str, value: Any) -> str:
        """A label value as its name: ClassLabel ints through the features, strings as they are."""
        if isinstance(value, str):
            return value
        names = self.label_names.get(column)
        if names is not None:
            return names[value] if 0 <= value < len(names) else str(value)
        labels = self.spec.labels
        return labels[value] if 0 <= value < len(labels) else str(value)


@dataclass(frozen=True)
class Schema:
    columns: tuple[str, ...]  # normalized names of the columns read; mapped through RowContext.col
    adapt: Callable[[dict, int, RowContext], list]


def _pair(row, i, ctx):
    a, b = ctx.col("text_a"), ctx.col("text_b")
    return [ClassificationExample(
        id=ctx.prefix + str(row.get(ctx.col("id"), i)),
        text_a=row[a],
        text_b=row[b] if b in row else None,
        label=ctx.label(ctx.col("label"), row[ctx.col("label")]),
        lang=ctx.lang,
    )]


def _squad(row, i, ctx):
    answers = row["answers"]
    return [SpanQAExample(
        id=ctx.prefix + str(row["id"]),
        context=row["context"],
        question=row["question"],
        answers=tuple(answers["text"]),
        answer_starts=tuple(int(s) for s in answers["answer_start"]),
        lang=ctx.lang,
    )]


def _tagging(row, i, ctx):
    tags_col = ctx.col("tags")
    return [TaggingExample(
        id=ctx.prefix + str(row.get("id", i)),
        tokens=tuple(row["tokens"]),
        tags=tuple(ctx.label(tags_col, t) for t in row[tags_col]),
        lang=ctx.lang,
    )]


def _bitext(row, i, ctx):
    """One gold translation pair: the source sentence is the query, the English side its candidate."""
    return [
        RetrievalExample(f"{ctx.prefix}q{i}", row["source_sentence"], "query", (f"{ctx.prefix}c{i}",), ctx.lang),
        RetrievalExample(f"{ctx.prefix}c{i}", row["target_sentence"], "candidate", (), row.get("target_lang") or "en"),
    ]


def _commonsense_qa(row, i, ctx):
    keys = list(row["choices"]["label"])
    key = row["answerKey"]
    return [MultipleChoiceExample(
        id=ctx.prefix + str(row["id"]), context="", question=row["question"],
        choices=tuple(row["choices"]["text"]), label=keys.index(key) if key in keys else -1, lang=ctx.lang,
    )]


def _cosmos_qa(row, i, ctx):
    return [MultipleChoiceExample(
        id=ctx.prefix + str(row["id"]), context=row["context"], question=row["question"],
        choices=tuple(row[f"answer{k}"] for k in range(4)), label=int(row["label"]), lang=ctx.lang,
    )]


def _hellaswag(row, i, ctx):
    label = row["label"]
    return [MultipleChoiceExample(
        id=ctx.prefix + str(row.get("ind", i)), context=row["ctx"], question="",
        choices=tuple(row["endings"]), label=int(label) if str(label).strip().isdigit() else -1, lang=ctx.lang,
    )]


# COPA's question field ("cause" / "effect") as the question a multiple-choice example asks; the local
# reader and the mirror's writer (its inverse) use it too
COPA_QUESTIONS = {"cause": "What was the cause?", "effect": "What happened as a result?"}


def _copa(row, i, ctx):
    question = row["question"]
    return [MultipleChoiceExample(
        id=ctx.prefix + str(row.get("idx", i)), context=row["premise"],
        question=COPA_QUESTIONS.get(question, question),
        choices=(row["choice1"], row["choice2"]), label=int(row["label"]), lang=ctx.lang,
    )]


def _siqa(row, i, ctx):
    label = str(row["label"]).strip()
    return [MultipleChoiceExample(
        id=ctx.prefix + str(i), context=row["context"], question=row["question"],
        choices=(row["answerA"], row["answerB"], row["answerC"]),
        label=int(label) - 1 if label.isdigit() else -1, lang=ctx.lang,
    )]


def _xnli(row, i, ctx):
    return [ClassificationExample(
        id=f"{ctx.prefix}{ctx.lang}-{i}", text_a=row["sentence1"], text_b=row["sentence2"],
        label=ctx.label("gold_label", row["gold_label"]), lang=ctx.lang,
    )]


_NLI_COLUMNS = {"text_a": "premise", "text_b": "hypothesis", "label": "label"}


def _nli(row, i, ctx):
    ctx = RowContext(ctx.spec, ctx.lang, {**_NLI_COLUMNS, **ctx.columns}, ctx.label_names, ctx.prefix)
    row_id = row.get("uid", row.get("idx", i))
    return _pair({**row, "id": row_id}, i, ctx)


def _pawsx(row, i, ctx):
    return [ClassificationExample(
        id=ctx.prefix + str(row.get("id", i)), text_a=row["sentence1"], text_b=row["sentence2"],
        label=str(row["label"]), lang=ctx.lang,
    )]


def _text(row, i, ctx):
    return [TextExample(ctx.prefix + str(row.get("id", i)), row["text"], ctx.lang)]


SCHEMAS: dict[str, Schema] = {
    "text": Schema(("text",), _text),
    "pair": Schema(("text_a", "label"), _pair),
    "nli": Schema(("premise", "hypothesis", "label"), _nli),
    "xnli": Schema(("sentence1", "sentence2", "gold_label", "language"), _xnli),
    "pawsx": Schema(("sentence1", "sentence2", "label"), _pawsx),
    "squad": Schema(("id", "context", "question", "answers"), _squad),
    "tagging": Schema(("tokens", "tags"), _tagging),
    "bitext": Schema(("source_sentence", "target_sentence"), _bitext),
    "commonsense_qa": Schema(("id", "question", "choices", "answerKey"), _commonsense_qa),
    "cosmos_qa": Schema(("id", "context", "question", "answer0", "answer1", "answer2", "answer3", "label"),
                        _cosmos_qa),
    "hellaswag": Schema(("ctx", "endings", "label"), _hellaswag),
    "copa": Schema(("premise", "choice1", "choice2", "question", "label"), _copa),
    "siqa": Schema(("context", "question", "answerA", "answerB", "answerC", "label"), _siqa),
}
