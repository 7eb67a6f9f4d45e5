"""Masked LM: unlabeled text -> its masked tokens (continued pretraining, mixed into phase 1)."""
from __future__ import annotations

import random

from torch import nn

from xltlib.engine.formats.base import IGNORE, TaskFormat
from xltlib.engine.heads import MLMHead
from xltlib.hfhub import pretrained_tensors
from xltlib.spec.examples import TextExample
from xltlib.spec.tasks import Format


class MaskedLM(TaskFormat):
    """``<s> text </s>`` with 15% of its tokens to predict (80% ``<mask>``, 10% random, 10% kept), drawn once
    per example from its id (the same masks in every epoch and every run); RoBERTa's LM head, started from
    the checkpoint's own where it has one; the vocabulary scored at the masked positions only."""

    format = Format.MLM
    shape = "qa"  # the cost model: 256-token texts at batch 32, taken at the QA windows' rate

    def featurize(self, spec, examples, tokenizer, max_length):
        enc = tokenizer([e.text for e in examples], truncation=True, max_length=max_length)
        special = set(tokenizer.all_special_ids)
        return [masked(ids, special, tokenizer.mask_token_id, len(tokenizer), random.Random(f"mlm:{e.id}"))
                for ids, e in zip(enc["input_ids"], examples)]

    def input_text(self, example):
        return example.text

    def head(self, model, spec):
        head = MLMHead(model.hidden_size, model.encoder.get_input_embeddings(), model.encoder.config.layer_norm_eps)
        _pretrained_lm_head(head, getattr(model, "source", None))
        return head

    def forward(self, head, hidden, batch):
        targets = batch["labels"] != IGNORE
        logits = head(hidden[targets])
        return {"logits": logits, "loss": nn.functional.cross_entropy(logits.float(), batch["labels"][targets])}

    def made_up(self, spec, lang, i, text):
        return [TextExample(str(i), text(40), lang)]


def masked(ids: list[int], special: set, mask_id: int, vocab: int, rng: random.Random, p: float = 0.15) -> dict:
    """BERT masking of one sequence; at least one token to predict."""
    inputs, labels = list(ids), [IGNORE] * len(ids)
    positions = [i for i, t in enumerate(ids) if t not in special]
    chosen = [i for i in positions if rng.random() < p] or positions[:1]
    for i in chosen:
        labels[i] = ids[i]
        r = rng.random()
        inputs[i] = mask_id if r < 0.8 else (rng.randrange(5, vocab) if r < 0.9 else ids[i])
    return {"input_ids": inputs, "labels": labels}


def _pretrained_lm_head(head: MLMHead, source) -> None:
    """The checkpoint's own LM head where it has one (XLM-R's, the toy model's): continued MLM then starts
    where pretraining stopped, not from a random head."""
    state = pretrained_tensors(source, "lm_head.")
    keep = {k: v for k, v in state.items() if k in ("dense.weight", "dense.bias", "layer_norm.weight",
                                                      "layer_norm.bias", "bias")}
    if keep and keep.get("bias", head.bias).shape == head.bias.shape:
        head.load_state_dict(keep, strict=False)
