"""The Hub's schemas, each in one record (``SCHEMAS``) that reads and writes it: the columns it reads, the
reader that turns a raw row into normalized examples, and the writer that turns normalized examples back
into rows with the column types the Hub's files have (for Hub mirrors, ``xltlib.data.mirror``).

The Hub loader checks a schema's columns once per dataset, so a schema change on the Hub fails with the
missing column named, not a KeyError deep in a loop. Labels stored as ``ClassLabel`` integers are mapped to
names with the dataset's own features; string labels are kept as they are. What a writer wrote reads back
into valid examples that write the same rows again (``tests/test_data.py``; fields a schema has no column
for, such as HellaSwag's question, are not kept).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Mapping, Sequence

from xltlib.registry.examples import (
    ClassificationExample,
    MultipleChoiceExample,
    RetrievalExample,
    SpanQAExample,
    TaggingExample,
    TextExample,
)
from xltlib.registry.tasks import HubSource, TaskSpec


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
    adapt: Callable[[dict, int, RowContext], list]  # a raw row (and its index) -> normalized examples
    write: Callable[[list, TaskSpec, HubSource, str], list[dict]]  # examples of one language -> raw rows
    types: Callable[[TaskSpec, HubSource, SimpleNamespace], dict]  # the rows' columns -> ``datasets`` types

    def features(self, spec: TaskSpec, src: HubSource):
        """The Hub's column types for ``src`` (ClassLabel where the Hub's files have one)."""
        from datasets import ClassLabel, Features, List, Value

        t = SimpleNamespace(s=Value("string"), i=Value("int32"), List=List, ClassLabel=ClassLabel,
                            labels=ClassLabel(names=list(spec.labels)) if spec.labels else Value("string"))
        return Features(self.types(spec, src, t))


def _each(row: Callable) -> Callable:
    """A writer of one row per example: ``row(example, n, spec, src)``."""
    def write(examples, spec, src, lang):
        return [row(e, n, spec, src) for n, e in enumerate(examples)]
    return write


def _index(spec: TaskSpec, label: str) -> int:
    """A label name's ClassLabel integer."""
    return {name: k for k, name in enumerate(spec.labels)}[label]


def _col(src: HubSource, name: str) -> str:
    return src.columns.get(name, name)


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


# ------------------------------------------------------------------------------------------- writers
def _bitext_rows(examples, spec, src, lang):
    """Gold pairs (the Hub's bucc18 / tatoeba form): each query with its first positive candidate."""
    candidates = {e.id: e.text for e in examples if e.role == "candidate"}
    return [{"source_sentence": q.text, "target_sentence": candidates[q.positives[0]], "source_lang": lang,
             "target_lang": "en"}
            for q in examples if q.role == "query" and q.positives and q.positives[0] in candidates]


def _tagging_row(e, n, spec, src):
    index = {name: k for k, name in enumerate(spec.labels)}
    return {"tokens": list(e.tokens), _col(src, "tags"): [index[t] for t in e.tags], "langs": [e.lang] * len(e.tokens)}


def _commonsense_qa_row(e, n, spec, src):
    keys = "ABCDE"[: len(e.choices)]
    return {"id": e.id, "question": e.question, "question_concept": "", "answerKey": keys[e.label],
            "choices": {"label": list(keys), "text": list(e.choices)}}


_QUESTION_FIELDS = {question: name for name, question in COPA_QUESTIONS.items()}  # the reader's, inverted


def _pair_types(spec, src, t):
    return {_col(src, "text_a"): t.s, **({_col(src, "text_b"): t.s} if "text_b" in src.columns else {}),
            "label": t.labels, "idx": t.i}


