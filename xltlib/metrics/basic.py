"""Accuracy and tagging F1 (0-100)."""
from __future__ import annotations

import warnings
from typing import Sequence


def accuracy(predictions: Sequence, references: Sequence) -> float:
    """Percentage of positions where prediction equals reference.

    Examples:
        >>> accuracy(["entailment", "neutral", "neutral"], ["entailment", "neutral", "contradiction"])
        66.66666666666667
        >>> accuracy([1, 0], [1])
        Traceback (most recent call last):
        ...
        ValueError: accuracy: 2 predictions but 1 references
    """
    if len(predictions) != len(references):
        raise ValueError(f"accuracy: {len(predictions)} predictions but {len(references)} references")
    if not references:
        raise ValueError("accuracy: no references")
    return 100.0 * sum(p == r for p, r in zip(predictions, references)) / len(references)


def tagging_f1(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Micro F1, precision and recall of chunks, as XTREME scores UD-POS and PAN-X: ``seqeval`` in its
    default (CoNLL) mode, on every sentence's tag sequence.

    XTREME applies the same scorer to POS tags, which have no B-/I- prefixes: seqeval then reads the
    first letter of each tag as its chunk prefix ("NOUN" is an "N"-chunk of type "OUN"). That is what
    the published POS numbers mean, so it is reproduced here rather than replaced by token accuracy.

    Examples:
        >>> tagging_f1([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-ORG"]])
        {'f1': 50.0, 'precision': 50.0, 'recall': 50.0}
        >>> tagging_f1([["PRON", "VERB"]], [["PRON", "VERB"]])
        {'f1': 100.0, 'precision': 100.0, 'recall': 100.0}
        >>> tagging_f1([["NOUN", "NOUN", "VERB"]], [["NOUN", "VERB", "VERB"]])["f1"]   # 2 of 3 tags right
        0.0
        >>> tagging_f1([["O"]], [["O", "O"]])
        Traceback (most recent call last):
        ...
        ValueError: tagging_f1: sentence 0 has 1 predicted tags but 2 reference tags
    """
    from seqeval.metrics import f1_score, precision_score, recall_score

    if len(predictions) != len(references):
        raise ValueError(f"tagging_f1: {len(predictions)} predicted sentences but {len(references)} references")
    for i, (p, r) in enumerate(zip(predictions, references)):
        if len(p) != len(r):
            raise ValueError(f"tagging_f1: sentence {i} has {len(p)} predicted tags but {len(r)} reference tags")
    y_pred, y_true = [list(p) for p in predictions], [list(r) for r in references]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns on every tag without a B-/I- prefix (POS)
        return {
            "f1": 100.0 * float(f1_score(y_true, y_pred)),
            "precision": 100.0 * float(precision_score(y_true, y_pred)),
            "recall": 100.0 * float(recall_score(y_true, y_pred)),
        }
