"""Retrieval: queries -> ranked candidates, from the encoder's sentence embeddings (BUCC, Tatoeba, ...)."""
from __future__ import annotations

from xltlib.engine.formats.base import TaskFormat
from xltlib.registry.examples import RetrievalExample
from xltlib.registry.tasks import Format


class Retrieval(TaskFormat):
    """``<s> text </s>`` (the spec's ``retrieval.prefix`` before the text, e.g. E5's ``query: ``); no head,
    nothing trained: ``xltlib.engine.evaluation.evaluate_retrieval`` scores the embeddings."""

    format = Format.RETRIEVAL
    shape = "retrieval"
    trains_head = False
    capped_by_eval_size = False  # mining and retrieval need every candidate

    def featurize(self, spec, examples, tokenizer, max_length):
        prefix = spec.retrieval.prefix if spec.retrieval else ""
        enc = tokenizer([prefix + e.text for e in examples], truncation=True, max_length=max_length)
        return [{"input_ids": ids} for ids in enc["input_ids"]]

    def input_text(self, example):
        return example.text

    def head(self, model, spec):
        raise ValueError(f"{spec.name}: retrieval tasks use the encoder's embeddings, not a head")

    def score(self, spec, examples, predictions, lang):
        raise ValueError(f"{spec.name}: use evaluate_retrieval for retrieval tasks")

    def made_up(self, spec, lang, i, text):
        """A gold pair: a query in ``lang`` and its English candidate."""
        return [RetrievalExample(f"q{i}", text(7), "query", (f"c{i}",), lang),
                RetrievalExample(f"c{i}", "en " + text(7), "candidate", (), "en")]
