"""Benchmark scores from a tidy results table.

Rules: a task's score in one language is its primary metric (QA: (EM + F1) / 2); a task's score is the
mean over its benchmark languages present in the table; a category's score is the mean of its tasks;
the benchmark's score is the mean over tasks (XTREME) or over categories (XTREME-R, whose categories
have different numbers of tasks) — both are returned, ``Benchmark.average_over`` says which is the
headline. Rows flag whether every language / task was present (``complete``): a mean over a partial
set is not the benchmark's number.
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from xltlib.registry.tasks import get_benchmark, get_task

REQUIRED = ("task", "language", "metric", "value")


def primary_score(rows: pd.DataFrame, spec, by: list[str]) -> pd.DataFrame:
    """One ``value`` per ``by``: the mean of ``rows``' values of ``spec``'s primary metrics (QA: EM and F1,
    so (EM + F1) / 2; anything else not in ``by``, e.g. seeds, is averaged too).

    >>> from xltlib.registry.tasks import get_task
    >>> rows = pd.DataFrame({"language": ["sw", "sw", "sw"], "metric": ["exact_match", "f1", "accuracy"],
    ...                      "value": [40.0, 60.0, 99.0]})
    >>> primary_score(rows, get_task("tydiqa"), ["language"]).to_dict("records")
    [{'language': 'sw', 'value': 50.0}]
    """
    rows = rows[rows["metric"].isin(spec.primary_metrics)]
    return rows.groupby(by, dropna=False)["value"].mean().reset_index()


def _task_language_scores(table: pd.DataFrame, benchmark: str, by: list[str], spec_of) -> pd.DataFrame:
    rows = []
    for name in get_benchmark(benchmark).tasks:
        spec = spec_of(name)
        part = table[(table["task"] == name) & table["language"].isin(spec.languages)]
        scores = primary_score(part, spec, by + ["language"])
        if scores.empty:
            continue
        scores["task"] = name
        rows.append(scores)
    if not rows:
        return pd.DataFrame(columns=by + ["language", "value", "task"])
    return pd.concat(rows, ignore_index=True)


def xtreme_score(
    table: pd.DataFrame,
    benchmark: str = "xtreme",
    by: Sequence[str] = (),
    exclude_languages: Sequence[str] = (),
    spec_of=None,
) -> pd.DataFrame:
    """Task, category and benchmark averages of a tidy table (one row per task/language/metric value).

    Args:
        table: columns ``task, language, metric, value`` (0-100) plus any others; rows of other tasks,
            languages or metrics are ignored, repeated rows (e.g. seeds not in ``by``) are averaged. A
            results table (``xltlib.experiment.results.load_results``: ``target``, ``phase``) is read as it is: its
            zero-shot rows (the test split, or the split or slice a study scores instead), ``target`` as the
            task, missing languages (NaN) left out; a table with ``split`` but no ``phase``: its test rows.
        benchmark: ``"xtreme"`` or ``"xtreme-r"``.
        by: columns to score separately, e.g. ``("setup", "seed")``.
        exclude_languages: e.g. ``("en",)`` for zero-shot averages without the training language.
        spec_of: ``task name -> TaskSpec`` giving each task's languages and category (default: the
            benchmark's specs; a toy study's ``study.profile_impl.target_spec`` for the toy analogs).

    Returns:
        One row per group and (level, name): level ``task`` (name = task), ``category`` (name =
        category) and ``benchmark`` (name ``tasks`` = mean over tasks, ``categories`` = mean over
        categories), with ``score``, ``n`` (languages or tasks/categories averaged) and ``complete``.

    Examples:
        >>> import pandas as pd
        >>> t = pd.DataFrame([
        ...     ("xnli", "en", "accuracy", 80.0), ("xnli", "de", "accuracy", 70.0),
        ...     ("xquad", "de", "exact_match", 50.0), ("xquad", "de", "f1", 70.0),
        ... ], columns=["task", "language", "metric", "value"])
        >>> s = xtreme_score(t)
        >>> s[s.level == "task"][["name", "score", "n", "complete"]].to_string(index=False)
        ' name  score  n  complete\\n xnli   75.0  2     False\\nxquad   60.0  1     False'
        >>> s[s.level == "benchmark"][["name", "score"]].values.tolist()
        [['tasks', 67.5], ['categories', 67.5]]
    """
    if "task" not in table.columns and "target" in table.columns:  # xltlib's results table (load_results)
        table = table.rename(columns={"target": "task"})
    if "phase" in table.columns:  # not the English dev scores that select a checkpoint
        table = table[table["phase"] == "zero-shot"]
    elif "split" in table.columns:
        table = table[table["split"] == "test"]
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise ValueError(f"xtreme_score: the table lacks column(s) {', '.join(missing)}; it has {', '.join(table.columns)}")
    by = list(by)
    bench = get_benchmark(benchmark)
    spec_of = spec_of or (lambda name: get_task(name, benchmark))
    table = table[~table["language"].isin(list(exclude_languages)) & table["value"].notna()]
    per_lang = _task_language_scores(table, benchmark, by, spec_of)

    out = []
    groups = per_lang.groupby(by, dropna=False) if by else [((), per_lang)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        base = dict(zip(by, key))
        task_scores = {}
        for name in bench.tasks:
            spec = spec_of(name)
            part = group[group["task"] == name]
            if part.empty:
                continue
            wanted = set(spec.languages) - set(exclude_languages)
            task_scores[name] = part["value"].mean()
            out.append({**base, "level": "task", "name": name, "score": task_scores[name],
                        "n": part["language"].nunique(), "complete": set(part["language"]) >= wanted})
        categories: dict[str, list[float]] = {}
        for name in bench.tasks:
            categories.setdefault(get_task(name).category, [])
            if name in task_scores:
                categories[get_task(name).category].append(task_scores[name])
        category_scores = {}
        for category, scores in categories.items():
            n_tasks = sum(get_task(t).category == category for t in bench.tasks)
            if scores:
                category_scores[category] = sum(scores) / len(scores)
                out.append({**base, "level": "category", "name": category, "score": category_scores[category],
                            "n": len(scores), "complete": len(scores) == n_tasks})
        all_complete = all(r["complete"] for r in out if r["level"] == "task" and all(r.get(c) == base[c] for c in by))
        if task_scores:
            out.append({**base, "level": "benchmark", "name": "tasks",
                        "score": sum(task_scores.values()) / len(task_scores), "n": len(task_scores),
                        "complete": all_complete and len(task_scores) == len(bench.tasks)})
            out.append({**base, "level": "benchmark", "name": "categories",
                        "score": sum(category_scores.values()) / len(category_scores), "n": len(category_scores),
                        "complete": all_complete and len(task_scores) == len(bench.tasks)})
    return pd.DataFrame(out, columns=by + ["level", "name", "score", "n", "complete"])
