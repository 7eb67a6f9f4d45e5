"""Predictions and scores per format: batched by length, no gradients, scored through ``xltlib.metrics``.

    scores = evaluate(model, "xnli", spec, examples, tokenizer, lang="sw")   # {"accuracy": ...}
    scores = evaluate_retrieval(model, spec, examples, tokenizer, lang="de")
"""
from __future__ import annotations

from contextlib import nullcontext

import torch

from xltlib import metrics
from xltlib.features import Features, batches, collate, featurize
from xltlib.tasks import Format, TaskSpec

MAX_ANSWER_TOKENS = 30
N_BEST = 20


def device_of(model) -> torch.device:
    return next(model.parameters()).device


def autocast(device: torch.device):
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()


def to_device(batch, device):
    """Tensors to ``device``; to a GPU from pinned memory without waiting for the copy."""
    if device.type != "cuda":
        return {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
    return {k: v.pin_memory().to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


@torch.no_grad()
def predict(model, head: str, feats: Features, pad_id: int, batch_size: int = 128) -> list:
    """One prediction per example: label name, choice index, tag sequence or answer text."""
    model.eval()
    device = device_of(model)
    spec, fmt = feats.spec, feats.spec.format
    per_item: dict[int, object] = {}
    for idx in batches(feats, batch_size, shuffle=False):
        batch = to_device(collate(feats, idx, pad_id), device)
        with autocast(device):
            logits = model(head, batch)["logits"]
        if fmt is Format.SPAN_QA:
            start, end = (x.float().cpu() for x in logits)
            for row, i in enumerate(idx):
                n = len(feats.items[i]["input_ids"])  # drop the batch's padding positions
                per_item[i] = (start[row, :n], end[row, :n])
        else:
            best = logits.float().argmax(-1).cpu()
            for row, i in enumerate(idx):
                per_item[i] = best[row]
    if fmt is Format.CLASSIFICATION:
        return [spec.labels[int(per_item[i])] for i in range(len(feats.items))]
    if fmt is Format.MULTIPLE_CHOICE:
        return [int(per_item[i]) for i in range(len(feats.items))]
    if fmt is Format.TAGGING:
        return [_words(spec, feats.items[i], per_item[i], len(e.tokens)) for i, e in enumerate(feats.examples)]
    return _answers(feats, per_item)


def _words(spec: TaskSpec, item, best, n_words) -> list[str]:
    """Tags of the words from their first sub-token; words cut off by truncation get "O" (or label 0)."""
    fallback = "O" if "O" in spec.labels else spec.labels[0]
    tags = [fallback] * n_words
    previous = None
    for pos, w in enumerate(item["word_ids"]):
        if w is not None and w != previous:
            tags[w] = spec.labels[int(best[pos])]
        previous = w
    return tags


def _answers(feats: Features, per_item) -> list[str]:
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
            if offsets[s] is None or not _max_context(item, s, spans[ex]):
                continue
            for e in ends:
                if offsets[e] is None or e < s or e - s + 1 > MAX_ANSWER_TOKENS:
                    continue
                score = float(start[s] + end[e])
                if ex not in best or score > best[ex][0]:
                    best[ex] = (score, context[offsets[s][0]:offsets[e][1]])
    answers = []
    for ex in range(len(feats.examples)):
        score, text = best.get(ex, (float("-inf"), ""))
        answers.append("" if feats.spec.allow_no_answer and null.get(ex, float("-inf")) > score else text)
    return answers


def _max_context(item, token: int, windows: list[tuple[int, int]]) -> bool:
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


def score(spec: TaskSpec, examples: list, predictions: list, lang: str) -> dict[str, float]:
    fmt = spec.format
    if fmt in (Format.CLASSIFICATION, Format.MULTIPLE_CHOICE):
        return {"accuracy": metrics.accuracy(predictions, [e.label for e in examples])}
    if fmt is Format.TAGGING:
        gold = [list(e.tags) for e in examples]
        if spec.metrics[0] == "accuracy":  # CCG: per-token accuracy
            flat_p = [t for seq in predictions for t in seq]
            return {"accuracy": metrics.accuracy(flat_p, [t for seq in gold for t in seq])}
        return metrics.tagging_f1(predictions, gold)
    if fmt is Format.SPAN_QA:
        rules = spec.qa_rules if spec.qa_rules != "mlqa" or lang in metrics.qa.MLQA_LANGS else "squad"
        return metrics.squad_scores({e.id: p for e, p in zip(examples, predictions)},
                                    {e.id: list(e.answers) for e in examples}, lang=lang, rules=rules)
    raise ValueError(f"{spec.name}: use evaluate_retrieval for retrieval tasks")


def evaluate(model, head: str, spec: TaskSpec, examples: list, tokenizer, lang: str,
             batch_size: int = 128, feats: Features | None = None) -> dict[str, float]:
    feats = feats or featurize(spec, examples, tokenizer)
    return score(spec, examples, predict(model, head, feats, tokenizer.pad_token_id, batch_size), lang)


@torch.no_grad()
def embed(model, examples: list, tokenizer, spec: TaskSpec, batch_size: int = 256,
          layer: int | None = None) -> torch.Tensor:
    """Retrieval embeddings, in the order of ``examples``, on the model's device (``layer``: default the
    task's retrieval layer)."""
    model.eval()
    device = device_of(model)
    feats = featurize(spec, examples, tokenizer)
    layer = spec.retrieval.layer_for(model.num_layers) if layer is None else layer
    out = torch.empty(len(examples), model.hidden_size, device=device)
    for idx in batches(feats, batch_size, shuffle=False):
        batch = to_device(collate(feats, idx, tokenizer.pad_token_id), device)
        with autocast(device):
            out[torch.tensor(idx, device=device)] = model.embed(batch, layer).float()
    return out


def evaluate_retrieval(model, spec: TaskSpec, examples: list, tokenizer, lang: str,
                       threshold: float | None = None) -> dict[str, float]:
    """Tatoeba: accuracy of each query's nearest candidate; BUCC: margin mining and F1 (the F1-optimal
    threshold unless one is given, e.g. tuned on dev); Mewsli-X / LAReQA: mAP@20."""
    queries = [e for e in examples if e.role == "query"]
    cands = [e for e in examples if e.role == "candidate"]
    q_emb, c_emb = embed(model, queries, tokenizer, spec), embed(model, cands, tokenizer, spec)
    if spec.retrieval.center:  # queries are one language, candidates another: centre each side
        q_emb, c_emb = q_emb - q_emb.mean(0), c_emb - c_emb.mean(0)
    metric = spec.metrics[0]
    if metric == "accuracy":
        paired = [i for i, q in enumerate(queries) if q.positives]
        nearest = metrics.knn(q_emb[paired], c_emb, 1)[1][:, 0].tolist()
        hits = sum(cands[n].id in queries[i].positives for i, n in zip(paired, nearest))
        return {"accuracy": 100.0 * hits / len(paired)}
    if metric == "f1":
        mined = metrics.mine_candidates(q_emb, c_emb, [q.id for q in queries], [c.id for c in cands])
        gold = {(q.id, p) for q in queries for p in q.positives}
        return metrics.bucc_f1(mined, gold, threshold)
    ranked = metrics.rank_candidates(q_emb, c_emb, k=20).tolist()
    rankings = {q.id: [cands[j].id for j in row] for q, row in zip(queries, ranked)}
    return {metric: metrics.map_at_k(rankings, {q.id: q.positives for q in queries if q.positives}, k=20)}
