"""``xlt data audit``: what a data source holds per task, language and split, and the oracle ceiling.

    $ xlt data audit --source ~/xtreme/download --tokenizer FacebookAI/xlm-roberta-large
    $ xlt data audit xquad udpos --source DIR --tokenizer DIR --languages en de --json

    from xltlib.audit import audit
    records = list(audit(["xquad"], source="DIR", tokenizer=load_tokenizer("FacebookAI/xlm-roberta-large")))

One record per task, language and split: ``{"task", "language", "split", "source", "examples", "skipped":
{reason: n}, "repaired", "duplicate_ids", "blanked", "missing", "ceiling"}``. A split whose labels are
blanked or that no source holds says so in ``blanked`` / ``missing``; any other failure (a malformed file)
is the record's ``"error"`` and the audit goes on. Tasks: every registry task (or a benchmark's) as the
source defines it; for a directory, the splits it holds. A target's training split is recorded under the
task it is read from (XNLI's under ``mnli``), once.

``ceiling`` (with a tokenizer) is the score of an oracle that is right wherever the engine's inputs let it
be, through the engine's own path: ``featurize`` (tokenization, truncation, QA windows), the decoding
``predict`` uses and ``score`` (each format's ``oracle``, ``xltlib.engine.formats``). QA adds ``windowed_pct``
(questions split into several windows) and ``answer_lost_pct`` (answers in no window); every other format ``truncated_pct``
(inputs, choices or sentences cut at ``spec.max_length``).
"""
from __future__ import annotations

import warnings
from collections import Counter

from xltlib.data.core import BlankedLabelsError, MalformedRowWarning, read_spec
from xltlib.data.local import LocalData
from xltlib.engine.features import featurize
from xltlib.engine.formats import format_of
from xltlib.engine.formats.base import percent
from xltlib.errors import ConfigError, NoSourceError, XltError
from xltlib.experiment.profiles import data_source
from xltlib.registry.tasks import SPLITS, TaskSpec, get_benchmark, get_task, list_tasks
from xltlib.toy.world import ToyWorld, toy_spec

UNCUT = 1_000_000  # a max_length no input reaches: featurize's inputs before truncation
SHORT = {"exact_match": "EM", "f1": "F1", "accuracy": "acc", "windowed_pct": "windowed", "answer_lost_pct": "lost",
         "truncated_pct": "cut"}


# ------------------------------------------------------------------------------------------- the oracle
def ceiling(spec: TaskSpec, examples: list, tokenizer, lang: str) -> dict[str, float]:
    """The oracle's scores on ``examples`` (0-100; the format's ``oracle``), with the share of inputs cut
    (formats that window their inputs instead say how many they windowed)."""
    feats = featurize(spec, examples, tokenizer)
    fmt = format_of(spec)
    out = fmt.oracle(spec, feats, lang)
    if not fmt.windowed:
        out["truncated_pct"] = _cut(feats, featurize(spec, examples, tokenizer, max_length=UNCUT))
    return out


def _cut(cut, full) -> float:
    def lengths(item):
        return [len(c) for c in item["choices"]] if "choices" in item else [len(item["input_ids"])]

    pairs = [(a, b) for x, y in zip(cut.items, full.items) for a, b in zip(lengths(x), lengths(y))]
    return percent(sum(a < b for a, b in pairs), len(pairs))


# ------------------------------------------------------------------------------------------- the plan
def _source_spec(src, name: str, split: str | None, benchmark: str | None) -> TaskSpec:
    if isinstance(src, ToyWorld):  # the toy world has its own specs (languages, lengths)
        spec = toy_spec(name)
        return toy_spec(spec.train_task) if split == "train" and spec.train_task else spec
    return read_spec(name, split, benchmark) if split else get_task(name, benchmark)


def _languages(spec: TaskSpec, split: str) -> tuple[str, ...]:
    if split == "train":
        return spec.train_languages
    return tuple(x for x in spec.languages if split == "test" or x not in spec.test_only)


def plan(src, tasks=None, languages=None, splits=None, benchmark: str | None = None) -> list[tuple[str, str, str]]:
    """``(task, language, split)`` to audit: every candidate of the tasks' specs (a directory: those it holds)."""
    names = list(tasks or [s.name for s in list_tasks(benchmark)])
    for name in names:
        try:
            get_task(name)
        except KeyError as exc:
            raise ConfigError(f"tasks: {exc.args[0]}") from None
    seen, out = set(), []
    for name in names:
        bench = benchmark if benchmark and name in get_benchmark(benchmark).tasks else None
        try:
            spec = _source_spec(src, name, None, bench)
        except ConfigError:
            continue  # the toy world has no analog of this task
        for split in get_task(name).splits() or SPLITS:
            for lang in _languages(spec, split):
                if (splits and split not in splits) or (languages and lang not in languages):
                    continue
                read = _source_spec(src, name, split, bench)
                key = (read.name, lang, split)
                if key not in seen and (not isinstance(src, LocalData) or src.find(read, lang, split)):
                    seen.add(key)
                    out.append(key)
    return out


