"""How similar is an intermediate task to a target task? Three measures (research question 5).

    format_overlap(spec_a, spec_b)                      what the tasks ask for: format and label set
    embedding_similarity(model_dir, texts)              what their inputs look like to the encoder
    gradient_similarity(model_dir, texts)               what learning on their inputs does to the encoder

``texts`` maps task names to English input texts (``input_texts`` makes them from normalized examples).
The two model-based measures are centred over the tasks compared (the mean task vector is removed before
the cosine), since raw encoder centroids and gradients of one model all point much the same way.
Each returns a square DataFrame (tasks x tasks).

>>> from xltlib.registry.tasks import get_task
>>> format_overlap(get_task("mnli"), get_task("xnli")), format_overlap(get_task("mnli"), get_task("udpos"))
(1.0, 0.0)
"""
from __future__ import annotations

import random

import numpy as np
import pandas as pd
import torch

from xltlib.engine.formats import format_of
from xltlib.engine.formats.mlm import MASK_RATE
from xltlib.engine.model import TransferModel
from xltlib.experiment.runner import load_tokenizer
from xltlib.hfhub import load_pretrained
from xltlib.registry.tasks import Format, TaskSpec


def format_overlap(a: TaskSpec, b: TaskSpec) -> float:
    """0 for different formats; otherwise 0.5 + 0.5 x the Jaccard overlap of the label sets (tasks without
    a fixed label set — span QA, multiple choice, CCG's open supertag set — count as the same labels)."""
    if a.format is not b.format:
        return 0.0
    if not a.labels or not b.labels:
        return 1.0
    la, lb = set(a.labels), set(b.labels)
    return 0.5 + 0.5 * len(la & lb) / len(la | lb)


def input_text(example) -> str:
    """The text a model reads for one normalized example (answers and labels left out): its format's
    ``input_text``."""
    fmt = getattr(example, "format", None)
    if not isinstance(fmt, Format):
        raise TypeError(f"not a normalized example: {type(example).__name__}")
    return format_of(fmt).input_text(example)


def input_texts(examples: list, n: int = 256, seed: int = 0) -> list[str]:
    """``n`` input texts drawn (seeded) from ``examples``."""
    chosen = examples if len(examples) <= n else random.Random(seed).sample(examples, n)
    return [input_text(e) for e in chosen]


def _centred_cosine(vectors: dict[str, np.ndarray]) -> pd.DataFrame:
    names = list(vectors)
    m = np.stack([vectors[t] for t in names]).astype(np.float64)
    m = m - m.mean(axis=0, keepdims=True)
    m = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
    return pd.DataFrame(m @ m.T, index=names, columns=names)


def _quiet():
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the "unexpected lm_head" load report is expected here


def _batches(texts: list[str], tokenizer, batch_size: int, max_length: int):
    for i in range(0, len(texts), batch_size):
        yield tokenizer(texts[i:i + batch_size], truncation=True, max_length=max_length, padding=True,
                        return_tensors="pt")


@torch.no_grad()
def embedding_similarity(model_dir: str, texts: dict[str, list[str]], layer: int = -1, max_length: int = 128,
                         batch_size: int = 64) -> pd.DataFrame:
    """Centred cosine similarity of the tasks' mean input embeddings (mean-pooled hidden states of ``layer``:
    the retrieval representation, ``TransferModel.embed``)."""
    _quiet()
    tokenizer = load_tokenizer(str(model_dir))
    model = TransferModel.from_pretrained(model_dir).eval()
    centroids = {}
    for task, task_texts in texts.items():
        total, count = 0.0, 0
        for batch in _batches(task_texts, tokenizer, batch_size, max_length):
            pooled = model.embed(batch, layer)
            total, count = total + pooled.sum(0), count + len(pooled)
        centroids[task] = (total / count).numpy()
    return _centred_cosine(centroids)


def gradient_similarity(model_dir: str, texts: dict[str, list[str]], last_layers: int = 2, max_length: int = 128,
                        batch_size: int = 32, mask_rate: float = MASK_RATE, seed: int = 0) -> pd.DataFrame:
    """Centred cosine similarity of the tasks' mean masked-LM loss gradients on the last ``last_layers``
    transformer layers: a task embedding in the spirit of Task2Vec (Achille et al. 2019) that needs no
    task head, so every task is embedded by the same pretrained model."""
    from transformers import AutoModelForMaskedLM, DataCollatorForLanguageModeling

    tokenizer = load_tokenizer(str(model_dir))
    model = load_pretrained(AutoModelForMaskedLM, model_dir).eval()  # eval: no dropout noise in the gradients
    layers = model.base_model.encoder.layer[-last_layers:]
    params = [p for layer in layers for p in layer.parameters()]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=mask_rate)
    vectors = {}
    for task, task_texts in texts.items():
        torch.manual_seed(seed)  # the same masking draws for every task
        model.zero_grad()
        n = 0
        ids = tokenizer(task_texts, truncation=True, max_length=max_length)["input_ids"]
        for i in range(0, len(ids), batch_size):
            batch = collator([{"input_ids": x} for x in ids[i:i + batch_size]])
            loss = model(**batch).loss
            (loss * len(batch["input_ids"])).backward()  # summed over examples, divided by n below
            n += len(batch["input_ids"])
        vectors[task] = torch.cat([p.grad.flatten() for p in params]).numpy() / n
    return _centred_cosine(vectors)


def pairs(matrix: pd.DataFrame, rows: list[str], columns: list[str], name: str) -> pd.DataFrame:
    """Long form of a similarity matrix: one row per (intermediate, target) pair."""
    return pd.DataFrame([{"intermediate": r, "target": c, name: float(matrix.loc[r, c])} for r in rows for c in columns])


def format_overlaps(specs: dict[str, TaskSpec], rows: list[str], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([{"intermediate": r, "target": c, "format overlap": format_overlap(specs[r], specs[c])}
                         for r in rows for c in columns])
