"""Span QA: a question and a context -> the answer's span, or none (XQuAD, MLQA, TyDiQA-GoldP, SQuAD)."""
from __future__ import annotations

from collections import Counter

import torch
from torch import nn

from xltlib import metrics
from xltlib.engine.formats.base import TaskFormat, percent
from xltlib.engine.heads import TokenHead
from xltlib.registry.examples import SpanQAExample
from xltlib.registry.tasks import Format

QA_STRIDE = 128  # XTREME's and jiant's doc stride: consecutive windows start this many tokens apart
MAX_QUERY_TOKENS = 64
MAX_ANSWER_TOKENS = 30
N_BEST = 20
GOLD = 10.0  # the audit's oracle: its logit on a gold position; every other position scores 0


class SpanQA(TaskFormat):
    """``<s> question </s></s> context window </s>`` as XTREME and jiant make them (docs/reference.md): the
    question cut to 64 tokens, windows of the context starting ``QA_STRIDE`` = 128 tokens apart (fewer on
    short toy inputs), each -> start/end token of the answer, 0 (``<s>``) when the window does not hold it.
    A two-logit token head; the best span over all windows; SQuAD's EM and F1 (MLQA's rules for its
    languages)."""

    format = Format.SPAN_QA
    shape = "qa"
    windowed = True

    def featurize(self, spec, examples, tokenizer, max_length):
        return _windows(examples, tokenizer, max_length)

    def input_text(self, example):
        return f"{example.question} {example.context}"

    def head(self, model, spec):
        return TokenHead(model.hidden_size, 2, model.encoder.config.hidden_dropout_prob)

    def forward(self, head, hidden, batch):
        mask = batch["attention_mask"]
        logits = head(hidden, mask, batch.get("segments"))
        start, end = logits.float().masked_fill(mask.unsqueeze(-1) == 0, -1e4).unbind(-1)
        out = {"logits": (start, end)}
        if "start" in batch:
            loss_fn = nn.CrossEntropyLoss()
            out["loss"] = (loss_fn(start, batch["start"]) + loss_fn(end, batch["end"])) / 2
        return out

    def collect(self, logits, indices, feats, per_item):
        start, end = (x.float().cpu() for x in logits)
        for row, i in enumerate(indices):
            n = len(feats.items[i]["input_ids"])  # drop the batch's padding positions
            per_item[i] = (start[row, :n], end[row, :n])

    def decode(self, spec, feats, per_item):
        return answers(feats, per_item)

    def score(self, spec, examples, predictions, lang):
        rules = spec.qa_rules if spec.qa_rules != "mlqa" or lang in metrics.qa.MLQA_LANGS else "squad"
        return metrics.squad_scores({e.id: p for e, p in zip(examples, predictions)},
                                    {e.id: list(e.answers) for e in examples}, lang=lang, rules=rules)

    def oracle(self, spec, feats, lang):
        """EM and F1 of the oracle's answers, ``windowed_pct`` (questions split into several windows) and
        ``answer_lost_pct`` (answers in no window)."""
        scores = self.score(spec, feats.examples, oracle_answers(feats), lang)
        windows = Counter(item["example"] for item in feats.items)
        found = {item["example"] for item in feats.items if item["start"]}
        answerable = [i for i, e in enumerate(feats.examples) if e.answers]
        n = len(feats.examples)
        return {"exact_match": round(scores["exact_match"], 2), "f1": round(scores["f1"], 2),
                "windowed_pct": percent(sum(windows[i] > 1 for i in range(n)), n),
                "answer_lost_pct": percent(sum(i not in found for i in answerable), len(answerable))}

    def made_up(self, spec, lang, i, text):
        context = text(30)
        answer = context.split()[3]
        start = len(" ".join(context.split()[:3])) + 1
        gold = () if spec.allow_no_answer and i % 3 == 2 else (answer,)
        return [SpanQAExample(f"{i}", context, "which word ?", gold, (start,) * len(gold), lang)]


# ------------------------------------------------------------------------------------------- windows
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


def _windows(examples, tokenizer, max_length):
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


# ------------------------------------------------------------------------------------------- answers
def answers(feats, per_item) -> list[str]:
    """Best span over all windows of each question (n-best ``N_BEST`` starts and ends, at most
    ``MAX_ANSWER_TOKENS``; a start counts only in the window where it has the most context, as XTREME's
    ``run_squad.py`` decides); SQuAD v2: "" when the <s> (null) score wins."""
    best: dict[int, tuple[float, str]] = {}
    null: dict[int, float] = {}
    spans: dict[int, list[tuple[int, int]]] = {}  # example -> (doc_start, doc_len) of each window
    for item in feats.items:
        spans.setdefault(item["example"], []).append((item.get("doc_start", 0), item.get("doc_len", 0)))
    for i, item in enumerate(feats.items):
        start, end = per_item[i]
        ex = item["example"]
        context = feats.examples[ex].context
        null[ex] = min(null.get(ex, float("inf")), float(start[0] + end[0]))
        offsets = item["offsets"]
        starts = start.topk(min(N_BEST, len(start))).indices.tolist()
        ends = end.topk(min(N_BEST, len(end))).indices.tolist()
        for s in starts:
            if offsets[s] is None or not max_context(item, s, spans[ex]):
                continue
            for e in ends:
                if offsets[e] is None or e < s or e - s + 1 > MAX_ANSWER_TOKENS:
                    continue
                score = float(start[s] + end[e])
                if ex not in best or score > best[ex][0]:
                    best[ex] = (score, context[offsets[s][0]:offsets[e][1]])
    out = []
    for ex in range(len(feats.examples)):
        score, text = best.get(ex, (float("-inf"), ""))
        out.append("" if feats.spec.allow_no_answer and null.get(ex, float("-inf")) > score else text)
    return out


def max_context(item, token: int, windows: list[tuple[int, int]]) -> bool:
    """Whether context token ``token`` of this window has more context here than in any other window of its
    question: min(left, right context) + 0.01 x window length (XTREME's ``_check_is_max_context``)."""
    if len(windows) == 1 or "doc_start" not in item:
        return True
    pos = item["doc_start"] + token - item["doc_first"]

    def score(start, length):
        return min(pos - start, start + length - 1 - pos) + 0.01 * length

    best = None  # the first window with the highest score wins ties, as in XTREME
    for s, n in windows:
        if s <= pos < s + n and (best is None or score(s, n) > best[1]):
            best = (s, score(s, n))
    return best is not None and best[0] == item["doc_start"]


def oracle_answers(feats) -> list[str]:
    """The answers ``answers`` decodes from an oracle's logits: in each window, ``GOLD`` on the gold start
    and end tokens (featurize's ``start``/``end``) or, in a window without the answer, on its null position."""
    per_item = {}
    for i, item in enumerate(feats.items):
        start, end = torch.zeros(len(item["input_ids"])), torch.zeros(len(item["input_ids"]))
        if item["start"]:  # the gold span is in this window: the question's only high span score
            start[item["start"]] = end[item["end"]] = GOLD
        else:  # no answer here: the null (<s>) position wins (SQuAD v2's no-answer)
            start[0] = end[0] = GOLD
        per_item[i] = (start, end)
    return answers(feats, per_item)
