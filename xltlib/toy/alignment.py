"""Cross-lingual alignment of a toy encoder, before and after phase 1: does English intermediate training
keep the languages aligned, and how does that depend on the learning rate and the length of phase 1?

    $ xlt toy alignment --task mnli --lr-ratios 0.5 0.1 0.025 --epochs 1 3 9
    >>> rows = phase1_sweep("base", "mnli", [0.025], [3])   # doctest: +SKIP

Alignment of a language with English is measured on the toy Tatoeba test set (parallel sentences, no names),
at the retrieval layer (Tatoeba's: layer 14 of 24, scaled) and at the last layer (what phase 2's heads read):

- ``retrieval``: accuracy of nearest-neighbour retrieval of each sentence's English translation among all
  English candidates (mean-pooled, each side centred, as toy Tatoeba is scored);
- ``gap``: mean cosine of translation pairs minus mean cosine of non-translation pairs (centred).

Phase 1 is the engine's (``train_multitask`` on the task's toy English data, the toy recipe) with the
encoder's learning rate ``lr_ratio`` x the toy model's pretraining peak (1e-3) and the fresh head at the toy
recipe's rate; "epochs" 0 is the pretrained encoder itself. The toy recipe fine-tunes at ratio 0.5 (5e-4);
XLM-R is fine-tuned at 1e-5 against a pretraining peak of 4e-4 (Conneau et al., 2020), a ratio of 0.025.
"""
from __future__ import annotations

import dataclasses
import sys
import time

import torch

from xltlib.engine.evaluation import embed
from xltlib.engine.features import featurize
from xltlib.engine.model import TransferModel
from xltlib.engine.multitask import train_multitask
from xltlib.experiment.profiles import toy_train_config
from xltlib.experiment.runner import load_tokenizer
from xltlib.toy.world import ToyWorld, toy_spec
from xltlib.toy.language import HIGH, LANGUAGES
from xltlib.toy.pretrain import SIZES, toy_model


def alignment(model, tokenizer, world: ToyWorld, languages=None) -> list[dict]:
    """Rows ``{language, layer ("retrieval" | "last"), retrieval, gap}`` for each non-English language."""
    spec = toy_spec("tatoeba")
    layers = {"retrieval": spec.retrieval.layer_for(model.num_layers), "last": model.num_layers}
    rows = []
    for lang in languages or spec.languages:
        examples = world.load("tatoeba", lang, "test").examples
        queries = [e for e in examples if e.role == "query" and e.positives]
        cands = [e for e in examples if e.role == "candidate"]
        ids = [c.id for c in cands]
        gold = torch.tensor([ids.index(q.positives[0]) for q in queries])
        for name, layer in layers.items():
            q = embed(model, queries, tokenizer, spec, layer=layer).cpu()
            c = embed(model, cands, tokenizer, spec, layer=layer).cpu()
            q = torch.nn.functional.normalize(q - q.mean(0), dim=-1)
            c = torch.nn.functional.normalize(c - c.mean(0), dim=-1)
            sim = q @ c.T
            hits = (sim.argmax(1) == gold).float().mean().item()
            pair = sim[torch.arange(len(queries)), gold]
            other = (sim.sum() - pair.sum()) / (sim.numel() - len(queries))
            rows.append({"language": lang, "layer": name, "retrieval": 100.0 * hits,
                         "gap": float(pair.mean() - other)})
    return rows


def phase1(model_dir, world: ToyWorld, task: str, lr_ratio: float, epochs: float, seed: int = 0,
           size: str = "base") -> tuple[TransferModel, dict]:
    """The pretrained encoder after phase 1 on ``task`` with the encoder at ``lr_ratio`` x the pretraining
    peak for ``epochs`` (0: untouched), the head at the toy recipe's rate."""
    model = TransferModel.from_pretrained(str(model_dir), pooling="pair")
    if epochs <= 0:
        return model, {"steps": 0, "final_loss": None}
    tokenizer = load_tokenizer(str(model_dir))
    data = world.load(task, "en", "train")
    model.add_head(data.task, seed=seed)
    feats = featurize(data.task, data.examples, tokenizer)
    recipe = toy_train_config(task, seed, world, size)
    cfg = dataclasses.replace(recipe, lr=lr_ratio * SIZES[size].lr, head_lr=recipe.lr, epochs=epochs)
    history = train_multitask(model, {task: feats}, tokenizer, cfg)
    last = history["losses"][-20:]
    return model, {"steps": sum(history["steps"].values()), "final_loss": sum(last) / max(1, len(last))}


