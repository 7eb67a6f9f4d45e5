"""The local-directory loader: the normalized layout, XTREME's own download folder, and licensed data.

Layouts under the directory ``DIR`` (first match wins). Each task's record names its own (``TaskSpec.local``:
a path pattern, the reader of ``READERS`` that parses it, the check of ``BLANK_CHECKS`` that tells blanked
labels); ``xlt tasks NAME`` lists them. A task of one's own adds a reader with ``register_reader``.

1. Normalized records, any task: ``DIR/<task>/<lang>/<split>.jsonl`` or ``.parquet``; one record per
   line/row with the fields of the task's example type (``xltlib.registry.examples``), e.g. for tagging
   ``{"id": "1", "tokens": ["Hi", "!"], "tags": ["INTJ", "PUNCT"]}``.
2. XTREME's download folder, as google-research/xtreme's ``scripts/download_data.sh`` leaves it
   (``xnli/dev-de.tsv``, ``udpos/train-en.tsv``, ``xquad/xquad.de.json``, ``mlqa/MLQA_V1/dev/...``,
   ``tydiqa/tydiqa-goldp-v1.1-train/...``, ``bucc2018/de-en.dev.*``, ``tatoeba/de-en.*``,
   ``xcopa/val-it.jsonl``, ``siqa/socialIQa_v1.4_dev.jsonl``, ``squad/*.json``).
   Its UD-POS files have multiword tokens fused as XTREME's preprocessing does, and its BUCC files hold
   the full comparable corpora: the forms published numbers were computed on. XTREME blanks the labels
   it keeps for its leaderboard (XNLI / PAWS-X / UD-POS / PAN-X test without labels, empty answers in its
   XQuAD and TyDiQA files, every XCOPA test label 0, Tatoeba's English side sorted, no BUCC test gold):
   such a split raises ``BlankedLabelsError`` saying so, is never scored, and ``holds`` is False for it
   (a study then reads that split from the Hub).
3. SST-2 as GLUE's download script leaves it: ``DIR/SST-2/{train,dev}.tsv``. CCG: ``DIR/ccg/<split>.tsv``
   with ``tokens<TAB>tags`` per line (both space-separated) and optionally ``DIR/ccg/tags_to_id.json``
   (jiant's tag map) to fix the tag order; otherwise the tag set comes from the data.
4. Tatoeba as LASER ships it (gold-aligned, ISO 639-3 codes: ``cmn`` for zh): ``tatoeba.<iso3>-eng.<iso3>``
   and ``.eng`` under ``DIR/tatoeba/``, ``DIR/tatoeba/v1/`` or ``DIR/v1/`` (LASER's ``data/tatoeba`` as
   DIR). Read before XTREME's copy, whose sorted English side cannot be scored.

Text files are read as UTF-8 (a byte-order mark is dropped); a line that is not UTF-8 is a malformed row
(``not_utf8``) under the malformed-row policy, never a traceback.
"""
from __future__ import annotations

import csv
import json
from dataclasses import replace
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Callable, NamedTuple

from xltlib.data.core import BlankedLabelsError, TaskData, check_policy, collect, read_spec
from xltlib.data.schemas import COPA_QUESTIONS
from xltlib.errors import DataUnavailableError, MalformedDataError
from xltlib.paths import shown
from xltlib.registry.examples import (ClassificationExample, MultipleChoiceExample, RetrievalExample, SpanQAExample,
                             TaggingExample, example_from_dict)
from xltlib.registry.languages import language
from xltlib.registry.tasks import TaskSpec


# ------------------------------------------------------------------------------------------- reading
def _lines(path: Path):
    """``(line number, text | UnicodeDecodeError)`` per line; a leading byte-order mark is dropped."""
    with path.open("rb") as f:
        for i, raw in enumerate(f, start=1):
            if i == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield i, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                yield i, exc


def _text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedDataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _records(path: Path):
    """``(line/row number, dict | Exception)`` from a JSONL or parquet file."""
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise MalformedDataError(f"{path}: not a readable parquet file ({exc})") from None
        yield from enumerate(table.to_pylist(), start=1)
        return
    for i, line in _lines(path):
        if isinstance(line, Exception):
            yield i, line
        elif line.strip():
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


