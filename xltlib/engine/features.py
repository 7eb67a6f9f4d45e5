"""Tokenization per format (once per dataset) and batching with dynamic padding.

``featurize(spec, examples, tokenizer)`` turns normalized examples into token-id features, as their
format's class makes them (``xltlib.engine.formats``: one class per format; its docstring says what the
inputs are).

``batches(features, batch_size, ...)`` groups similar lengths (never pads everything to the max length)
and ``collate`` pads each batch to its own longest sequence, or with ``pad_multiple=m`` to the next
multiple of ``m`` (static shapes for compiled steps: a few widths per task; padding is masked, so the
math is that of the unrounded batch).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from xltlib.engine.formats import IGNORE, format_of
from xltlib.registry.tasks import TaskSpec


@dataclass
class Features:
    spec: TaskSpec
    items: list[dict]  # one per model input (QA: per window)
    examples: list  # the normalized examples, in order


def featurize(spec: TaskSpec, examples: list, tokenizer, max_length: int | None = None) -> Features:
    """The examples' model inputs, made by their format's class (``xltlib.engine.formats``)."""
    return Features(spec, format_of(spec).featurize(spec, examples, tokenizer, max_length or spec.max_length), examples)


def _length(item) -> int:
    return max(len(c) for c in item["choices"]) if "choices" in item else len(item["input_ids"])


def batches(features: Features, batch_size: int, shuffle: bool, seed: int = 0, pool: int = 50):
    """Index lists of length-grouped batches: sort within pools of ``pool`` batches, shuffle batch order
    (training), or sort everything by length (evaluation: least padding)."""
    order = list(range(len(features.items)))
    if shuffle:
        rng = random.Random(seed)
        rng.shuffle(order)
        chunk = batch_size * pool
        order = [i for s in range(0, len(order), chunk)
                 for i in sorted(order[s:s + chunk], key=lambda i: _length(features.items[i]))]
        groups = [order[s:s + batch_size] for s in range(0, len(order), batch_size)]
        rng.shuffle(groups)
        return groups
    order.sort(key=lambda i: _length(features.items[i]))
    return [order[s:s + batch_size] for s in range(0, len(order), batch_size)]


def padded_width(longest: int, pad_multiple: int | None, cap: int) -> int:
    """The width a batch whose longest sequence is ``longest`` is padded to: itself, or the next multiple of
    ``pad_multiple`` but not past ``cap`` (the task's max length) when the longest fits under it.

    >>> [padded_width(n, 32, 128) for n in (7, 32, 33, 120)], padded_width(45, None, 128), padded_width(250, 32, 256)
    ([32, 32, 64, 128], 45, 256)
    """
    if not pad_multiple:
        return longest
    return max(longest, min(-(-longest // pad_multiple) * pad_multiple, cap))


def _pad(seqs, value, width):
    return torch.tensor([list(s) + [value] * (width - len(s)) for s in seqs], dtype=torch.long)


def collate(features: Features, indices: list[int], pad_id: int, pad_multiple: int | None = None) -> dict[str, torch.Tensor]:
    items = [features.items[i] for i in indices]
    seqs = [c for it in items for c in it["choices"]] if "choices" in items[0] else [it["input_ids"] for it in items]
    width = padded_width(max(len(s) for s in seqs), pad_multiple, features.spec.max_length)
    ids = _pad(seqs, pad_id, width)
    batch = {"input_ids": ids, "attention_mask": (ids != pad_id).long()}
    if "choices" in items[0]:
        batch["num_choices"] = len(items[0]["choices"])
        batch["segments"] = _pad([s for it in items for s in it["segments"]], 2, width)
    elif "segments" in items[0]:
        batch["segments"] = _pad([it["segments"] for it in items], 2, width)
    if "label" in items[0]:
        batch["labels"] = torch.tensor([it["label"] for it in items])
    if "labels" in items[0]:
        batch["labels"] = _pad([it["labels"] for it in items], IGNORE, width)
    if "start" in items[0]:
        batch["start"] = torch.tensor([it["start"] for it in items])
        batch["end"] = torch.tensor([it["end"] for it in items])
    return batch
