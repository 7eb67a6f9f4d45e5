"""The Hub loader: ``datasets.load_dataset`` on the parquet datasets named in each task's spec.

Repos that still ship a loading script on ``main`` (datasets >= 4 refuses to run one) are read at their
parquet conversion, ``revision="refs/convert/parquet"`` (``open_source``).
"""
from __future__ import annotations

from functools import lru_cache
from itertools import islice
from pathlib import Path

from xltlib.data.core import TaskData, check_policy, collect, read_spec
from xltlib.data.schemas import SCHEMAS, RowContext
from xltlib.errors import DataUnavailableError, NoSourceError, SchemaError
from xltlib.hfhub import mirrored, unavailable
from xltlib.registry.languages import language
from xltlib.registry.tasks import HubSource, TaskSpec


def _label_names(features) -> dict[str, list[str]]:
    """ClassLabel names per column, also for sequences of ClassLabel (tag columns)."""
    out = {}
    for name, feature in features.items():
        inner = getattr(feature, "feature", feature)  # List / Sequence of ClassLabel
        names = getattr(inner, "names", None)
        if isinstance(names, list):
            out[name] = names
    return out


def describe(src: HubSource, lang: str) -> str:
    config = src.config_for(lang)
    rev = f"@{src.revision}" if src.revision else ""
    where = f" [{config}]" if config else (f" [{src.data_dir}/]" if src.data_dir else "")
    return f"{src.path}{rev}{where} {src.split}"


CONVERTED = "refs/convert/parquet"  # the Hub's parquet conversion of a repo: one folder per config


def open_source(src: HubSource, lang: str, spec: TaskSpec):
    """The ``datasets.Dataset`` of one Hub source, or a DataUnavailableError saying how to get it.

    A repo that holds only a loading script (datasets >= 4 cannot run it: allenai/social_i_qa,
    allenai/cosmos_qa) is read at its parquet conversion instead, ``refs/convert/parquet``, where each
    config is a folder (``data_dir``) of the one config "default"."""
    import datasets

    config = src.config_for(lang)
    try:
        return _load(datasets, src.path, config, src.split, src.revision, src.data_dir)
    except RuntimeError as exc:
        if "scripts are no longer supported" not in str(exc) or src.revision:
            raise
        try:
            return _load(datasets, src.path, None, src.split, CONVERTED, src.data_dir or config or "default")
        except Exception as exc2:  # noqa: BLE001 -- reported below with both causes
            failed = f"{type(exc2).__name__}: {str(exc2).splitlines()[0] if str(exc2) else ''}"
        raise DataUnavailableError(
            f"could not load dataset {src.path}{f', config {config}' if config else ''}, split {src.split} "
            f"(task {spec.name}): its main revision holds only a loading script, which datasets >= 4 cannot "
            f"run, and its parquet conversion ({CONVERTED}) could not be read either ({failed}). Load task "
            f"{spec.name} from a local directory, or mirror {src.path}@{CONVERTED} under XLT_HUB_MIRROR.") from None
    except (ConnectionError, FileNotFoundError, ValueError, datasets.exceptions.DatasetNotFoundError) as exc:
        what = f"{src.path}" + (f", config {config}" if config else "") + f", split {src.split}"
        if src.revision:
            what += f", revision {src.revision}"
        raise unavailable(
            "dataset", f"{what} (task {spec.name}, language {lang})", exc,
            f"load task {spec.name} from a local directory: source=DIR with DIR/{spec.name}/{lang}/<split>.jsonl",
        ) from None


def _load(datasets, path: str, config, split: str, revision: str | None, data_dir: str | None):
    local = mirrored(path, revision)
    splits = _open_config(local or path, config, None if local else revision, data_dir)
    if split not in splits:
        raise ValueError(f'Unknown split "{split}". Should be one of {list(splits)}.')
    return splits[split]


@lru_cache(maxsize=32)
def _open_config(where: str, config, revision: str | None, data_dir: str | None):
    """Every split of one config (a DatasetDict) of a repo (a Hub id, or its clone's directory), opened once
    per process: ``load_dataset`` parses the repo's card each time (google/xtreme's lists 183 configs:
    ~0.3 s a call on 2 cores)."""
    import datasets

    kwargs = {"data_dir": data_dir} if data_dir else {}
    if revision:
        kwargs["revision"] = revision
    if Path(where).is_dir():
        kwargs["cache_dir"] = _cache_for(Path(where))
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # a bar per split prepared: not our progress
    try:
        return datasets.load_dataset(where, config, **kwargs)
    finally:
        if bars:
            datasets.enable_progress_bars()


