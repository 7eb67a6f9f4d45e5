"""The Hub loader: ``datasets.load_dataset`` on the parquet datasets named in each task's spec."""
from __future__ import annotations

from itertools import islice

from xltlib.data import TaskData, collect
from xltlib.data.schemas import SCHEMAS, RowContext
from xltlib.errors import DataUnavailableError, SchemaError
from xltlib.hub import mirrored, unavailable
from xltlib.languages import language
from xltlib.tasks import HubSource, TaskSpec


def _label_names(features) -> dict[str, list[str]]:
    """ClassLabel names per column, also for sequences of ClassLabel (tag columns)."""
    out = {}
    for name, feature in features.items():
        inner = getattr(feature, "feature", feature)  # List / Sequence of ClassLabel
        names = getattr(inner, "names", None)
        if isinstance(names, list):
            out[name] = names
    return out


def _describe(src: HubSource, lang: str) -> str:
    config = src.config_for(lang)
    rev = f"@{src.revision}" if src.revision else ""
    return f"{src.path}{rev}" + (f" [{config}]" if config else "") + f" {src.split}"


def open_source(src: HubSource, lang: str, spec: TaskSpec):
    """The ``datasets.Dataset`` of one Hub source, or a DataUnavailableError saying how to get it."""
    import datasets

    config = src.config_for(lang)
    path = mirrored(src.path)
    kwargs = {"revision": src.revision} if src.revision and path == src.path else {}
    try:
        return datasets.load_dataset(path, config, split=src.split, **kwargs)
    except (ConnectionError, FileNotFoundError, ValueError, datasets.exceptions.DatasetNotFoundError) as exc:
        what = f"{src.path}" + (f", config {config}" if config else "") + f", split {src.split}"
        if src.revision:
            what += f", revision {src.revision}"
        raise unavailable(
            "dataset", f"{what} (task {spec.name}, language {lang})", exc,
            f"load task {spec.name} from a local directory: source=DIR with DIR/{spec.name}/{lang}/<split>.jsonl",
        ) from None


def _keep(src: HubSource, lang: str):
    """Row filter for configs that pool languages."""
    if src.language_filter is None:
        return None
    if src.language_filter == "id_prefix":  # TyDiQA: "english-123..." -> English
        prefix = language(lang).name.lower() + "-"
        return lambda row: str(row["id"]).startswith(prefix)
    column = src.language_filter.removeprefix("column:")
    return lambda row: row[column] == lang


def load(spec: TaskSpec, lang: str, split: str, *, on_error: str, limit: int | None) -> TaskData:
    sources = [s for s in spec.hub.get(split, ()) if s.languages is None or lang in s.languages]
    if not sources:
        raise DataUnavailableError(
            f"task {spec.name} has no Hub source for {lang}/{split}: {spec.notes or 'load it from a local directory'}"
        )
    parts = []
    for n, src in enumerate(sources):
        dataset = open_source(src, lang, spec)
        described = _describe(src, lang)
        schema = SCHEMAS[src.schema]
        ctx = RowContext(spec, lang, dict(src.columns), _label_names(dataset.features),
                         prefix=f"{n}:" if len(sources) > 1 else "")
        needed = {ctx.col(c) for c in schema.columns}
        missing = sorted(needed - set(dataset.column_names))
        if missing:
            raise SchemaError(
                f"{described}: missing column(s) {', '.join(missing)} needed by schema {src.schema!r} of task "
                f"{spec.name}; the dataset has: {', '.join(dataset.column_names)}"
            )
        keep = _keep(src, lang)
        rows = (r for r in enumerate(dataset) if keep is None or keep(r[1]))
        if limit is not None:
            rows = islice(rows, limit)
        parts.append(collect(spec, lang, split, described, _adapt(rows, schema, ctx), on_error))
    data = parts[0]
    for more in parts[1:]:
        data.examples += more.examples
        data.skipped += more.skipped
        data.repaired += more.repaired
    data.source = " + ".join(p.source for p in parts)
    return data


def _adapt(rows, schema, ctx):
    for i, row in rows:
        try:
            for example in schema.adapt(row, i, ctx):
                yield i, example
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            yield i, exc