def _tsv_rows(path: Path):
    """Tab-separated rows as Python's csv module writes them (XTREME writes its XNLI / PAWS-X files so)."""
    for i, line in _lines(path):
        if isinstance(line, Exception) or not line:
            yield i, line
        else:
            yield i, next(csv.reader([line], delimiter="\t"))


# ------------------------------------------------------------------------------------------- XTREME's formats
def _pairs(path: Path, spec: TaskSpec, lang: str, split: str):
    """``sentence1<TAB>sentence2<TAB>label`` (XNLI, PAWS-X, MNLI as XTREME's xnli/train-en.tsv)."""
    for i, row in _tsv_rows(path):
        if isinstance(row, Exception):
            yield i, row
        elif row:
            if len(row) != 3:
                yield i, ValueError(f"expected 'sentence1<TAB>sentence2<TAB>label', found {len(row)} field(s)")
            else:
                yield i, ClassificationExample(f"{lang}-{i}", row[0], row[1], row[2], lang)


def _conll(path: Path, spec: TaskSpec, lang: str, split: str):
    """``word<TAB>tag`` per line, a blank line between sentences (UD-POS, PAN-X)."""
    words, tags, start, bad = [], [], None, None
    for i, line in _lines(path):
        if isinstance(line, Exception):
            bad = bad or line
            start = start or i
            continue
        if not line.strip():
            if words or bad:
                yield start, bad or TaggingExample(f"{lang}-{start}", tuple(words), tuple(tags), lang)
            words, tags, start, bad = [], [], None, None
            continue
        start = start or i
        fields = line.split("\t")
        if len(fields) != 2:
            bad = bad or ValueError(f"line {i}: expected 'word<TAB>tag', found {len(fields)} field(s)")
        else:
            words.append(fields[0])
            tags.append(fields[1])
    if words or bad:
        yield start, bad or TaggingExample(f"{lang}-{start}", tuple(words), tuple(tags), lang)


