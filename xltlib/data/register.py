"""A task of one's own, added to the registry in one call (``xltlib.register_task``): its record is checked
against what reads it (the Hub schemas of ``xltlib.data.schemas``, the local readers of ``xltlib.data.local``)
before it joins the built-in tasks of ``xltlib.registry.tasks``."""
from __future__ import annotations

import re

from xltlib.data.local import BLANK_CHECKS, READERS
from xltlib.data.schemas import SCHEMAS
from xltlib.errors import ConfigError
from xltlib.registry.tasks import _REGISTRY, ROLES, SPLITS, Format, TaskSpec


def register_task(spec: TaskSpec) -> TaskSpec:
    """Add a task of one's own: its whole record is ``spec`` (format, role, metrics, languages, labels, recipe,
    its Hub sources and their schemas, its local layouts, flags such as ``threshold_on_dev``). From then on it
    is a task like the others: studies name it (a target, an intermediate task, a ``train_on`` task), the
    ``xtreme`` profile loads it from the Hub or a local directory, ``xlt plan`` counts what its size tables
    hold (a task without rows: noted, not counted). On the ``toy`` profile, a task the toy world has no
    analog of is refused by name. Raises a ``ConfigError`` naming the field when the record is not usable.

        import xltlib as xlt
        xlt.register_task(xlt.TaskSpec(
            "boolq", "BoolQ", xlt.Format.CLASSIFICATION, "intermediate", ("accuracy",), ("en",),
            labels=("no", "yes"),
            hub={split: (xlt.HubSource("google/boolq", None, hub_split, "pair",
                                       columns={"text_a": "question", "text_b": "passage"}),)
                 for split, hub_split in (("train", "train"), ("dev", "validation"))},
            local={"train": (xlt.LocalFile("boolq/train.tsv", "pairs"),)}))
    """
    def bad(field, problem):
        raise ConfigError(f"register_task({spec.name!r}): {field}: {problem}")

    if not isinstance(spec, TaskSpec):
        raise ConfigError(f"register_task: expected a TaskSpec, got {type(spec).__name__}")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", spec.name or ""):
        bad("name", "expected a lowercase identifier (letters, digits, _)")
    if spec.name in _REGISTRY:
        bad("name", f"a task named {spec.name!r} exists ({_REGISTRY[spec.name].title})")
    if not isinstance(spec.format, Format):
        bad("format", f"expected one of {', '.join('Format.' + f.name for f in Format)}")
    if spec.role not in ROLES:
        bad("role", f"expected one of {', '.join(ROLES)}")
    if not spec.metrics or not spec.languages:
        bad("metrics" if not spec.metrics else "languages", "expected at least one")
    for field in ("train_task", "encoder_from", "train_before"):
        value = getattr(spec, field)
        for name in (value if isinstance(value, tuple) else (value,)):
            if name not in (None, "target", "intermediate") and name not in _REGISTRY:
                bad(field, f"{name!r} is no registered task")
    for split, sources in {**spec.hub, **spec.local}.items():
        if split not in SPLITS:
            bad("hub" if split in spec.hub else "local", f"split {split!r} is not one of {', '.join(SPLITS)}")
    for split, sources in spec.hub.items():
        for src in sources:
            if src.schema not in SCHEMAS:
                bad(f"hub.{split}", f"schema {src.schema!r} is unknown; schemas: {', '.join(sorted(SCHEMAS))}")
    for split, files in spec.local.items():
        for f in files:
            if f.reader not in READERS:
                bad(f"local.{split}", f"reader {f.reader!r} is unknown; readers: {', '.join(sorted(READERS))} "
                                      f"(xltlib.data.local.register_reader adds one)")
            if f.blank is not None and f.blank not in BLANK_CHECKS:
                bad(f"local.{split}", f"blank check {f.blank!r} is unknown; checks: {', '.join(sorted(BLANK_CHECKS))}")
    _REGISTRY[spec.name] = spec
    return spec
