"""Tokenization per format (once per dataset) and batching with dynamic padding.

``featurize(spec, examples, tokenizer)`` turns normalized examples into token-id features:

- classification: ``<s> a </s></s> b </s>`` -> label index
- multiple choice: one ``(context + question, choice)`` sequence per choice -> right choice
- span QA: ``<s> question </s></s> context window </s>`` as XTREME and jiant make them (docs/reference.md):
  the question cut to 64 tokens, windows of the context starting ``QA_STRIDE`` = 128 tokens apart (fewer on
  short toy inputs), each -> start/end token of the answer, 0 (``<s>``) when the window does not hold it
- tagging: words -> sub-tokens; the first sub-token of each word carries its tag, the rest -100; a word the
  tokenizer normalizes away (U+200E, U+FFFD) is read as ``<unk>``, as XTREME does, so it is scored like others
- retrieval: ``<s> text </s>`` (the spec's ``retrieval.prefix`` before the text, e.g. E5's ``query: ``)
- masked LM: ``<s> text </s>`` with 15% of its tokens to predict (80% ``<mask>``, 10% random, 10% kept),
  drawn once per example from its id (the same masks in every epoch and every run)

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
QA_STRIDE = 128  # XTREME's and jiant's doc stride: consecutive windows start this many tokens apart
MAX_QUERY_TOKENS = 64


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
        empty = _empty_words(tokenizer, {w for e in examples for w in e.tokens})
        words = [[tokenizer.unk_token if w in empty else w for w in e.tokens] for e in examples]
        enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
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
        prefix = spec.retrieval.prefix if spec.retrieval else ""
        enc = tokenizer([prefix + e.text for e in examples], truncation=True, max_length=max_length)
        items = [{"input_ids": ids} for ids in enc["input_ids"]]
    elif fmt is Format.MLM:
        enc = tokenizer([e.text for e in examples], truncation=True, max_length=max_length)
        special = set(tokenizer.all_special_ids)
        items = [_masked(ids, special, tokenizer.mask_token_id, len(tokenizer), random.Random(f"mlm:{e.id}"))
                 for ids, e in zip(enc["input_ids"], examples)]
    return Features(spec, items, examples)


def _masked(ids: list[int], special: set, mask_id: int, vocab: int, rng: random.Random, p: float = 0.15) -> dict:
    """BERT masking of one sequence; at least one token to predict."""
    inputs, labels = list(ids), [IGNORE] * len(ids)
    positions = [i for i, t in enumerate(ids) if t not in special]
    chosen = [i for i in positions if rng.random() < p] or positions[:1]
    for i in chosen:
        labels[i] = ids[i]
        r = rng.random()
        inputs[i] = mask_id if r < 0.8 else (rng.randrange(5, vocab) if r < 0.9 else ids[i])
    return {"input_ids": inputs, "labels": labels}


def _segments(enc, i: int) -> list[int]:
    """0 for tokens of the first text, 1 for the second, 2 for special tokens (for pair pooling)."""
    return [2 if s is None else s for s in enc.sequence_ids(i)]


def _empty_words(tokenizer, words: set) -> set:
    """The words the tokenizer turns into no sub-token at all (they are read as ``<unk>``)."""
    words = sorted(words)
    ids = tokenizer(words, add_special_tokens=False)["input_ids"] if words else []
    return {w for w, i in zip(words, ids) if not i}


def _cut_questions(examples, tokenizer, limit: int) -> list[tuple[str, int]]:
    """Each question cut to its first ``limit`` tokens, and its length in tokens."""
    enc = tokenizer([e.question for e in examples], add_special_tokens=False, return_offsets_mapping=True)
    out = []
    for e, ids, offsets in zip(examples, enc["input_ids"], enc["offset_mapping"]):
        if len(ids) > limit:
            out.append((e.question[: offsets[limit - 1][1]], limit))
        else:
            out.append((e.question, len(ids)))
    return out


def _qa_windows(examples, tokenizer, max_length):
    """Windows grouped by question length, since the overlap that makes windows start ``step`` tokens apart
    depends on how much of ``max_length`` the question takes."""
    specials = tokenizer.num_special_tokens_to_add(pair=True)
    # 64 tokens (XTREME); never more than half a window (short toy inputs)
    questions = _cut_questions(examples, tokenizer, max(1, min(MAX_QUERY_TOKENS, (max_length - specials) // 2)))
    by_length: dict[int, list[int]] = {}
    for i, (_, n) in enumerate(questions):
        by_length.setdefault(n, []).append(i)
    per_example: dict[int, list[dict]] = {}
    for n, idx in by_length.items():
        room = max_length - n - specials  # context tokens per window
        step = max(1, min(QA_STRIDE, room // 2))
        enc = tokenizer([questions[i][0] for i in idx], [examples[i].context for i in idx], truncation="only_second",
                        max_length=max_length, stride=room - step, return_overflowing_tokens=True,
                        return_offsets_mapping=True)
        for w, ids in enumerate(enc["input_ids"]):
            i = idx[enc["overflow_to_sample_mapping"][w]]
            windows = per_example.setdefault(i, [])
            seq = enc.sequence_ids(w)
            offsets = [tuple(o) if s == 1 else None for o, s in zip(enc["offset_mapping"][w], seq)]
            ctx = [t for t, o in enumerate(offsets) if o is not None]
            windows.append({"input_ids": ids, "example": i, "offsets": offsets, "doc_start": len(windows) * step,
                            "doc_first": ctx[0] if ctx else 0, "doc_len": len(ctx),
                            **_answer_tokens(examples[i], offsets, ctx)})
    return [item for i in sorted(per_example) for item in per_example[i]]


def _answer_tokens(e, offsets, ctx) -> dict:
    """The first gold answer's start/end token in a window, or 0/0 (``<s>``) when it is not wholly inside."""
    start = end = 0
    if e.answers and ctx:
        a0 = e.answer_starts[0]
        a1 = a0 + len(e.answers[0])
        inside = [t for t in ctx if offsets[t][0] < a1 and offsets[t][1] > a0]
        if inside and offsets[ctx[0]][0] <= a0 and offsets[ctx[-1]][1] >= a1:
            start, end = inside[0], inside[-1]
    return {"start": start, "end": end}


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