def _squad_json(path: Path, spec: TaskSpec, lang: str, split: str):
    """SQuAD v1.1 JSON (XQuAD, MLQA, TyDiQA-GoldP, SQuAD)."""
    try:
        data = json.loads(_text(path))["data"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise MalformedDataError(f"{path}: not SQuAD-format JSON ({type(exc).__name__}: {exc})") from None
    n = 0
    for article in data:
        for paragraph in article.get("paragraphs", []):
            for qa in paragraph.get("qas", []):
                n += 1
                try:
                    answers = [a for a in qa.get("answers", []) if not (qa.get("is_impossible") and not a["text"])]
                    yield n, SpanQAExample(str(qa["id"]), paragraph["context"], qa["question"],
                                           tuple(a["text"] for a in answers),
                                           tuple(int(a["answer_start"]) for a in answers), lang)
                except (KeyError, TypeError, ValueError) as exc:
                    yield n, ValueError(f"question {n}: {type(exc).__name__}: {exc}")


def _jsonl(path: Path, build):
    """``(line, example | Exception)`` for a JSONL file, ``build(line, record)`` making each example."""
    for i, r in _records(path):
        if isinstance(r, Exception):
            yield i, r
            continue
        try:
            yield i, build(i, r)
        except (KeyError, TypeError, ValueError) as exc:
            yield i, ValueError(f"{type(exc).__name__}: {exc}")


def _copa(path: Path, spec: TaskSpec, lang: str, split: str):
    """COPA / XCOPA JSONL: premise, choice1, choice2, question (cause|effect), label."""
    return _jsonl(path, lambda i, r: MultipleChoiceExample(
        str(r.get("idx", i)), r["premise"], COPA_QUESTIONS.get(r["question"], r["question"]),
        (r["choice1"], r["choice2"]), int(r["label"]), lang))


def _siqa(path: Path, spec: TaskSpec, lang: str, split: str):
    """Social IQa JSONL: context, question, answerA-C, correct (A|B|C)."""
    return _jsonl(path, lambda i, r: MultipleChoiceExample(
        str(i), r["context"], r["question"], (r["answerA"], r["answerB"], r["answerC"]), "ABC".index(r["correct"]),
        lang))


def _bucc(path: Path, spec: TaskSpec, lang: str, split: str):
    """``<lang>-en.<split>.<lang>`` / ``.en`` (``id<TAB>sentence``) and ``.gold`` (``src_id<TAB>tgt_id``)."""
    def sentences(p):
        out = {}
        for i, line in _lines(p):
            fields = line.split("\t") if isinstance(line, str) else []
            if len(fields) != 2:
                raise MalformedDataError(f"{p}, line {i}: expected 'id<TAB>sentence'")
            out[fields[0]] = fields[1]
        return out

    prefix = str(path)[: -len(f".{lang}")]
    src, tgt = sentences(path), sentences(Path(prefix + ".en"))
    gold: dict[str, list[str]] = {}
    for i, line in _lines(Path(prefix + ".gold")):
        fields = line.split("\t") if isinstance(line, str) else []
        if len(fields) != 2:
            raise MalformedDataError(f"{prefix}.gold, line {i}: expected 'src_id<TAB>tgt_id'")
        gold.setdefault(fields[0], []).append(fields[1])
    for sid, text in src.items():
        yield sid, RetrievalExample(sid, text, "query", tuple(gold.get(sid, ())), lang)
    for tid, text in tgt.items():
        yield tid, RetrievalExample(tid, text, "candidate", (), "en")


def _aligned(path: Path, english: Path, lang: str):
    if not english.is_file():
        raise DataUnavailableError(f"{path} has no English side: {english} does not exist")
    src = _text(path).splitlines()
    tgt = _text(english).splitlines()
    if len(src) != len(tgt):
        raise MalformedDataError(f"{path} has {len(src)} lines but {english} has {len(tgt)}")
    for i, (s, t) in enumerate(zip(src, tgt), start=1):
        yield i, RetrievalExample(f"q{i}", s, "query", (f"c{i}",), lang)
        yield i, RetrievalExample(f"c{i}", t, "candidate", (), "en")


def _tatoeba(path: Path, spec: TaskSpec, lang: str, split: str):
    """XTREME's ``tatoeba/<lang>-en.<lang>`` and ``.en``, line-aligned (unless XTREME sorted the English)."""
    return _aligned(path, path.with_name(f"{lang}-en.en"), lang)


def _tatoeba_laser(path: Path, spec: TaskSpec, lang: str, split: str):
    return _aligned(path, path.with_suffix(".eng"), lang)


def _glue_single(path: Path, spec: TaskSpec, lang: str, split: str):
    """GLUE's single-sentence TSV (SST-2): a ``sentence<TAB>label`` header, then a label index per row. GLUE
    writes it without quoting (a sentence may start with a quote mark), so a line is split on its tab only."""
    for i, line in _lines(path):
        if isinstance(line, Exception):
            yield i, line
            continue
        row = line.split("\t")
        if i == 1 and row == ["sentence", "label"]:
            continue
        elif len(row) != 2 or not row[1].strip().isdigit() or int(row[1]) >= len(spec.labels):
            yield i, ValueError(f"expected 'sentence<TAB>label' with a label index below {len(spec.labels)}, "
                                f"found {row!r}")
        else:
            yield i, ClassificationExample(f"{split}-{i}", row[0].strip(), None, spec.labels[int(row[1])], lang)


def _ccg(path: Path, spec: TaskSpec, lang: str, split: str):
    for i, row in _tsv_rows(path):
        if isinstance(row, Exception):
            yield i, row
        elif not row:
            continue
        elif len(row) != 2:
            yield i, ValueError(f"expected 'tokens<TAB>tags', found {len(row)} tab-separated field(s)")
        else:
            yield i, TaggingExample(f"{split}-{i}", tuple(row[0].split()), tuple(row[1].split()), lang)


# ------------------------------------------------------------------------------------------- blanked labels
def _first_row(path: Path) -> list[str]:
    for _, line in _lines(path):
        if isinstance(line, str) and line.strip():
            return line.split("\t")
    return []


def _blank_columns(columns: int, what: str):
    def check(path: Path, lang: str) -> str | None:
        first = _first_row(path)
        return what if first and len(first) < columns else None  # an empty file is reported when read
    return check


def _blank_answers(path: Path, lang: str) -> str | None:
    try:
        data = json.loads(_text(path))["data"]
    except (json.JSONDecodeError, KeyError, TypeError, MalformedDataError):
        return None  # reported as malformed when read
    answers = [a.get("text", "") for art in data for p in art.get("paragraphs", []) for q in p.get("qas", [])
               for a in q.get("answers", [])]
    return "every answer is an empty string" if answers and not any(answers) else None


def _blank_copa(path: Path, lang: str) -> str | None:
    labels = [r.get("label") for _, r in _records(path) if isinstance(r, dict)]
    return "every label is 0" if len(labels) >= 10 and set(labels) == {0} else None


def _blank_tatoeba(path: Path, lang: str) -> str | None:
    english_path = path.with_name(f"{lang}-en.en")
    if not english_path.is_file():
        return None  # reported when read
    english = _text(english_path).splitlines()
    return ("its English side is sorted (the alignment is hidden)"
            if len(english) >= 10 and english == sorted(english) else None)


def _blank_bucc(path: Path, lang: str) -> str | None:
    return None if Path(str(path)[: -len(f".{lang}")] + ".gold").exists() else "it has no .gold file"


# ------------------------------------------------------------------------------------------- readers
class Reader(NamedTuple):
    read: Callable  # (path, spec, lang, split) -> (row number, example | Exception) pairs
    companions: Callable = lambda path, lang: []  # (path, lang) -> the other files a read opens
    adjust: Callable | None = None  # (spec, path) -> the spec its rows are collected under


def _ccg_tags(path: Path) -> Path:
    return path.parent / "tags_to_id.json"


# the readers a task's local layouts (``TaskSpec.local``) name
READERS: dict[str, Reader] = {
    "pairs": Reader(_pairs), "conll": Reader(_conll), "squad_json": Reader(_squad_json),
    "bucc": Reader(_bucc, lambda path, lang: [Path(str(path)[: -len(f".{lang}")] + ext) for ext in (".en", ".gold")]),
    "tatoeba": Reader(_tatoeba, lambda path, lang: [path.with_name(f"{lang}-en.en")]),
    "tatoeba_laser": Reader(_tatoeba_laser, lambda path, lang: [path.with_suffix(".eng")]),
    "copa": Reader(_copa), "siqa": Reader(_siqa), "glue_single": Reader(_glue_single),
    "ccg": Reader(_ccg, lambda path, lang: [p for p in [_ccg_tags(path)] if p.exists()],
                  lambda spec, path: _with_ccg_tags(spec, _ccg_tags(path))),
}
# the checks that tell a file whose labels are blanked: (path, lang) -> why, or None
BLANK_CHECKS: dict[str, Callable] = {
    "pairs": _blank_columns(3, "it has no label column"), "conll": _blank_columns(2, "it has no tag column"),
    "answers": _blank_answers, "bucc": _blank_bucc, "tatoeba": _blank_tatoeba, "copa": _blank_copa,
}


def register_reader(name: str, read: Callable, companions: Callable | None = None,
                    blank: Callable | None = None) -> None:
    """A reader of one's own file format, for the ``LocalFile`` layouts of a registered task: ``read(path, spec,
    lang, split)`` yields ``(row number, example or Exception)``; ``companions(path, lang)``: the other files
    it opens (they enter the data's fingerprint); ``blank(path, lang)``: why the file's labels are blanked,
    or None (then registered under the same name in ``BLANK_CHECKS``)."""
    if name in READERS:
        raise ValueError(f"a reader named {name!r} exists; readers: {', '.join(sorted(READERS))}")
    READERS[name] = Reader(read, companions or (lambda path, lang: []))
    if blank is not None:
        BLANK_CHECKS[name] = blank


@lru_cache(maxsize=256)
def _blanked(path: str, mtime: int, lang: str, check) -> str | None:
    return check(Path(path), lang)


class Found(NamedTuple):
    path: Path
    reader: Reader | None  # None: the normalized layout
    blanked: str | None  # why the labels are blanked, or None


class LocalData:
    """A local directory as a data source (layouts: module docstring)."""

    def __init__(self, root):
        self.root = Path(root).expanduser()

    def __repr__(self) -> str:
        return f"LocalData({str(self.root)!r})"

    def candidates(self, spec: TaskSpec, lang: str, split: str) -> list[tuple[Path, Reader | None, Callable | None]]:
        """Every path that could hold the split, in the order they are tried: the normalized layout, then the
        task's own (``spec.local``)."""
        out = [(self.root / spec.name / lang / f"{split}.{ext}", None, None) for ext in ("jsonl", "parquet")]
        for layout in spec.local.get(split, ()):
            rel = layout.path.format(lang=lang, split=split, iso3=_iso3(lang))
            out.append((self.root / rel, READERS[layout.reader], layout.blank and BLANK_CHECKS[layout.blank]))
        return out

    def find(self, spec: TaskSpec, lang: str, split: str) -> Found | None:
        if not self.root.is_dir():
            raise DataUnavailableError(f"local data directory {self.root} does not exist (task {spec.name})")
        for path, read, blank in self.candidates(spec, lang, split):
            if path.is_file():
                why = _blanked(str(path), path.stat().st_mtime_ns, lang, blank) if blank else None
                return Found(path, read, why)
        return None

    def holds(self, task, lang: str, split: str, benchmark: str | None = None) -> bool:
        """Whether the directory holds the split with its labels (blanked splits do not count)."""
        found = self.find(read_spec(task, split, benchmark), lang, split)
        return found is not None and found.blanked is None

    def lacks(self, task, lang: str, split: str, benchmark: str | None = None) -> str:
        """Why the directory does not hold the split, in words (for a message that goes on to the Hub, and into
        a run's notes: paths in the checkout relative to it, ``xltlib.paths``)."""
        found = self.find(read_spec(task, split, benchmark), lang, split)
        if found is None:
            return f"{shown(self.root)} has no {task} {split} file for {lang}"
        return f"{shown(found.path)}: labels blanked ({found.blanked})" if found.blanked else f"{shown(self.root)} holds it"

    def files(self, task, lang: str, split: str, benchmark: str | None = None) -> list[Path]:
        """The files a load of the split reads (empty when it is not held)."""
        spec = read_spec(task, split, benchmark)
        found = self.find(spec, lang, split)
        if found is None or found.blanked:
            return []
        return [found.path] + (found.reader.companions(found.path, lang) if found.reader else [])

    def load(self, task, lang: str, split: str, *, on_error: str = "skip", benchmark: str | None = None,
             limit: int | None = None) -> TaskData:
        check_policy(on_error)
        spec = read_spec(task, split, benchmark)
        found = self.find(spec, lang, split)
        if found is None:
            tried = ", ".join(str(p) for p, _, _ in self.candidates(spec, lang, split))
            raise DataUnavailableError(f"no local data for task {spec.name} {lang}/{split}; looked for: {tried}")
        if found.blanked:
            raise BlankedLabelsError(
                f"{found.path}: its labels are blanked ({found.blanked}), as XTREME's download folder keeps "
                f"{split} labels for its leaderboard; {spec.name} {lang}/{split} cannot be scored from it "
                f"(use the Hub or the original release)", path=str(found.path), reason=found.blanked)
        if found.reader is None:
            rows = _normalized(spec, lang, _records(found.path))
        else:
            rows = found.reader.read(found.path, spec, lang, split)
            if found.reader.adjust:
                spec = found.reader.adjust(spec, found.path)
        return collect(spec, lang, split, str(found.path), islice(rows, limit), on_error)


def _iso3(lang: str) -> str:
    try:
        return language(lang).iso639_3
    except KeyError:
        return lang


def _with_ccg_tags(spec: TaskSpec, tags_path: Path) -> TaskSpec:
    if not tags_path.exists():
        return spec  # the tag set comes from the data (xltlib.data.core.collect)
    tags = json.loads(_text(tags_path))
    return replace(spec, labels=tuple(sorted(tags, key=lambda t: int(tags[t]))))
