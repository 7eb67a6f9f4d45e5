"""Multiple choice: a context (and question) with k choices -> the right one (XCOPA, SIQA, HellaSwag, ...)."""
from __future__ import annotations

from xltlib import metrics
from xltlib.engine.formats.base import TaskFormat, segments
from xltlib.engine.heads import PooledHead
from xltlib.registry.examples import MultipleChoiceExample
from xltlib.registry.tasks import Format


class MultipleChoice(TaskFormat):
    """One ``(context + question, choice)`` sequence per choice; a pooled head scores each, the best wins;
    accuracy."""

    format = Format.MULTIPLE_CHOICE
    shape = "mc"
    picks_one = True

    def featurize(self, spec, examples, tokenizer, max_length):
        firsts = [f"{e.context} {e.question}".strip() for e in examples for _ in e.choices]
        seconds = [c for e in examples for c in e.choices]
        enc = tokenizer(firsts, seconds, truncation=True, max_length=max_length)
        items, pos = [], 0
        for e in examples:
            span = range(pos, pos + len(e.choices))
            items.append({"choices": [enc["input_ids"][j] for j in span], "segments": [segments(enc, j) for j in span],
                          "label": e.label})
            pos += len(e.choices)
        return items

    def input_text(self, example):
        return f"{example.context} {example.question} {' '.join(example.choices)}".strip()

    def head(self, model, spec):
        return PooledHead(model.hidden_size, 1, model.encoder.config.hidden_dropout_prob, model.pooling)

    def logits(self, logits, batch):
        return logits.view(-1, batch["num_choices"])

    def decode(self, spec, feats, per_item):
        return [int(per_item[i]) for i in range(len(feats.items))]

    def score(self, spec, examples, predictions, lang):
        return {"accuracy": metrics.accuracy(predictions, [e.label for e in examples])}

    def made_up(self, spec, lang, i, text):
        k = spec.num_choices or 2
        return [MultipleChoiceExample(f"{lang}-{i}", text(10), "what next ?", tuple(text(4) for _ in range(k)),
                                      i % k, lang)]
