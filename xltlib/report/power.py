"""What a study's design can detect: the spread of its paired gains, the smallest gain its seeds can tell
from noise, and the seeds or scored examples it would take to detect 1, 2 and 5 points.

    $ xlt power runs/study            # per target: zero-shot languages, and English
    $ xlt plan study.yaml --pilot runs/pilot

Method (docs/scoring.md, "Power"):

- **Gains, paired by seed.** For each setup other than the baseline, target and seed: the setup's primary
  score minus the baseline's on the same seed, averaged over the target's zero-shot languages (the
  ``zero-shot`` group; English, the training language, is the ``en`` group). Pairing by seed removes what
  the seed does to both (the target fine-tuning data order and head initialisation are the same).
- **Spread.** ``sd``: the standard deviation of those per-seed gains across seeds, pooled over setups
  (the root of the mean of each setup's variance, ``ddof=1``); it needs two seeds.
- **Smallest detectable gain** (``mde``): the gain a two-sided paired t-test at level ``alpha`` (5%)
  detects with probability ``power`` (80%) with the study's seeds: ``(t(1 - alpha/2) + t(power)) * sd /
  sqrt(seeds)``, t with ``seeds - 1`` degrees of freedom (the usual approximation of the noncentral t).
- **Scored-example noise and seed noise.** A score is a mean over the scored examples, so part of ``sd``
  is the sampling noise of those examples: for a score ``p`` (0-100) over ``N`` examples per language, a
  language's sampling variance is ``p (100 - p) / N`` (a binomial proportion: exact for accuracy, an
  approximation for F1 and the QA score), and a gain, the difference of two such scores on the same
  examples, has at most twice that (two independent scores; positively correlated predictions make it
  smaller). Averaged over ``L`` languages the variance is divided by ``L``. ``item_sd`` is that upper
  bound; ``seed_sd`` = ``sqrt(max(0, sd^2 - item_sd^2))`` is what remains: the noise of training itself,
  which more scored examples cannot remove. ``N`` is read from the study's data (the scored split of each
  language, after ``eval_size``); where the data cannot be read here, the split is not made.
- **What it would take.** ``seeds_for``: the fewest seeds (up to 100) at which the gain is detected with
  ``power`` at the observed ``sd``. ``examples_for``: the scored examples per language at which the gain is
  detected with the study's seeds, by shrinking ``item_sd`` alone (None: not reachable by examples, the
  seed noise alone is too large).

Assumptions: gains are normal across seeds; the spread is the same for every setup of a target (pooled);
the sampling variance is binomial and the two scores of a gain independent (upper bound).
"""
from __future__ import annotations

import math
import numpy as np
import pandas as pd

from xltlib.errors import ConfigError
from xltlib.report.analysis import paired_deltas, primary_scores

POINTS = (1.0, 2.0, 5.0)
MAX_SEEDS = 100
CONTROL = "control"  # the setup name a control study's scores take when paired against (xlt power --against)


