"""Retrieval scoring from sentence embeddings: Tatoeba accuracy, BUCC mining and F1, mAP@k.

Similarity search is cosine similarity as blocked matrix products on the embeddings' device (GPU when
the embeddings are there); nothing quadratic is materialized beyond one block of rows.
"""
from __future__ import annotations

from typing import Hashable, Iterable, Mapping, Sequence

import torch

_BLOCK = 4096  # rows of the similarity matrix computed at once


def _unit(x) -> torch.Tensor:
    x = torch.as_tensor(x)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D (n, dim) matrix, got shape {tuple(x.shape)}")
    return torch.nn.functional.normalize(x.float(), dim=-1)


def knn(queries, keys, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine similarities and indices of the ``k`` nearest ``keys`` of each query, best first.

    >>> knn([[1.0, 0.0], [0.0, 1.0]], [[0.0, 2.0], [3.0, 0.1]], k=1)[1].tolist()
    [[1], [0]]
    """
    q, kk = _unit(queries), _unit(keys).to(_unit(queries).device)
    if q.shape[1] != kk.shape[1]:
        raise ValueError(f"queries have dimension {q.shape[1]} but keys {kk.shape[1]}")
    k = min(k, kk.shape[0])
    values, indices = [], []
    for start in range(0, q.shape[0], _BLOCK):
        v, i = (q[start : start + _BLOCK] @ kk.T).topk(k, dim=1)
        values.append(v)
        indices.append(i)
    return torch.cat(values), torch.cat(indices)


def tatoeba_accuracy(source_embeddings, target_embeddings) -> float:
    """Percentage of source rows whose cosine nearest target row is the row with the same index.

    Examples:
        >>> src = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
        >>> tgt = [[0.9, 0.1], [0.8, 0.2], [0.5, 0.6]]    # row 1's nearest is row 0: wrong
        >>> round(tatoeba_accuracy(src, tgt), 2)
        66.67
    """
    src, tgt = _unit(source_embeddings), _unit(target_embeddings)
    if src.shape[0] != tgt.shape[0]:
        raise ValueError(f"tatoeba_accuracy: {src.shape[0]} source rows but {tgt.shape[0]} target rows")
    _, nearest = knn(src, tgt, k=1)
    gold = torch.arange(src.shape[0], device=nearest.device)
    return 100.0 * (nearest[:, 0] == gold).sum().item() / src.shape[0]


def mine_candidates(
    source_embeddings,
    target_embeddings,
    source_ids: Sequence[Hashable] | None = None,
    target_ids: Sequence[Hashable] | None = None,
    k: int = 4,
) -> list[tuple[Hashable, Hashable, float]]:
    """Candidate translation pairs by ratio-margin scoring (Artetxe & Schwenk 2019), as XTREME mines BUCC.

    margin(x, y) = cos(x, y) / ((mean cos of x to its k nearest targets + mean cos of y to its k nearest
    sources) / 2). Each source's best target among its k nearest by cosine (forward) and each target's
    best source (backward) are pooled, sorted by margin, and kept one-to-one greedily ("max" retrieval).

    Returns:
        ``(source_id, target_id, margin)`` triples, best first; ids default to row numbers.

    Examples:
        >>> src = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
        >>> tgt = [[0.0, 0.9, 0.1], [0.9, 0.0, 0.1], [0.0, 0.0, 1.0]]
        >>> [(s, t) for s, t, _ in mine_candidates(src, tgt, ["de1", "de2"], ["en1", "en2", "en3"], k=2)]
        [('de1', 'en2'), ('de2', 'en1')]
    """
    x, y = _unit(source_embeddings), _unit(target_embeddings)
    y = y.to(x.device)
    source_ids = list(range(x.shape[0])) if source_ids is None else list(source_ids)
    target_ids = list(range(y.shape[0])) if target_ids is None else list(target_ids)
    if len(source_ids) != x.shape[0] or len(target_ids) != y.shape[0]:
        raise ValueError("mine_candidates: one id per embedding row is needed on each side")
    fwd_sim, fwd_idx = knn(x, y, k)  # (n_src, k)
    bwd_sim, bwd_idx = knn(y, x, k)  # (n_tgt, k)
    x_mean, y_mean = fwd_sim.mean(dim=1), bwd_sim.mean(dim=1)
    fwd_margin = fwd_sim / ((x_mean[:, None] + y_mean[fwd_idx]) / 2)
    bwd_margin = bwd_sim / ((y_mean[:, None] + x_mean[bwd_idx]) / 2)
    fwd_best = fwd_margin.argmax(dim=1)
    bwd_best = bwd_margin.argmax(dim=1)
    rows = torch.arange(x.shape[0], device=x.device)
    cols = torch.arange(y.shape[0], device=x.device)
    pairs_src = torch.cat([rows, bwd_idx[cols, bwd_best]]).tolist()
    pairs_tgt = torch.cat([fwd_idx[rows, fwd_best], cols]).tolist()
    scores = torch.cat([fwd_margin[rows, fwd_best], bwd_margin[cols, bwd_best]]).tolist()
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    seen_src, seen_tgt, out = set(), set(), []
    for i in order:
        s, t = pairs_src[i], pairs_tgt[i]
        if s not in seen_src and t not in seen_tgt:
            seen_src.add(s)
            seen_tgt.add(t)
            out.append((source_ids[s], target_ids[t], scores[i]))
    return out


def bucc_f1(
    candidates: Iterable[tuple[Hashable, Hashable, float]],
    gold: set[tuple[Hashable, Hashable]],
    threshold: float | None = None,
) -> dict[str, float]:
    """Precision, recall and F1 (0-100) of the candidate pairs scoring at least ``threshold``.

    ``threshold=None`` picks the F1-optimal one, as the official BUCC scorer does on the dev set (then
    pass it for test). Pairs with equal scores are kept or dropped together; the threshold is the
    midpoint between the last kept score and the next lower one. A pair listed twice counts once, at
    its highest score.

    Examples:
        >>> cands = [("a", "A", 0.9), ("b", "X", 0.8), ("c", "C", 0.75), ("d", "D", 0.25)]
        >>> gold = {("a", "A"), ("c", "C"), ("e", "E")}
        >>> bucc_f1(cands, gold)
        {'f1': 66.66666666666666, 'precision': 66.66666666666666, 'recall': 66.66666666666666, 'threshold': 0.5}
        >>> bucc_f1(cands, gold, threshold=0.85)["precision"]
        100.0
    """
    best: dict[tuple, float] = {}
    for s, t, score in candidates:
        best[(s, t)] = max(float(score), best.get((s, t), float("-inf")))
    if not gold:
        raise ValueError("bucc_f1: the gold set is empty")
    if threshold is None:
        threshold = _optimal_threshold(best, gold)
    extracted = [pair for pair, score in best.items() if score >= threshold]
    correct = sum(pair in gold for pair in extracted)
    precision = correct / len(extracted) if extracted else 0.0
    recall = correct / len(gold)
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    return {"f1": 100.0 * f1, "precision": 100.0 * precision, "recall": 100.0 * recall, "threshold": threshold}


def _optimal_threshold(scores: Mapping[tuple, float], gold: set) -> float:
    levels = sorted(set(scores.values()), reverse=True)
    if not levels:
        return 0.0
    hits: dict[float, list[int]] = {}
    for pair, score in scores.items():
        counts = hits.setdefault(score, [0, 0])
        counts[0] += 1
        counts[1] += pair in gold
    extracted = correct = 0
    best_f1, best_threshold = -1.0, levels[0]
    for i, level in enumerate(levels):
        extracted += hits[level][0]
        correct += hits[level][1]
        f1 = 2 * correct / (extracted + len(gold))  # = 2PR/(P+R)
        if f1 > best_f1:
            best_f1 = f1
            best_threshold = (level + levels[i + 1]) / 2 if i + 1 < len(levels) else level
    return best_threshold


def rank_candidates(query_embeddings, candidate_embeddings, k: int = 20) -> torch.Tensor:
    """Indices of each query's ``k`` most cosine-similar candidates, best first."""
    return knn(query_embeddings, candidate_embeddings, k)[1]


def map_at_k(rankings: Mapping[Hashable, Sequence[Hashable]], positives: Mapping[Hashable, Iterable[Hashable]],
             k: int = 20) -> float:
    """Mean average precision at ``k`` (0-100), as XTREME-R scores Mewsli-X and LAReQA.

    AP@k of a query = sum over relevant ranks i <= k of precision@i, divided by min(#relevant, k);
    the mean runs over the queries of ``positives`` (a query missing from ``rankings`` scores 0).

    Examples:
        >>> map_at_k({"q1": ["a", "x", "b"], "q2": ["y", "c"]}, {"q1": ["a", "b"], "q2": ["c"]}, k=20)
        66.66666666666666
    """
    if not positives:
        raise ValueError("map_at_k: no queries")
    total = 0.0
    for query, relevant in positives.items():
        relevant = set(relevant)
        if not relevant:
            raise ValueError(f"map_at_k: query {query!r} has no relevant candidate")
        hits, ap = 0, 0.0
        for rank, candidate in enumerate(list(rankings.get(query, ()))[:k], start=1):
            if candidate in relevant:
                hits += 1
                ap += hits / rank
        total += ap / min(len(relevant), k)
    return 100.0 * total / len(positives)
