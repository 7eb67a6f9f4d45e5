"""Tokenization per format (once per dataset) and batching with dynamic padding.

``featurize(spec, examples, tokenizer)`` turns normalized examples into token-id features:

- classification: ``<s> a </s></s> b </s>`` -> label index
- multiple choice: one ``(context + question, choice)`` sequence per choice -> right choice
- span QA: ``<s> question </s></s> context window </s>`` windows with a stride -> start/end token (0 = none)
- tagging: words -> sub-tokens; the first sub-token of each word carries its tag, the rest -100
- retrieval: ``<s> text </s>``

``batches(features, batch_size, ...)`` groups similar lengths (never pads everything to the max length)
and ``collate`` pads each batch to its own longest sequence, or with ``pad_multiple=m`` to the next
multiple of ``m`` (static shapes for compiled steps: a few widths per task; padding is masked, so the
math is that of the unrounded batch).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from xltlib.tasks import Format, TaskSpec

IGNORE = -100
QA_STRIDE = 128


@dataclass
class Features:
    spec: TaskSpec
    items: list[dict]  # one per model input (QA: per window)
    examples: list  # the normalized examples, in order


def _label_index(spec: TaskSpec):
    return {label: i for i, label in enumerate(spec.labels)}


def featurize(spec: TaskSpec, examples: list, tokenizer, max_length: int | None = None) -> Features:
    max_length = max_length or spec.max_length
    fmt = spec.format
    items: list[dict] = []
    if fmt is Format.CLASSIFICATION:
        index = _label_index(spec)
        enc = tokenizer([e.text_a for e in examples],
                        [e.text_b for e in examples] if all(e.text_b is not None for e in examples) else None,
                        truncation=True, max_length=max_length)
        items = [{"input_ids": ids, "segments": _segments(enc, i), "label": index[e.label]}
                 for i, (ids, e) in enumerate(zip(enc["input_ids"], examples))]
    elif fmt is Format.MULTIPLE_CHOICE:
        firsts = [f"{e.context} {e.question}".strip() for e in examples for _ in e.choices]
        seconds = [c for e in examples for c in e.choices]
        enc = tokenizer(firsts, seconds, truncation=True, max_length=max_length)
        pos = 0
        for e in examples:
            span = range(pos, pos + len(e.choices))
            items.append({"choices": [enc["input_ids"][j] for j in span], "segments": [_segments(enc, j) for j in span],
                          "label": e.label})
            pos += len(e.choices)
    elif fmt is Format.TAGGING:
        index = _label_index(spec)
        enc = tokenizer([list(e.tokens) for e in examples], is_split_into_words=True, truncation=True,
                        max_length=max_length)
        for i, e in enumerate(examples):
            word_ids = enc.word_ids(i)
            labels, previous = [], None
            for w in word_ids:
                labels.append(IGNORE if w is None or w == previous else index[e.tags[w]])
                previous = w
            items.append({"input_ids": enc["input_ids"][i], "labels": labels, "word_ids": word_ids})
    elif fmt is Format.SPAN_QA:
        items = _qa_windows(examples, tokenizer, max_length)
    elif fmt is Format.RETRIEVAL:
        enc = tokenizer([e.text for e in examples], truncation=True, max_length=max_length)
        items = [{"input_ids": ids} for ids in enc["input_ids"]]
    return Features(spec, items, examples)


def _segments(enc, i: int) -> list[int]:
    """0 for tokens of the first text, 1 for the second, 2 for special tokens (for pair pooling)."""
    return [2 if s is None else s for s in enc.sequence_ids(i)]


def _qa_windows(examples, tokenizer, max_length):
    enc = tokenizer([e.question for e in examples], [e.context for e in examples], truncation="only_second",
                    max_length=max_length, stride=min(QA_STRIDE, max_length // 4), return_overflowing_tokens=True,
                    return_offsets_mapping=True)
    items = []
    for w, ids in enumerate(enc["input_ids"]):
        i = enc["overflow_to_sample_mapping"][w]
        e = examples[i]
        seq = enc.sequence_ids(w)
        offsets = [tuple(o) if s == 1 else None for o, s in zip(enc["offset_mapping"][w], seq)]
        start = end = 0  # <s>: no answer in this window
        if e.answers:
            a0 = e.answer_starts[0]
            a1 = a0 + len(e.answers[0])
            inside = [t for t, o in enumerate(offsets) if o is not None and o[0] < a1 and o[1] > a0]
            ctx = [t for t, o in enumerate(offsets) if o is not None]
            if inside and offsets[ctx[0]][0] <= a0 and offsets[ctx[-1]][1] >= a1:
                start, end = inside[0], inside[-1]
        items.append({"input_ids": ids, "start": start, "end": end, "example": i, "offsets": offsets})
    return items


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