def detectable(sd: float, seeds: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest true mean gain that a two-sided paired t-test at ``alpha`` over ``seeds`` paired gains of
    spread ``sd`` detects with probability ``power``: ``(t(1 - alpha/2) + t(power)) * sd / sqrt(seeds)``, t
    with ``seeds - 1`` degrees of freedom (NaN with fewer than two seeds).

    >>> round(detectable(1.0, 3), 2), round(detectable(1.0, 10), 2)
    (3.1, 0.99)
    """
    from scipy import stats

    if seeds < 2 or not sd > 0:
        return math.nan
    df = seeds - 1
    return float((stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df)) * sd / math.sqrt(seeds))


def seeds_for(gain: float, sd: float, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """The fewest seeds that detect ``gain`` at spread ``sd`` (None: more than ``MAX_SEEDS``)."""
    for n in range(2, MAX_SEEDS + 1):
        if detectable(sd, n, alpha, power) <= gain:
            return n
    return None


def examples_for(gain: float, seed_sd: float, item_sd: float, examples: float, seeds: int,
                 alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Scored examples per language at which ``seeds`` seeds detect ``gain``, the item noise shrinking as
    ``1 / examples`` (None: the seed noise alone is too large)."""
    if seeds < 2 or not examples or math.isnan(item_sd):
        return None
    need = gain / detectable(1.0, seeds, alpha, power)  # the largest total sd at which the gain is detected
    room = need ** 2 - seed_sd ** 2
    if room <= 0:
        return None
    return max(1, math.ceil(item_sd ** 2 * examples / room))


def gains(table: pd.DataFrame, baseline: str = "baseline") -> pd.DataFrame:
    """Per setup, target, group ("zero-shot": mean over the non-English languages; "en") and seed: the mean
    paired gain over the baseline, with the mean score and the languages it averages."""
    scores = primary_scores(table)
    if baseline not in set(scores["setup"]):
        raise ConfigError(f"power: no {baseline!r} setup in these results (setups: "
                          f"{', '.join(sorted(set(scores['setup'])))}); gains are paired against it")
    deltas = paired_deltas(scores, baseline).dropna(subset=["delta"])
    deltas["group"] = np.where(deltas["language"] == "en", "en", "zero-shot")
    by = ["setup", "target", "group", "seed"]
    return deltas.groupby(by).agg(gain=("delta", "mean"), score=("score_baseline", "mean"),
                                  languages=("language", lambda s: tuple(sorted(set(s))))).reset_index()


def report(table: pd.DataFrame, examples: dict | None = None, baseline: str = "baseline", alpha: float = 0.05,
           power: float = 0.8, seeds: int | None = None) -> pd.DataFrame:
    """One row per target and group: ``seeds`` (the study's, or the ``seeds`` of a planned study),
    ``setups`` compared, ``sd`` of the paired gains, ``item_sd`` (at most) and ``seed_sd``, ``mde``, and
    ``seeds_for_<d>`` / ``examples_for_<d>`` for d in 1, 2, 5 points. ``examples``: scored examples per
    (target, language) (unknown ones: no split of the noise)."""
    g = gains(table, baseline)
    rows = []
    for (target, group), part in g.groupby(["target", "group"]):
        per_setup = part.groupby("setup")["gain"]
        n = int(per_setup.count().min())
        variances = per_setup.var(ddof=1).dropna()
        sd = float(math.sqrt(variances.mean())) if len(variances) else math.nan
        langs = sorted({lang for ls in part["languages"] for lang in ls})
        counts = [(examples or {}).get((target, lang)) for lang in langs]
        item_sd, n_examples = math.nan, None
        if counts and all(counts):
            p = float(part["score"].mean())
            per_language = [p * (100 - p) / c for c in counts]
            item_sd = math.sqrt(2 * sum(per_language) / len(langs) ** 2)
            n_examples = float(np.mean(counts))
        seed_sd = math.nan if math.isnan(sd) or math.isnan(item_sd) else math.sqrt(max(0.0, sd ** 2 - item_sd ** 2))
        k = seeds or n
        row = {"target": target, "group": group, "languages": len(langs), "seeds": k,
               "setups": int(per_setup.ngroups), "mean_gain": float(part["gain"].mean()), "sd": sd,
               "item_sd": item_sd, "seed_sd": seed_sd, "examples": n_examples,
               "mde": detectable(sd, k, alpha, power)}
        for d in POINTS:
            row[f"seeds_for_{d:g}"] = seeds_for(d, sd, alpha, power) if sd > 0 else None
            row[f"examples_for_{d:g}"] = examples_for(d, seed_sd, item_sd, n_examples or 0, k, alpha, power) \
                if n_examples else None
        rows.append(row)
    return pd.DataFrame(rows)


def scored_examples(study) -> dict:
    """Scored examples per (target, language) of ``study`` (a ``Study``), read from its data as its runs
    score it (its split or slice, after ``eval_size``); a split that cannot be read here is left out."""
    from xltlib.errors import XltError
    from xltlib.experiment.runner import loader

    load, counts = loader(study), {}
    for run in {(r.target, r.eval_split): r for r in study.runs()}.values():
        for lang in run.languages():
            try:
                counts[run.target, lang] = len(load(run.spec.name, lang, run.eval_split).examples)
            except XltError:
                continue
    return counts


def answer(frame: pd.DataFrame, alpha: float = 0.05, power: float = 0.8, against: str = "the baseline") -> str:
    """Markdown for a report, beside its answer: per target, what the zero-shot gains' spread lets the study
    detect, and what 1, 2 and 5 points would take (``against``: what the gains are paired against)."""
    part = frame[frame.group == "zero-shot"] if len(frame) else frame
    if part.empty:
        return f"**What this design can detect**: no paired gains over {against} to measure it on."
    if part.seeds.max() < 2:
        return ("**What this design can detect**: one seed, so the spread of gains over seeds, and with it the "
                "smallest gain this design can tell from noise, cannot be estimated; `xlt power` says it for a "
                "study with two seeds or more.")

    def num(x, fmt="{:.1f}"):
        return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else fmt.format(x)

    rows = ["| target | seeds | mean gain | sd of gains | of it: examples / seeds | smallest detectable gain | "
            "seeds for 1 / 2 / 5 points | examples per language for 1 / 2 / 5 points |", "|---|---|---|---|---|---|---|---|"]
    for r in part.itertuples(index=False):
        rows.append(f"| {r.target} | {r.seeds} | {num(r.mean_gain, '{:+.1f}')} | {num(r.sd)} | {num(r.item_sd)} / "
                    f"{num(r.seed_sd)} | {num(r.mde)} | "
                    + " / ".join(num(getattr(r, f"seeds_for_{d:g}"), "{:.0f}") for d in POINTS) + " | "
                    + " / ".join(num(getattr(r, f"examples_for_{d:g}"), "{:.0f}") for d in POINTS) + " |")
    worst = part.sort_values("mde").iloc[-1]
    return (f"**What this design can detect** (gains over {against} on the zero-shot languages, paired by seed; "
            f"two-sided {alpha:.0%}, {power:.0%} power; docs/scoring.md, 'Power'): with these seeds a gain smaller "
            f"than the smallest detectable one cannot be told from noise — up to {num(worst.mde)} points "
            f"({worst.target}). The example noise is an upper bound; '–': not reachable by more examples alone, or "
            "not known here.\n\n" + "\n".join(rows))


def format_report(frame: pd.DataFrame, alpha: float = 0.05, power: float = 0.8, against: str = "the baseline") -> str:
    """The report as text: a line per target and group (``against``: what the gains are paired against)."""
    if frame.empty:
        return "no paired gains (a baseline and another setup on the same targets and seeds are needed)"

    def num(x, fmt="{:.1f}"):
        return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else fmt.format(x)

    lines = [f"paired gains over {against} (two-sided {alpha:.0%}, {power:.0%} power; docs/scoring.md, 'Power')",
             f"{'target':<10}{'group':<10}{'seeds':>6}{'gain':>7}{'sd':>6}{'item':>6}{'seed':>6}{'MDE':>7}"
             f"   seeds for 1/2/5    examples/language for 1/2/5"]
    for r in frame.itertuples(index=False):
        seeds = "/".join(num(getattr(r, f"seeds_for_{d:g}"), "{:.0f}") for d in POINTS)
        examples = "/".join(num(getattr(r, f"examples_for_{d:g}"), "{:.0f}") for d in POINTS)
        lines.append(f"{r.target:<10}{r.group:<10}{r.seeds:>6}{num(r.mean_gain):>7}{num(r.sd):>6}{num(r.item_sd):>6}"
                     f"{num(r.seed_sd):>6}{num(r.mde):>7}   {seeds:<17}  {examples}")
    lines.append("gain: mean paired gain; sd: its spread over seeds; item, seed: that spread split into scored-"
                 "example noise (at most) and seed noise; MDE: the smallest gain the seeds detect; '-': cannot "
                 "be said (one seed, or the data's example counts unknown here); examples: none reach it where "
                 "the seed noise alone is too large")
    return "\n".join(lines)
