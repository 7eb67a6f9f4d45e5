"""The paper's qualitative claims, checked against a study's results: does a world (the toy, or a rerun on
XTREME) reproduce the sign of each, with a 95% interval over seeds?

    roles = claim_roles(study.intermediate)          # which setup plays which part, from what it trains
    table = check_claims(scores, roles)              # one row per claim: statistic, mean, CI, verdict

Phang et al. (2020; docs/reference.md): SQuAD, MNLI and HellaSwag are among the best intermediate tasks;
they gain several points on the retrieval tasks (BUCC, Tatoeba); multi-task training over all intermediate
tasks is best on retrieval; TyDiQA gains while XNLI does not; English intermediate data beats machine-
translated intermediate data and continued multilingual MLM mixed into phase 1.

Each claim is a signed statistic of gains over the baseline (paired by seed, mean over the non-English
languages of each target, then over targets), computed per seed; the verdict is "yes" when the 95%
bootstrap interval over seeds lies on the paper's side of zero, "no" when it lies on the other side, and
"inconclusive" when it contains zero or there is one seed. A claim whose setups or targets the study lacks
is "not measured".

>>> from xltlib.experiment.study import Setup
>>> sorted(claim_roles([Setup("baseline"), Setup("mnli", ("mnli",)), Setup("sst2", ("sst2",))]).items())
[('best', ['mnli']), ('english', {'mnli': 'mnli', 'sst2': 'sst2'}), ('others', ['sst2'])]
"""
from __future__ import annotations

import math

import pandas as pd

from xltlib.report.analysis import bootstrap_ci, paired_deltas, side

BEST_TASKS = ("squad_v1", "squad_v2", "mnli", "hellaswag")  # the paper's best intermediate tasks
MLM = "mlm"


def claim_roles(setups) -> dict:
    """The part each of a study's setups (``Setup`` objects) plays in the claims, from what it trains:
    ``best`` (English single-task setups of SQuAD, MNLI or HellaSwag), ``others`` (other English single
    tasks), ``multitask`` (the English multi-task setup with the most tasks, at least 3), ``english`` (task
    label -> English single-task setup), ``translated`` (setup -> the English setup of the same task, for
    single-task setups trained on more languages) and ``mlm`` (setup -> the English setup of the same tasks
    without continued MLM)."""
    english, roles = {}, {}
    for s in setups:
        if s.tasks and tuple(s.languages) == ("en",) and MLM not in s.tasks and len(s.tasks) == 1 \
                and s.size is None and s.cap is None and s.epochs is None:
            english[s.tasks[0]] = s.name
    if english:
        roles["english"] = english
        roles["best"] = [n for t, n in english.items() if t in BEST_TASKS]
        roles["others"] = [n for t, n in english.items() if t not in BEST_TASKS]
    multi = [s for s in setups if len(s.tasks) >= 3 and s.mode == "multitask" and tuple(s.languages) == ("en",)
             and MLM not in s.tasks]
    if multi:
        roles["multitask"] = max(multi, key=lambda s: len(s.tasks)).name
    translated = {s.name: english[s.tasks[0]] for s in setups if len(s.tasks) == 1 and len(s.languages) > 1
                  and s.tasks[0] in english}
    if translated:
        roles["translated"] = translated
    mlm = {}
    for s in setups:
        rest = [t for t in s.tasks if t != MLM]
        if MLM in s.tasks and len(rest) == 1 and rest[0] in english:
            mlm[s.name] = english[rest[0]]
    if mlm:
        roles["mlm"] = mlm
    return roles


def _gains(scores: pd.DataFrame) -> pd.DataFrame:
    """Per (setup, target, seed): the gain over the baseline, mean over non-English languages."""
    deltas = paired_deltas(scores)
    deltas = deltas[deltas["language"] != "en"]
    return deltas.groupby(["setup", "target", "seed"])["delta"].mean().reset_index()


def _per_seed(gains: pd.DataFrame, setups, targets=None) -> pd.Series:
    """Mean gain per seed over ``setups`` and ``targets`` (all targets when None): setups first averaged
    over targets, then over setups."""
    part = gains[gains["setup"].isin(setups)]
    if targets is not None:
        part = part[part["target"].isin(targets)]
    if part.empty:
        return pd.Series(dtype=float)
    return part.groupby(["seed", "setup"])["delta"].mean().groupby("seed").mean()


def _difference(a: pd.Series, b: pd.Series) -> pd.Series:
    both = a.index.intersection(b.index)
    return a[both] - b[both]