def _cache_for(local: Path) -> str:
    """A datasets cache of a local clone's own: datasets 5 keys its cache of a local repo by the repo's name
    and config only, so a second clone of "stanfordnlp/snli" elsewhere (another mirror, changed files)
    would be served the first one's rows. Keyed here by the clone's path and its files' sizes and times."""
    import hashlib

    import datasets

    stamp = "".join(f"{f}:{f.stat().st_size}:{f.stat().st_mtime_ns}\n" for f in sorted(local.rglob("*")) if f.is_file())
    digest = hashlib.sha256(f"{local.resolve()}\n{stamp}".encode()).hexdigest()[:16]
    return str(Path(datasets.config.HF_DATASETS_CACHE) / "xltlib-local" / digest)


def _stream(src: HubSource, lang: str, spec: TaskSpec, limit: int | None) -> list[dict]:
    """The first ``src.stream`` rows (or ``limit``, if fewer) of a split too large to download whole."""
    import datasets

    config = src.config_for(lang)
    local = mirrored(src.path, src.revision)
    try:
        stream = datasets.load_dataset(local or src.path, config, split=src.split, streaming=True)
        return list(islice(stream, min(src.stream, limit or src.stream)))
    except (ConnectionError, FileNotFoundError, ValueError, datasets.exceptions.DatasetNotFoundError) as exc:
        raise unavailable("dataset", f"{src.path}, config {config}, split {src.split} (task {spec.name}, streamed)",
                          exc, f"load task {spec.name} from a local directory") from None


def _keep(src: HubSource, lang: str):
    """Row filter for configs that pool languages."""
    if src.language_filter is None:
        return None
    if src.language_filter == "id_prefix":  # TyDiQA: "english-123..." -> English
        prefix = language(lang).name.lower() + "-"
        return lambda row: str(row["id"]).startswith(prefix)
    column = src.language_filter.removeprefix("column:")
    return lambda row: row[column] == lang


def sources(spec: TaskSpec, lang: str, split: str) -> list[HubSource]:
    """The Hub sources of one split in one language (empty: not on the Hub)."""
    return [s for s in spec.hub.get(split, ()) if s.languages is None or lang in s.languages]


class HubData:
    """The Hugging Face Hub (or its cache, or ``XLT_HUB_MIRROR``) as a data source."""

    name = "hub"

    def __repr__(self) -> str:
        return "HubData()"

    def load(self, task, lang: str, split: str, *, on_error: str = "skip", benchmark: str | None = None,
             limit: int | None = None) -> TaskData:
        check_policy(on_error)
        spec = read_spec(task, split, benchmark)
        spec.check(lang, split)
        found = sources(spec, lang, split)
        if not found:
            raise NoSourceError(
                f"task {spec.name} has no Hub source for {lang}/{split}: {spec.notes or 'load it from a local directory'}")
        data = None
        for n, src in enumerate(found):
            part = _load_source(spec, src, lang, split, n if len(found) > 1 else None, on_error, limit)
            if data is None:
                data = part
            else:
                data.extend(part)
        return data


def _load_source(spec, src, lang, split, n, on_error, limit) -> TaskData:
    dataset = open_source(src, lang, spec) if not src.stream else _stream(src, lang, spec, limit)
    described = describe(src, lang) + (f" (first {len(dataset)} rows)" if src.stream else "")
    schema = SCHEMAS[src.schema]
    features = getattr(dataset, "features", None) or {}
    ctx = RowContext(spec, lang, dict(src.columns), _label_names(features), prefix=f"{n}:" if n is not None else "")
    needed = {ctx.col(c) for c in schema.columns}
    columns = dataset.column_names if not src.stream else (list(dataset[0]) if dataset else sorted(needed))
    missing = sorted(needed - set(columns))
    if missing:
        raise SchemaError(
            f"{described}: missing column(s) {', '.join(missing)} needed by schema {src.schema!r} of task "
            f"{spec.name}; the dataset has: {', '.join(columns)}"
        )
    keep = _keep(src, lang)
    rows = (r for r in enumerate(dataset) if keep is None or keep(r[1]))
    if limit is not None:
        rows = islice(rows, limit)
    return collect(spec, lang, split, described, _adapt(rows, schema, ctx), on_error)


def _adapt(rows, schema, ctx):
    for i, row in rows:
        try:
            for example in schema.adapt(row, i, ctx):
                yield i, example
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            yield i, exc
