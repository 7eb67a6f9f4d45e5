"""Statistics for the research notebooks: per-language primary scores, seed means with bootstrap CIs,
paired differences against the baseline, saturating curves and rank correlations.

>>> bootstrap_ci([1.0, 2.0, 3.0, 4.0], seed=0)[0]
2.5
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from xltlib.metrics.aggregate import primary_score
from xltlib.registry.tasks import get_task

KEYS = ["model", "setup", "intermediate", "mode", "target", "language", "seed"]


def zero_shot_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows that score a target's languages: phase "zero-shot" (the test split, or the study's
    ``eval_split``), not the English dev scores of model selection; a table without phases: the test split."""
    return table[table["phase"] == "zero-shot"] if "phase" in table.columns else table[table["split"] == "test"]


def primary_scores(table: pd.DataFrame) -> pd.DataFrame:
    """One score per (run, language) as zero-shot scored (``zero_shot_rows``): the task's primary metric,
    (EM + F1) / 2 for QA."""
    test = zero_shot_rows(table)
    rows = []
    for target, part in test.groupby("target"):
        spec = get_task(target)
        keys = [k for k in KEYS + ["run_id"] if k in part.columns]
        rows.append(primary_score(part, spec, keys).rename(columns={"value": "score"}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=KEYS + ["score"])


def data_notes(table: pd.DataFrame) -> pd.DataFrame:
    """What a reader must know of the data behind the scores, one row per (target, language, kind): kind
    "missing" (no score: no source holds the split, or its labels are blanked) and "not comparable" (the
    score is real, but published numbers were computed on other data), each with the reason."""
    test = zero_shot_rows(table)
    missing = test[test["metric"] == "missing"].assign(kind="missing")
    caveats = test[(test["metric"] != "missing") & (test["note"].fillna("") != "")].assign(kind="not comparable")
    notes = pd.concat([missing, caveats])[["target", "language", "kind", "note"]].drop_duplicates()
    return notes.sort_values(["kind", "target", "language"]).reset_index(drop=True)


def bootstrap_ci(values, n: int = 2000, alpha: float = 0.05, seed: int = 0) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap (1 - alpha) interval; one value gives a zero-width interval."""
    values = np.asarray(list(values), dtype=float)
    if len(values) == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(values.mean())
    if len(values) == 1:
        return (mean, mean, mean)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n, len(values)))].mean(axis=1)
    return (mean, float(np.quantile(means, alpha / 2)), float(np.quantile(means, 1 - alpha / 2)))


def summarize(scores: pd.DataFrame, by: list[str], value: str = "score") -> pd.DataFrame:
    """Mean, 95% bootstrap CI and count of ``value`` per group (e.g. over seeds)."""
    rows = []
    for key, part in scores.groupby(by, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        mean, lo, hi = bootstrap_ci(part[value])
        rows.append({**dict(zip(by, key)), "mean": mean, "ci_low": lo, "ci_high": hi, "n": len(part)})
    return pd.DataFrame(rows, columns=[*by, "mean", "ci_low", "ci_high", "n"])  # its columns even when empty


def side(low: float, high: float, above: str, below: str, neither: str) -> str:
    """A verdict from a 95% interval, in the caller's words: ``above`` when it lies above 0, ``below`` when
    below, ``neither`` when it includes 0 (the difference is not told apart from seed noise).

    >>> side(0.4, 2.0, "helps", "hurts", "no clear effect"), side(-1.0, 0.5, "helps", "hurts", "no clear effect")
    ('helps', 'no clear effect')
    """
    return above if low > 0 else below if high < 0 else neither


def paired_deltas(scores: pd.DataFrame, baseline: str = "baseline") -> pd.DataFrame:
    """Each setup's score minus the baseline's on the same target, language and seed (paired by seed), and
    the same model where the scores come from several."""
    on = [k for k in ("model", "target", "language", "seed") if k in scores.columns]
    base = scores[scores["setup"] == baseline][on + ["score"]]
    merged = scores[scores["setup"] != baseline].merge(base, on=on, suffixes=("", "_baseline"))
    merged["delta"] = merged["score"] - merged["score_baseline"]
    return merged


def language_mean(frame: pd.DataFrame, by: list[str], value: str = "delta", languages=None,
                  exclude=("en",)) -> pd.DataFrame:
    """Mean of ``value`` over languages per group and seed: only ``languages`` if given, never ``exclude``
    (zero-shot gains are about the languages not trained on; English is the training language)."""
    keep = ~frame["language"].isin(exclude)
    if languages is not None:
        keep &= frame["language"].isin(languages)
    return frame[keep].groupby(by + ["seed"], dropna=False)[value].mean().reset_index()


def fit_saturating(x, y) -> dict:
    """Least-squares fit of y = a - b * exp(-c * x) (c on a log grid, a and b linear).

    Returns a, b, c and ``predict``; the marginal gain at x is b * c * exp(-c * x).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    best = None
    for c in np.logspace(-3, 1.5, 200):
        design = np.stack([np.ones_like(x), -np.exp(-c * x)], axis=1)
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        err = float(((design @ coef - y) ** 2).sum())
        if best is None or err < best[0]:
            best = (err, coef[0], coef[1], c)
    _, a, b, c = best
    return {"a": float(a), "b": float(b), "c": float(c),
            "predict": lambda z: a - b * np.exp(-c * np.asarray(z, float))}


def threshold_k(fit: dict, min_gain: float, ks) -> float | None:
    """The first k in ``ks`` where the fitted marginal gain per added language drops below ``min_gain``."""
    for k in ks:
        if fit["b"] * fit["c"] * math.exp(-fit["c"] * k) < min_gain:
            return k
    return None


def saturation(points: pd.DataFrame, x: str, y: str, min_gain: float, n: int = 500, seed: int = 0) -> dict:
    """Fit ``y = a - b exp(-c x)`` to per-seed points and find the threshold x (integers up to the largest
    x) where the marginal gain per unit of x falls below ``min_gain``; uncertainty by resampling seeds.

    Returns the fit, ``threshold`` (None: not reached in the range), ``bends`` (whether the fitted curve
    covers most of its rise within the range, c * max(x) >= 1: only then is its plateau more than an
    extrapolation), and over ``n`` seed resamples the 95% interval of the plateau ``a`` and of the
    threshold (``threshold_ci``; a resample whose threshold is not reached counts as beyond the range,
    inf), and ``reached``: the share of resamples that reach one.
    """
    grid = list(range(0, int(points[x].max()) + 1))
    fit = fit_saturating(points[x], points[y])
    seeds = points["seed"].unique()
    rng = np.random.default_rng(seed)
    plateaus, thresholds = [], []
    for _ in range(n):
        chosen = rng.choice(seeds, size=len(seeds))
        sample = pd.concat([points[points["seed"] == s] for s in chosen])
        f = fit_saturating(sample[x], sample[y])
        plateaus.append(f["a"])
        t = threshold_k(f, min_gain, grid)
        thresholds.append(math.inf if t is None else t)
    finite = [t for t in thresholds if t != math.inf]
    return {"fit": fit, "threshold": threshold_k(fit, min_gain, grid), "grid": grid,
            "bends": fit["c"] * max(grid) >= 1,
            "plateau_ci": (float(np.quantile(plateaus, 0.025)), float(np.quantile(plateaus, 0.975))),
            "threshold_ci": tuple(float(np.quantile(thresholds, q, method="inverted_cdf")) for q in (0.025, 0.975)),
            "reached": len(finite) / n}


def spearman(x, y) -> float:
    rx, ry = pd.Series(x).rank().to_numpy(), pd.Series(y).rank().to_numpy()
    if rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def spearman_ci(x, y, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Spearman's rho and a 95% bootstrap interval over the (x, y) pairs.

    >>> round(spearman_ci([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])[0], 3)
    1.0
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    rho = spearman(x, y)
    rng = np.random.default_rng(seed)
    boots = [spearman(x[i], y[i]) for i in (rng.integers(0, len(x), len(x)) for _ in range(n))]
    boots = [b for b in boots if not math.isnan(b)]
    if not boots:
        return (rho, math.nan, math.nan)
    return (rho, float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975)))
