"""The local-directory loader, for clusters without network and for licensed data.

Layouts under the directory ``DIR`` (first match wins):

- normalized records, any task: ``DIR/<task>/<lang>/<split>.jsonl`` or ``.parquet``; one record per
  line/row with the fields of the task's example type (``xltlib.examples``), e.g. for tagging
  ``{"id": "1", "tokens": ["Hi", "!"], "tags": ["INTJ", "PUNCT"]}``;
- CCG in jiant's format: ``DIR/ccg/<split>.tsv`` with ``tokens<TAB>tags`` per line (both
  space-separated) and optionally ``DIR/ccg/tags_to_id.json`` (jiant's tag map) to fix the tag set;
- BUCC in XTREME's download layout: ``DIR/bucc2018/<lang>-en.<split>.<lang>`` and ``.en`` (``id<TAB>
  sentence``) and ``.gold`` (``src_id<TAB>tgt_id``) — the full corpora, distractors included;
- Tatoeba in XTREME's download layout: ``DIR/tatoeba/tatoeba.<iso3>-eng.<iso3>`` and ``.eng``,
  line-aligned.
"""
from __future__ import annotations

import csv
import json
from dataclasses import replace
from itertools import islice
from pathlib import Path

from xltlib.data import TaskData, collect
from xltlib.errors import DataUnavailableError
from xltlib.examples import RetrievalExample, TaggingExample, example_from_dict
from xltlib.languages import language
from xltlib.tasks import TaskSpec


def _records(path: Path):
    """``(line/row number, dict | Exception)`` from a JSONL or parquet file."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        for i, row in enumerate(pq.read_table(path).to_pylist(), start=1):
            yield i, row
        return
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                yield i, record if isinstance(record, dict) else ValueError("not a JSON object")
            except json.JSONDecodeError as exc:
                yield i, ValueError(f"invalid JSON ({exc.msg})")


def _normalized(spec: TaskSpec, lang: str, rows):
    for i, record in rows:
        if isinstance(record, Exception):
            yield i, record
            continue
        try:
            example = example_from_dict(spec.format, record)
            yield i, replace(example, lang=record.get("lang", lang))
        except (TypeError, ValueError) as exc:
            yield i, exc


def _tsv(path: Path):
    with path.open(encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            yield i, row


def _ccg(path: Path, split: str):
    for i, row in _tsv(path):
        if len(row) != 2:
            yield i, ValueError(f"expected 'tokens<TAB>tags', found {len(row)} tab-separated field(s)")
        else:
            yield i, TaggingExample(f"{split}-{i}", tuple(row[0].split()), tuple(row[1].split()))


def _bucc(prefix: Path, lang: str):
    def sentences(path):
        out = {}
        for i, row in _tsv(path):
            if len(row) != 2:
                raise DataUnavailableError(f"{path}, line {i}: expected 'id<TAB>sentence'")
            out[row[0]] = row[1]
        return out

    src, tgt = sentences(prefix.with_name(prefix.name + f".{lang}")), sentences(prefix.with_name(prefix.name + ".en"))
    gold: dict[str, list[str]] = {}
    gold_path = prefix.with_name(prefix.name + ".gold")
    if gold_path.exists():
        for _, row in _tsv(gold_path):
            gold.setdefault(row[0], []).append(row[1])
    for sid, text in src.items():
        yield sid, RetrievalExample(sid, text, "query", tuple(gold.get(sid, ())), lang)
    for tid, text in tgt.items():
        yield tid, RetrievalExample(tid, text, "candidate", (), "en")


def _tatoeba(prefix: Path, lang: str, iso3: str):
    src = prefix.with_name(prefix.name + f".{iso3}").read_text(encoding="utf-8").splitlines()
    tgt = prefix.with_name(prefix.name + ".eng").read_text(encoding="utf-8").splitlines()
    if len(src) != len(tgt):
        raise DataUnavailableError(f"{prefix}.{iso3} has {len(src)} lines but {prefix}.eng has {len(tgt)}")
    for i, (s, t) in enumerate(zip(src, tgt), start=1):
        yield i, RetrievalExample(f"q{i}", s, "query", (f"c{i}",), lang)
        yield i, RetrievalExample(f"c{i}", t, "candidate", (), "en")


def load(spec: TaskSpec, lang: str, split: str, root: str, *, on_error: str, limit: int | None) -> TaskData:
    base = Path(root).expanduser()
    if not base.is_dir():
        raise DataUnavailableError(f"local data directory {base} does not exist (task {spec.name})")
    candidates = [base / spec.name / lang / f"{split}.jsonl", base / spec.name / lang / f"{split}.parquet"]
    for path in candidates:
        if path.exists():
            rows = _normalized(spec, lang, _records(path))
            return collect(spec, lang, split, str(path), islice(rows, limit), on_error)

    special = []
    if spec.name == "ccg":
        path = base / "ccg" / f"{split}.tsv"
        special.append(path)
        if path.exists():
            spec = _with_ccg_tags(spec, base / "ccg" / "tags_to_id.json")
            return collect(spec, lang, split, str(path), islice(_ccg(path, split), limit), on_error)
    if spec.name == "bucc2018":
        prefix = base / "bucc2018" / f"{lang}-en.{split}"
        special.append(Path(f"{prefix}.{lang}"))
        if Path(f"{prefix}.{lang}").exists():
            return collect(spec, lang, split, str(prefix), islice(_bucc(prefix, lang), limit), on_error)
    if spec.name == "tatoeba":
        iso3 = language(lang).iso639_3
        prefix = base / "tatoeba" / f"tatoeba.{iso3}-eng"
        special.append(Path(f"{prefix}.{iso3}"))
        if Path(f"{prefix}.{iso3}").exists():
            return collect(spec, lang, split, str(prefix), islice(_tatoeba(prefix, lang, iso3), limit), on_error)
    tried = ", ".join(str(p) for p in candidates + special)
    raise DataUnavailableError(f"no local data for task {spec.name} {lang}/{split}; looked for: {tried}")


def _with_ccg_tags(spec: TaskSpec, tags_path: Path) -> TaskSpec:
    if not tags_path.exists():
        return spec
    tags = json.loads(tags_path.read_text(encoding="utf-8"))
    return replace(spec, labels=tuple(sorted(tags, key=lambda t: int(tags[t]))))