# ------------------------------------------------------------------------------------------- records
def audit_split(src, task: str, lang: str, split: str, benchmark: str | None = None, tokenizer=None) -> dict:
    """One record (module docstring); never raises for a split that cannot be read."""
    where = getattr(src, "root", None) or getattr(src, "name", None) or repr(src)
    record = {"task": task, "language": lang, "split": split, "source": str(where), "examples": 0, "skipped": {},
              "repaired": 0, "duplicate_ids": 0, "blanked": None, "missing": None}
    bench = benchmark if benchmark and task in get_benchmark(benchmark).tasks else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MalformedRowWarning)  # counted in the record instead
            data = src.load(task, lang, split, benchmark=bench)
    except BlankedLabelsError as exc:
        return {**record, "source": exc.path or record["source"], "blanked": exc.reason or str(exc)}
    except NoSourceError as exc:
        return {**record, "missing": str(exc)}
    except Exception as exc:  # noqa: BLE001 -- reported in the record; the audit goes on
        return {**record, "error": _message(exc)}
    record.update(source=data.source, examples=len(data), skipped=dict(data.skipped.most_common()),
                  repaired=data.repaired, duplicate_ids=data.renamed_ids)
    if tokenizer is not None:
        try:
            record["ceiling"] = ceiling(data.task, data.examples, tokenizer, lang)
        except Exception as exc:  # noqa: BLE001
            record["error"] = f"ceiling: {_message(exc)}"
    return record


def _message(exc: Exception) -> str:
    return str(exc) if isinstance(exc, XltError) else f"{type(exc).__name__}: {exc}"


def audit(tasks=None, source="hub", tokenizer=None, languages=None, splits=None, benchmark: str | None = None):
    """Records (``audit_split``) of every split ``plan`` finds, one at a time."""
    src = data_source(source)
    for task, lang, split in plan(src, tasks, languages, splits, benchmark):
        yield audit_split(src, task, lang, split, benchmark, tokenizer)


def format_table(records: list[dict]) -> str:
    """One aligned line per record, then a count of what was read, blanked, missing or failed.

    >>> print(format_table([{"task": "xquad", "language": "de", "split": "test", "source": "xquad.de.json",
    ...     "examples": 1190, "skipped": {}, "repaired": 0, "duplicate_ids": 0, "blanked": None, "missing": None,
    ...     "ceiling": {"exact_match": 99.41, "f1": 99.54, "windowed_pct": 5.13, "answer_lost_pct": 0.0}}]))
    task   lang  split  examples  skipped  repaired  dup ids  ceiling                                      status / source
    xquad  de    test       1190  0               0        0  EM 99.41 F1 99.54 windowed 5.13% lost 0.00%  xquad.de.json
    1 split(s): 1 read
    """
    rows = [("task", "lang", "split", "examples", "skipped", "repaired", "dup ids", "ceiling", "status / source")]
    for r in records:
        problem = next((k for k in ("error", "blanked", "missing") if r.get(k)), None)
        ceil = " ".join(f"{SHORT.get(k, k)} {v:.2f}" + ("%" if k.endswith("_pct") else "")
                        for k, v in r.get("ceiling", {}).items())
        counts = (str(r["examples"]), ", ".join(f"{n} {why}" for why, n in r["skipped"].items()) or "0",
                  str(r["repaired"]), str(r["duplicate_ids"]))
        rows.append((r["task"], r["language"], r["split"], *(("-",) * 4 if problem and not r["examples"] else counts),
                     ceil or "-", " ".join(f"{problem}: {r[problem]}".split()) if problem else r["source"]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(c.rjust(w) if i in (3, 5, 6) else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
             + "  " + row[-1] for row in rows]
    counts = Counter(next((k for k in ("blanked", "missing", "error") if r.get(k)), "read") for r in records)
    kinds = ("read", "blanked", "missing", "error")
    return "\n".join(lines + [f"{len(records)} split(s): " + ", ".join(f"{counts[k]} {k}" for k in kinds if counts[k])])
