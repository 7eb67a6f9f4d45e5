"""Studies: a typed, validated description of an experiment (YAML <-> dataclasses), expanded into Runs.

    study = load_study("examples/toy_small.yaml")      # validated before anything trains
    for run in study.runs(): print(run.id, run.setup.name, run.target, run.seed)

A Run is one (intermediate setup, target task, seed); its id is the hash of everything that
determines its result, so a finished run is never recomputed and a changed one never reused.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from xltlib.errors import ConfigError
from xltlib.tasks import Format

PROFILES = ("smoke", "toy", "xtreme")
MODES = ("multitask", "sequential")
SAMPLERS = ("proportional", "uniform", "temperature")


@dataclass(frozen=True)
class Intermediate:
    """Phase 1: which English intermediate task(s), and how."""

    name: str  # label in tables and plots, e.g. "baseline", "mnli", "all9"
    tasks: tuple[str, ...] = ()  # empty: no intermediate training (the baseline)
    mode: str = "multitask"  # several tasks: "multitask" (one mixed phase) or "sequential" (A then B ...)
    sampler: str = "proportional"  # multitask: which task each step trains (jiant's samplers)
    temperature: float = 2.0  # sampler "temperature": p ~ size^(1/T)
    cap: int | None = None  # per-task cap on examples (jiant's capped-size sampling)
    size: float | None = None  # training-set size: a fraction (<= 1) or a count (> 1), seeded subsample
    languages: tuple[str, ...] = ("en",)  # intermediate data languages: others = translated data
    epochs: float | None = None  # phase-1 budget override (default: the profile's)

    def __post_init__(self):
        # one experiment, one run: a multitask mix does not depend on the order its tasks are listed in,
        # a single task has no mode, and size 1 is the whole training set
        if self.mode == "multitask" or (len(self.tasks) <= 1 and self.mode in MODES):
            object.__setattr__(self, "tasks", tuple(sorted(self.tasks)))
            object.__setattr__(self, "mode", "multitask")
        if self.size == 1:
            object.__setattr__(self, "size", None)

    @property
    def key(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("name")
        return d


@dataclass(frozen=True)
class Study:
    name: str
    profile: str = "toy"
    model: str | None = None  # toy size (smoke/small/base/large) or a Hub id / local dir (xtreme)
    intermediate: tuple[Intermediate, ...] = (Intermediate("baseline"),)
    targets: tuple[str, ...] = ()
    languages: tuple[str, ...] | None = None  # evaluation languages (each target keeps those it has)
    seeds: tuple[int, ...] = (0,)
    train_scale: float = 1.0  # multiplies every fine-tuning budget (quick looks: < 1)
    benchmark: str | None = None  # "xtreme-r" applies XTREME-R's variants of the specs
    pooling: str | None = None  # classification/choice head pooling (default: toy "pair", xtreme "cls")
    local_data: str | None = None  # xtreme: a directory read before the Hub, DIR/<task>/... (CCGbank, clusters)
    lora: int | None = None  # LoRA rank: adapters instead of full fine-tuning (XLM-R XL / XXL)

    def runs(self) -> list["Run"]:
        return [Run(self, setup, target, seed) for setup in self.intermediate for target in self.targets
                for seed in self.seeds]

    @property
    def model_name(self) -> str:
        return self.model or {"smoke": "smoke", "toy": "base", "xtreme": "FacebookAI/xlm-roberta-large"}[self.profile]

    @property
    def head_pooling(self) -> str:
        return self.pooling or ("cls" if self.profile == "xtreme" else "pair")


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _spec_digest(spec, profile: str) -> str:
    """What of a task spec decides results (labels, lengths, metrics, data source, ...), not its prose. A
    toy task whose generator changed within a world version (``DATA_VERSIONS``: the corpus, and so the
    pretrained models, unchanged) adds its version: its runs are new runs."""
    d = dataclasses.asdict(spec)
    for prose in ("title", "notes"):
        d.pop(prose, None)
    if profile != "xtreme":
        from xltlib.toy.data import DATA_VERSIONS

        if spec.name in DATA_VERSIONS:
            d["toy_data"] = DATA_VERSIONS[spec.name]
    return _digest(d)


@dataclass(frozen=True)
class Run:
    study: Study
    setup: Intermediate
    target: str
    seed: int

    def _base(self) -> dict:
        s = self.study
        base = {"profile": s.profile, "model": s.model_name, "seed": self.seed, "scale": s.train_scale,
                "benchmark": s.benchmark, "pooling": s.head_pooling, "lora": s.lora, "version": 2}
        if s.profile != "xtreme":  # the toy world's version and model config: a changed world is new runs
            from xltlib.toy.pretrain import model_key

            base["world"] = model_key(s.model_name)
        return base

    @property
    def phase1_key(self) -> str | None:
        """Checkpoint key of the phase-1 encoder, shared by every target of this setup and seed."""
        if not self.setup.tasks:
            return None
        from xltlib.runner import source_spec

        specs = [_spec_digest(source_spec(self.study, t), self.study.profile) for t in self.setup.tasks]
        return "p1-" + _digest({**self._base(), "setup": self.setup.key, "specs": specs})

    @property
    def id(self) -> str:
        from xltlib.runner import target_spec

        return _digest({**self._base(), "setup": self.setup.key, "phase1": self.phase1_key, "target": self.target,
                        "spec": _spec_digest(target_spec(self.study, self.target), self.study.profile),
                        "languages": list(self.languages())})

    def languages(self) -> tuple[str, ...]:
        from xltlib.runner import target_spec

        spec = target_spec(self.study, self.target)
        wanted = self.study.languages
        return spec.languages if wanted is None else tuple(l for l in spec.languages if l in wanted)


# ------------------------------------------------------------------------------------- loading
def _field_names(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def _check_keys(where: str, data: dict, cls) -> None:
    unknown = sorted(set(data) - _field_names(cls))
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}; valid fields: "
                          f"{', '.join(sorted(_field_names(cls)))}")


def _tuple(value, where):
    if value is None:
        return None
    if isinstance(value, (str, int)):
        return (value,)
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{where}: expected a list, got {value!r}")
    return tuple(value)


def study_from_dict(data: dict, name: str = "study") -> Study:
    """Build and validate a Study; every error names the field, the value and the valid choices."""
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: a study is a mapping of fields, got {type(data).__name__}")
    _check_keys(name, data, Study)
    data = dict(data)
    setups = []
    for i, raw in enumerate(data.pop("intermediate", None) or [{"name": "baseline"}]):
        where = f"intermediate[{i}]"
        if isinstance(raw, str):
            raw = {"name": raw, "tasks": [] if raw in ("baseline", "none") else [raw]}
        _check_keys(where, raw, Intermediate)
        raw = dict(raw)
        for key in ("tasks", "languages"):
            if key in raw:
                raw[key] = _tuple(raw[key], f"{where}.{key}")
        if "name" not in raw:
            raw["name"] = "+".join(raw.get("tasks") or ("baseline",))
        setups.append(Intermediate(**raw))
    for key in ("targets", "languages", "seeds"):
        if key in data:
            data[key] = _tuple(data[key], f"{name}.{key}")
    study = Study(name=data.pop("name", name), intermediate=tuple(setups), **data)
    validate(study)
    return study


def load_study(path: str | Path) -> Study:
    import yaml

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"study file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    return study_from_dict(data, path.stem)


def validate(study: Study) -> None:
    from xltlib.runner import source_spec, target_spec

    if study.profile not in PROFILES:
        raise ConfigError(f"profile: {study.profile!r} is not one of {', '.join(PROFILES)}")
    if not study.targets:
        raise ConfigError("targets: at least one target task is needed")
    if not study.seeds or any(not isinstance(s, int) or s < 0 for s in study.seeds):
        raise ConfigError(f"seeds: expected non-negative integers, got {list(study.seeds)}")
    if study.lora is not None and (not isinstance(study.lora, int) or study.lora <= 0):
        raise ConfigError(f"lora: expected a positive integer rank, got {study.lora!r}")
    if study.train_scale <= 0:
        raise ConfigError(f"train_scale: must be positive, got {study.train_scale}")
    if study.profile != "xtreme":
        from xltlib.toy.pretrain import SIZES

        if study.model_name not in SIZES:
            raise ConfigError(f"model: {study.model_name!r} is not a toy model size; valid: {', '.join(SIZES)}")
    else:  # the model must be loadable (cache, mirror or Hub) before anything trains
        from transformers import AutoConfig

        from xltlib.hub import load_pretrained

        load_pretrained(AutoConfig, study.model_name)
    names = [s.name for s in study.intermediate]
    if len(set(names)) != len(names):
        raise ConfigError(f"intermediate: setup names must be unique, got {names}")
    all_langs = set()
    for target in study.targets:
        spec = target_spec(study, target)  # raises with the valid task names
        if spec.role != "target":
            raise ConfigError(f"targets: {target!r} is an {spec.role} task, not a target task")
        all_langs |= set(spec.languages)
    if study.languages is not None:
        bad = [l for l in study.languages if l not in all_langs]
        if bad:
            raise ConfigError(f"languages: {', '.join(bad)} not in any target's languages; "
                              f"valid: {', '.join(sorted(all_langs))}")
    for i, setup in enumerate(study.intermediate):
        where = f"intermediate[{i}] ({setup.name})"
        if setup.mode not in MODES:
            raise ConfigError(f"{where}.mode: {setup.mode!r} is not one of {', '.join(MODES)}")
        if setup.sampler not in SAMPLERS:
            raise ConfigError(f"{where}.sampler: {setup.sampler!r} is not one of {', '.join(SAMPLERS)}")
        if setup.size is not None and setup.size <= 0:
            raise ConfigError(f"{where}.size: must be a positive fraction (<= 1) or count, got {setup.size}")
        if setup.cap is not None and setup.cap <= 0:
            raise ConfigError(f"{where}.cap: must be a positive count, got {setup.cap}")
        for task in setup.tasks:
            spec = source_spec(study, task)
            if spec.format is Format.RETRIEVAL:
                raise ConfigError(f"{where}.tasks: {task!r} is a retrieval task and has no training data")
            bad = [l for l in setup.languages if l not in spec.train_languages]
            if bad:
                raise ConfigError(f"{where}.languages: {task} has no training data in {', '.join(bad)}; "
                                  f"valid: {', '.join(spec.train_languages)}")