SCHEMAS: dict[str, Schema] = {
    "text": Schema(("text",), _text,
                   _each(lambda e, n, spec, src: {"id": e.id, "url": "", "title": "", "text": e.text}),
                   lambda spec, src, t: {"id": t.s, "url": t.s, "title": t.s, "text": t.s}),  # wikimedia/wikipedia
    "pair": Schema(("text_a", "label"), _pair,
                   _each(lambda e, n, spec, src: {_col(src, "text_a"): e.text_a, **(
                       {_col(src, "text_b"): e.text_b} if "text_b" in src.columns else {}),
                       "label": _index(spec, e.label), "idx": n}),
                   _pair_types),
    "nli": Schema(("premise", "hypothesis", "label"), _nli,
                  _each(lambda e, n, spec, src: {"premise": e.text_a, "hypothesis": e.text_b,
                                                 "label": _index(spec, e.label), "uid": str(n)}),
                  lambda spec, src, t: {"premise": t.s, "hypothesis": t.s, "label": t.labels, "uid": t.s}),
    "xnli": Schema(("sentence1", "sentence2", "gold_label", "language"), _xnli,
                   _each(lambda e, n, spec, src: {"language": e.lang, "sentence1": e.text_a, "sentence2": e.text_b,
                                                  "gold_label": e.label}),
                   lambda spec, src, t: {"language": t.s, "sentence1": t.s, "sentence2": t.s, "gold_label": t.s}),
    "pawsx": Schema(("sentence1", "sentence2", "label"), _pawsx,
                    _each(lambda e, n, spec, src: {"sentence1": e.text_a, "sentence2": e.text_b, "label": e.label}),
                    lambda spec, src, t: {"sentence1": t.s, "sentence2": t.s, "label": t.s}),
    "squad": Schema(("id", "context", "question", "answers"), _squad,
                    _each(lambda e, n, spec, src: {"id": e.id, "title": "t", "context": e.context,
                                                   "question": e.question,
                                                   "answers": {"text": list(e.answers),
                                                               "answer_start": list(e.answer_starts)}}),
                    lambda spec, src, t: {"id": t.s, "title": t.s, "context": t.s, "question": t.s,
                                          "answers": {"text": t.List(t.s), "answer_start": t.List(t.i)}}),
    "tagging": Schema(("tokens", "tags"), _tagging,
                      _each(_tagging_row),
                      lambda spec, src, t: {"tokens": t.List(t.s), _col(src, "tags"): t.List(t.labels),
                                            "langs": t.List(t.s)}),
    "bitext": Schema(("source_sentence", "target_sentence"), _bitext, _bitext_rows,
                     lambda spec, src, t: {"source_sentence": t.s, "target_sentence": t.s, "source_lang": t.s,
                                           "target_lang": t.s}),
    "commonsense_qa": Schema(("id", "question", "choices", "answerKey"), _commonsense_qa,
                             _each(_commonsense_qa_row),
                             lambda spec, src, t: {"id": t.s, "question": t.s, "question_concept": t.s,
                                                   "choices": {"label": t.List(t.s), "text": t.List(t.s)},
                                                   "answerKey": t.s}),
    "cosmos_qa": Schema(("id", "context", "question", "answer0", "answer1", "answer2", "answer3", "label"), _cosmos_qa,
                        _each(lambda e, n, spec, src: {"id": e.id, "context": e.context, "question": e.question,
                                                       "label": e.label,
                                                       **{f"answer{k}": c for k, c in enumerate(e.choices)}}),
                        lambda spec, src, t: {"id": t.s, "context": t.s, "question": t.s,
                                              **{f"answer{k}": t.s for k in range(4)}, "label": t.i}),
    "hellaswag": Schema(("ctx", "endings", "label"), _hellaswag,
                        _each(lambda e, n, spec, src: {"ind": n, "ctx": e.context, "endings": list(e.choices),
                                                       "label": str(e.label)}),
                        lambda spec, src, t: {"ind": t.i, "ctx": t.s, "endings": t.List(t.s), "label": t.s}),
    "copa": Schema(("premise", "choice1", "choice2", "question", "label"), _copa,
                   _each(lambda e, n, spec, src: {"premise": e.context, "choice1": e.choices[0],
                                                  "choice2": e.choices[1],
                                                  "question": _QUESTION_FIELDS.get(e.question, e.question),
                                                  "label": e.label, "idx": n}),
                   lambda spec, src, t: {"premise": t.s, "choice1": t.s, "choice2": t.s, "question": t.s, "idx": t.i,
                                         "label": t.ClassLabel(names=["choice1", "choice2"]) if "super_glue" in src.path
                                         else t.i}),
    "siqa": Schema(("context", "question", "answerA", "answerB", "answerC", "label"), _siqa,
                   _each(lambda e, n, spec, src: {"context": e.context, "question": e.question, "answerA": e.choices[0],
                                                  "answerB": e.choices[1], "answerC": e.choices[2],
                                                  "label": str(e.label + 1)}),
                   lambda spec, src, t: {"context": t.s, "question": t.s, "answerA": t.s, "answerB": t.s,
                                         "answerC": t.s, "label": t.s}),
}
