"""Classification: a sentence or sentence pair -> one label (XNLI, PAWS-X, MNLI, QQP, SST-2, ...)."""
from __future__ import annotations

from xltlib import metrics
from xltlib.engine.formats.base import TaskFormat, label_index, segments
from xltlib.engine.heads import PooledHead
from xltlib.registry.examples import ClassificationExample
from xltlib.registry.tasks import Format


class Classification(TaskFormat):
    """``<s> a </s></s> b </s>`` -> the label's index; a pooled head; accuracy."""

    format = Format.CLASSIFICATION
    shape = "pair"
    picks_one = True

    def featurize(self, spec, examples, tokenizer, max_length):
        index = label_index(spec)
        enc = tokenizer([e.text_a for e in examples],
                        [e.text_b for e in examples] if all(e.text_b is not None for e in examples) else None,
                        truncation=True, max_length=max_length)
        return [{"input_ids": ids, "segments": segments(enc, i), "label": index[e.label]}
                for i, (ids, e) in enumerate(zip(enc["input_ids"], examples))]

    def input_text(self, example):
        return f"{example.text_a} {example.text_b or ''}".strip()

    def head(self, model, spec):
        return PooledHead(model.hidden_size, len(spec.labels), model.encoder.config.hidden_dropout_prob,
                          model.pooling)

    def decode(self, spec, feats, per_item):
        return [spec.labels[int(per_item[i])] for i in range(len(feats.items))]

    def score(self, spec, examples, predictions, lang):
        return {"accuracy": metrics.accuracy(predictions, [e.label for e in examples])}

    def made_up(self, spec, lang, i, text):
        return [ClassificationExample(f"{lang}-{i}", text(8), text(6), spec.labels[i % len(spec.labels)], lang)]
