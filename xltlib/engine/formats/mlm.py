"""Masked LM: unlabeled text -> its masked tokens (continued pretraining, mixed into phase 1)."""
from __future__ import annotations

import random

import torch
from torch import nn

from xltlib.engine.formats.base import IGNORE, TaskFormat
from xltlib.engine.heads import MLMHead
from xltlib.hfhub import pretrained_tensors
from xltlib.registry.examples import TextExample
from xltlib.registry.tasks import Format


class MaskedLM(TaskFormat):
    """``<s> text </s>`` with 15% of its tokens to predict (80% ``<mask>``, 10% random, 10% kept: ``masked``), drawn
    once per example from its id (the same masks in every epoch and every run); RoBERTa's LM head, started from
    the checkpoint's own where it has one; the vocabulary scored at the masked positions only."""

    format = Format.MLM
    fresh_head = False  # the pretrained model's LM head
    raw_text = True
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


# BERT's masking rule (Devlin et al. 2019): MASK_RATE of the non-special tokens are targets; of those 80% become
# <mask>, 10% a random token (ids from 5 up: never one of XLM-R's specials), 10% stay. Two samplers draw it:
# ``masked``, static masks per example from its own seeded generator (phase 1's MLM: the same masks in every
# epoch and run, whatever the batch order), and ``masked_batch``, dynamic masks per batch from one torch
# generator (RoBERTa's, for the toy model's pretraining: the shipped checkpoints' bytes follow its draws).
MASK_RATE = 0.15


def masked(ids: list[int], special: set, mask_id: int, vocab: int, rng: random.Random, p: float = MASK_RATE) -> dict:
    """The masking rule on one sequence, drawn from ``rng``; at least one token to predict."""
    inputs, labels = list(ids), [IGNORE] * len(ids)
    positions = [i for i, t in enumerate(ids) if t not in special]
    chosen = [i for i in positions if rng.random() < p] or positions[:1]
    for i in chosen:
        labels[i] = ids[i]
        r = rng.random()
        inputs[i] = mask_id if r < 0.8 else (rng.randrange(5, vocab) if r < 0.9 else ids[i])
    return {"input_ids": inputs, "labels": labels}


def masked_batch(input_ids: torch.Tensor, special: torch.Tensor, mask_id: int, vocab: int, gen: torch.Generator,
                 p: float = MASK_RATE) -> tuple[torch.Tensor, torch.Tensor]:
    """The masking rule on a batch (``special``: the positions never masked: <s>, </s>, padding), drawn from
    ``gen``; returns ``(inputs, labels)``."""
    labels = input_ids.clone()
    probs = torch.full(input_ids.shape, p)
    probs[special] = 0.0
    targets = torch.bernoulli(probs, generator=gen).bool()
    labels[~targets] = IGNORE
    inputs = input_ids.clone()
    replace = torch.bernoulli(torch.full(input_ids.shape, 0.8), generator=gen).bool() & targets
    inputs[replace] = mask_id
    rand = torch.bernoulli(torch.full(input_ids.shape, 0.5), generator=gen).bool() & targets & ~replace
    inputs[rand] = torch.randint(5, vocab, input_ids.shape, generator=gen)[rand]
    return inputs, labels


def _pretrained_lm_head(head: MLMHead, source) -> None:
    """The checkpoint's own LM head where it has one (XLM-R's, the toy model's): continued MLM then starts
    where pretraining stopped, not from a random head."""
    state = pretrained_tensors(source, "lm_head.")
    keep = {k: v for k, v in state.items() if k in ("dense.weight", "dense.bias", "layer_norm.weight",
                                                      "layer_norm.bias", "bias")}
    if keep and keep.get("bias", head.bias).shape == head.bias.shape:
        head.load_state_dict(keep, strict=False)
