"""Predictions and scores per format: batched by length, no gradients, scored through ``xltlib.metrics``.

    scores = evaluate(model, "xnli", spec, examples, tokenizer, lang="sw")   # {"accuracy": ...}
    scores = evaluate_retrieval(model, spec, examples, tokenizer, lang="de")
"""
from __future__ import annotations

from contextlib import nullcontext

import torch

from xltlib import metrics
from xltlib.engine.features import Features, batches, collate, featurize
from xltlib.engine.formats import format_of
from xltlib.registry.tasks import TaskSpec


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
    """One prediction per example: label name, choice index, tag sequence or answer text (the format's
    ``decode``)."""
    model.eval()
    device = device_of(model)
    fmt = format_of(feats.spec)
    per_item: dict[int, object] = {}
    for idx in batches(feats, batch_size, shuffle=False):
        batch = to_device(collate(feats, idx, pad_id), device)
        with autocast(device):
            logits = model(head, batch)["logits"]
        fmt.collect(logits, idx, feats, per_item)
    return fmt.decode(feats.spec, feats, per_item)


def score(spec: TaskSpec, examples: list, predictions: list, lang: str) -> dict[str, float]:
    return format_of(spec).score(spec, examples, predictions, lang)


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