def phase1_sweep(size: str, task: str, lr_ratios, epochs, seed: int = 0, languages=None, world: ToyWorld | None = None,
                 progress: bool = False) -> list[dict]:
    """Alignment rows (``alignment``) with ``lr_ratio``, ``epochs``, ``steps`` and phase 1's final training
    loss, for the pretrained encoder (epochs 0) and after each phase 1 of the grid."""
    world = world or (ToyWorld.smoke() if size == "smoke" else ToyWorld())
    model_dir = toy_model(size, progress=progress)
    tokenizer = load_tokenizer(str(model_dir))
    grid = [(0.0, 0.0)] + [(r, e) for r in lr_ratios for e in epochs if e > 0]
    rows = []
    for ratio, ep in grid:
        t0 = time.time()
        model, info = phase1(model_dir, world, task, ratio, ep, seed, size)
        for row in alignment(model, tokenizer, world, languages):
            rows.append({"task": task if ep else "none", "lr_ratio": ratio, "epochs": ep, "seed": seed, **info, **row})
        if progress:
            print(f"phase 1 {task} lr_ratio={ratio} epochs={ep}: {info['steps']} steps, {time.time() - t0:.0f}s",
                  file=sys.stderr, flush=True)
    return rows


def _frame(rows):
    """``phase1_sweep``'s rows as a table, with each language's resource level (high | low)."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    frame["resource"] = frame["language"].map(lambda c: "high" if LANGUAGES[c].resource >= HIGH else "low")
    return frame


def summary(rows):
    """Mean retrieval accuracy and cosine gap over the high- and the low-resource languages, per phase-1
    configuration (lr_ratio 0, epochs 0: the pretrained encoder) and layer, beside phase 1's steps and final
    training loss (``rows``: ``phase1_sweep``'s)."""
    frame = _frame(rows)
    keys = ["task", "lr_ratio", "epochs", "layer"]
    out = frame.pivot_table(index=keys, columns="resource", values=["retrieval", "gap"], aggfunc="mean")
    out.columns = [f"{v} ({r})" for v, r in out.columns]
    steps = frame.groupby(keys)[["steps", "final_loss"]].mean()
    return out.join(steps).round(3)


def plot(rows, path) -> None:
    """The figure of ``docs/toy_check.md``: English-other retrieval accuracy (high- and low-resource languages,
    last layer and retrieval layer) against phase 1's length, one line per encoder learning-rate ratio, the
    pretrained encoder at 0 epochs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = _frame(rows)
    mean = frame.groupby(["lr_ratio", "epochs", "layer", "resource"])["retrieval"].mean().reset_index()
    start = mean[mean["epochs"] == 0]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.4), sharex=True)
    for ax, (layer, resource) in zip(axes, [(l, r) for l in ("last", "retrieval") for r in ("high", "low")]):
        base = start[(start.layer == layer) & (start.resource == resource)]["retrieval"]
        for ratio in sorted(r for r in mean["lr_ratio"].unique() if r > 0):
            part = mean[(mean.lr_ratio == ratio) & (mean.layer == layer) & (mean.resource == resource)]
            ax.plot([0, *part["epochs"]], [*base, *part["retrieval"]], marker="o", label=f"lr ratio {ratio:g}")
        ax.set_title(f"{layer} layer, {resource}-resource", fontsize=10)
        ax.set_xlabel("phase-1 epochs")
    axes[0].set_ylabel("retrieval accuracy, % (vs English)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