def _claims(gains: pd.DataFrame, roles: dict, targets: set, retrieval: set) -> list[tuple]:
    """(claim, statistic, expected sign, per-seed values or None) for each of the paper's claims."""
    best, others = roles.get("best", []), roles.get("others", [])
    ret = sorted(retrieval & targets)
    out = []

    stat = None
    if best and others:
        stat = _difference(_per_seed(gains, best), _per_seed(gains, others))
    out.append(("SQuAD, MNLI and HellaSwag are among the best intermediate tasks",
                f"mean gain of {', '.join(best) or '(none of them)'} minus that of {', '.join(others) or '(no other task)'}"
                ", all targets", +1, stat))

    stat = _per_seed(gains, best, ret) if best and ret else None
    out.append(("they gain several points on retrieval (BUCC, Tatoeba)",
                f"gain of {', '.join(best) or '(none of them)'} on {', '.join(ret) or '(no retrieval target)'}",
                +1, stat))

    stat, detail = None, "gain of the all-task mix on retrieval minus the best single task's"
    multi = roles.get("multitask")
    singles = list(roles.get("english", {}).values())
    if multi and singles and ret:
        means = {s: _per_seed(gains, [s], ret) for s in singles}
        top = max(means, key=lambda s: means[s].mean() if len(means[s]) else -math.inf)
        stat = _difference(_per_seed(gains, [multi], ret), means[top])
        detail = f"gain of {multi} on {', '.join(ret)} minus that of the best single task there ({top})"
    out.append(("multi-task training over all tasks is best on retrieval", detail, +1, stat))

    stat = _per_seed(gains, best, ["tydiqa"]) if best and "tydiqa" in targets else None
    out.append(("TyDiQA gains", f"gain of {', '.join(best) or '(none of them)'} on TyDiQA", +1, stat))

    stat = None
    if best and {"tydiqa", "xnli"} <= targets:
        stat = _difference(_per_seed(gains, best, ["xnli"]), _per_seed(gains, best, ["tydiqa"]))
    out.append(("XNLI does not gain (less than TyDiQA)",
                f"gain of {', '.join(best) or '(none of them)'} on XNLI minus their gain on TyDiQA", -1, stat))

    for role, claim, none in (("translated", "English intermediate data beats machine-translated data",
                               "(no translated setup)"),
                              ("mlm", "English intermediate data beats continued multilingual MLM mixed into "
                               "phase 1", "(no MLM setup)")):
        pairs = roles.get(role, {})  # setup -> the English setup it is compared with
        stat = None
        if pairs:
            stat = pd.concat([_difference(_per_seed(gains, [en]), _per_seed(gains, [other]))
                              for other, en in pairs.items()], axis=1).mean(axis=1)
        out.append((claim, "gain of " + (", ".join(f"{en} minus {other}" for other, en in pairs.items()) or none)
                    + ", all targets", +1, stat))
    return out


def verdict(sign: int, low: float, high: float) -> str:
    """"yes" when the interval lies on the paper's side of zero, "no" on the other, else "inconclusive".

    >>> verdict(+1, 0.5, 2.0), verdict(+1, -2.0, -0.5), verdict(-1, -2.0, -0.5), verdict(+1, -1.0, 1.0)
    ('yes', 'no', 'yes', 'inconclusive')
    """
    if math.isnan(low):
        return "not measured"
    return side(low, high, "yes", "no", "inconclusive") if sign > 0 else side(low, high, "no", "yes", "inconclusive")


def check_claims(scores: pd.DataFrame, roles: dict, retrieval=("bucc2018", "tatoeba")) -> pd.DataFrame:
    """One row per claim of the paper: ``claim``, ``statistic`` (what is computed, in points), ``mean``,
    ``ci_low``, ``ci_high`` (95% bootstrap over seeds), ``seeds`` and ``reproduced`` (yes / no /
    inconclusive / not measured). ``scores``: ``analysis.primary_scores`` of the study; ``roles``:
    ``claim_roles`` of its setups."""
    gains = _gains(scores)
    targets = set(scores["target"])
    rows = []
    for claim, statistic, sign, values in _claims(gains, roles, targets, set(retrieval)):
        values = pd.Series(dtype=float) if values is None else values.dropna()
        mean, low, high = bootstrap_ci(values.to_numpy())
        rows.append({"claim": claim, "statistic": statistic, "paper's sign": "+" if sign > 0 else "-",
                     "mean": mean, "ci_low": low, "ci_high": high, "seeds": len(values),
                     "reproduced": "inconclusive" if len(values) == 1 else verdict(sign, low, high)})
    return pd.DataFrame(rows)


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """The claims table as a report shows it: the result as "mean (low to high)" in points."""
    result = ["-" if n == 0 else f"{m:+.1f} ({lo:+.1f} to {hi:+.1f})"
              for m, lo, hi, n in zip(table["mean"], table["ci_low"], table["ci_high"], table["seeds"])]
    return table.assign(**{"this study (95% CI)": result})[
        ["claim", "statistic", "paper's sign", "this study (95% CI)", "seeds", "reproduced"]].set_index("claim")
