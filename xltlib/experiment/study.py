"""Studies: a typed, validated description of an experiment (YAML <-> dataclasses), expanded into Runs.

    study = load_study("examples/toy_small.yaml")      # validated before anything trains
    for run in study.runs(): print(run.id, run.setup.name, run.target, run.seed)

A Run is one (intermediate setup, target task, seed); its id is the hash of everything that determines
its result (the run key: profile, model, data source and the fingerprint of local files, task specs,
budgets, setup, seed, engine version), so a finished run is never recomputed and a changed one never
reused. Everything that differs between the toy world and XTREME is the study's profile
(``Study.profile_impl``, ``xltlib.experiment.profiles``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from xltlib.data.slices import parse as parse_split
from xltlib.engine.formats import format_of
from xltlib.engine.phases import dev_task, training_chain
from xltlib.engine.train import TrainConfig
from xltlib.errors import ConfigError
from xltlib.experiment.profiles import PROFILES, Profile, make_profile
from xltlib.registry.tasks import BENCHMARKS, TaskSpec
from xltlib.version import ENGINE

# The run-key schema: every field that decides a result enters its run's keys with its value or default.
# A directory made under an earlier schema is brought to this one once (xltlib.experiment.migrate).
KEY_SCHEMA = 2
MODES = ("multitask", "sequential")
SAMPLERS = ("proportional", "uniform", "temperature")
POOLINGS = ("cls", "mean", "pair")  # xltlib.engine.heads.POOLINGS (kept here so that a study validates without torch)


@dataclass(frozen=True)
class Setup:
    """Phase 1: which English intermediate task(s), and how. ``name`` labels it in tables and plots."""

    name: str  # e.g. "baseline", "mnli", "all9"
    tasks: tuple[str, ...] = ()  # empty: no intermediate training (the baseline)
    mode: str = "multitask"  # several tasks: "multitask" (one mixed phase) or "sequential" (A then B ...)
    sampler: str = "proportional"  # multitask: which task each step trains (jiant's samplers)
    temperature: float = 2.0  # sampler "temperature": p ~ size^(1/T)
    cap: int | None = None  # per-task cap on examples (jiant's capped-size sampling)
    size: float | None = None  # training-set size: a fraction (0 < size <= 1) or a whole count (> 1)
    languages: tuple[str, ...] = ("en",)  # intermediate data languages: others = translated data
    epochs: float | None = None  # phase-1 budget override (default: the profile's)
    mlm_languages: tuple[str, ...] | None = None  # task "mlm": its languages (default: the study's evaluation ones)

    def __post_init__(self):
        # one experiment, one run: a multitask mix does not depend on the order its tasks are listed in,
        # a single task has no mode, and size 1 is the whole training set
        if isinstance(self.tasks, tuple) and (self.mode == "multitask" or (len(self.tasks) <= 1 and self.mode in MODES)):
            object.__setattr__(self, "tasks", tuple(sorted(self.tasks, key=str)))
            object.__setattr__(self, "mode", "multitask")
        if self.size == 1 and not isinstance(self.size, bool):
            object.__setattr__(self, "size", None)

    @property
    def key(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("name")
        return d

    @property
    def label(self) -> str:
        """The tasks as a table shows them: "mnli+sst2" (sequential: in training order), or "none"."""
        return "+".join(self.tasks) or "none"


@dataclass(frozen=True)
class Study:
    name: str
    profile: str = "toy"  # smoke | toy | xtreme (xltlib.experiment.profiles)
    model: str | None = None  # toy size (smoke/small/base/large) or a Hub id / local dir (xtreme)
    intermediate: tuple[Setup, ...] = (Setup("baseline"),)
    targets: tuple[str, ...] = ()
    languages: tuple[str, ...] | None = None  # evaluation languages (each target keeps those it has)
    seeds: tuple[int, ...] = (0,)
    train_scale: float = 1.0  # multiplies every fine-tuning budget (quick looks: < 1)
    benchmark: str | None = None  # "xtreme-r" applies XTREME-R's variants of the specs
    pooling: str | None = None  # classification/choice head pooling (default: the profile's)
    local_data: str | None = None  # xtreme: a directory read before the Hub (xltlib.data.local)
    lora: int | None = None  # LoRA rank: adapters instead of full fine-tuning (XLM-R XL / XXL)
    # None (the paper's design): one phase-1 encoder per seed; a seed: every seed's runs share the encoder
    # phase 1 trained with that seed (a setup's phase 1 costs once, not once per seed)
    phase1_seed: int | None = None
    # toy profiles: fields of the toy world to change, as (field, value) pairs (YAML: a mapping), e.g. the
    # recipe's learning-rate ratios or the intermediate sets' size (xltlib.toy.world.ToyWorld); in run keys
    world: tuple[tuple[str, object], ...] = ()
    # real encoders on a CPU (docs/real_cpu.md)
    retrieval_layer: int | str | None = None  # "last" or a layer index; default: XTREME's 14 of 24, scaled
    retrieval_prefix: str | None = None  # text put before every retrieval sentence (E5: "query: ")
    freeze_embeddings: bool = False  # the word-embedding matrix stays as pretrained (phases 1 and 2)
    # phase 2's English training sets: a fraction or a count (like a setup's size) for every training task, or
    # per training task (YAML: a mapping, e.g. {udpos: 256, tydiqa: 400})
    target_size: float | tuple[tuple[str, float], ...] | None = None
    eval_size: int | None = None  # dev / test sets (not retrieval): their first this many examples
    random_weights: bool = False  # the model's architecture and tokenizer, randomly initialized (a control)
    learning_rate: float | None = None  # every fine-tuning's peak rate (default: the profile's recipe)
    # per target (YAML: a mapping), where the data a researcher holds differs from the benchmark's: the English
    # task it fine-tunes on (e.g. {xquad: tydiqa} without SQuAD; a list: the whole chain, in order, e.g.
    # {xcopa: [copa]} without SIQA), and the split its languages are scored on (e.g. {udpos: dev} where the
    # test labels are blanked, as in XTREME's download folder)
    train_on: tuple[tuple[str, str | tuple[str, ...]], ...] = ()
    eval_split: tuple[tuple[str, str], ...] = ()
    # per English training task (YAML: a mapping), the split (or slice, ``xltlib.data.slices``) phase 2 trains on
    # instead of its train split, e.g. {xnli: "dev[:50%]"} with eval_split {xnli: "dev[50%:]"}: zero-shot from
    # English dev items, scored on the other items; such a training has no English dev set to select on
    train_split: tuple[tuple[str, str], ...] = ()

    @cached_property
    def profile_impl(self) -> Profile:
        """The ``Profile`` object behind ``profile``: data, model, recipe and run-key contents
        (``xltlib.experiment.profiles``)."""
        return make_profile(self.profile, self.model, self.benchmark, self.local_data, self.world)

    @property
    def backend(self) -> Profile:
        """Deprecated name of ``profile_impl``."""
        warnings.warn("Study.backend is now Study.profile_impl", DeprecationWarning, stacklevel=2)
        return self.profile_impl

    def runs(self) -> list["Run"]:
        return [Run(self, setup, target, seed) for setup in self.intermediate for target in self.targets
                for seed in self.seeds]

    @property
    def model_name(self) -> str:
        return self.profile_impl.model

    @property
    def head_pooling(self) -> str:
        return self.pooling or self.profile_impl.pooling

    def task_languages(self, setup: "Setup", task: str) -> tuple[str, ...]:
        """The languages of an intermediate task's training data in a setup: its ``languages``; continued
        MLM: its ``mlm_languages``, by default every language the study evaluates (each in its own data)."""
        if not format_of(self.profile_impl.source_spec(task)).raw_text:
            return setup.languages
        if setup.mlm_languages:
            return setup.mlm_languages
        langs = [l for t in self.targets for l in self.profile_impl.target_spec(t).languages]
        if self.languages is not None:
            langs = [l for l in langs if l in self.languages]
        mlm = self.profile_impl.source_spec(task)
        return tuple(l for l in dict.fromkeys(["en"] + langs) if l in mlm.train_languages)

    def target_spec(self, task: str) -> TaskSpec:
        """A target's spec as this study evaluates it: the profile's, with the study's training task for it
        (``train_on``), retrieval layer and prefix."""
        spec = self.profile_impl.target_spec(task)
        chain = dict(self.train_on).get(task)
        if isinstance(chain, tuple):  # the whole chain
            spec = dataclasses.replace(spec, train_task=chain[-1], train_before=chain[:-1])
        elif chain is not None:
            spec = dataclasses.replace(spec, train_task=chain)
        if spec.retrieval is None or (self.retrieval_layer is None and self.retrieval_prefix is None):
            return spec
        retrieval = spec.retrieval
        if self.retrieval_layer is not None:
            layer = -1 if self.retrieval_layer == "last" else self.retrieval_layer
            retrieval = dataclasses.replace(retrieval, layer=layer, of_layers=None)
        if self.retrieval_prefix is not None:
            retrieval = dataclasses.replace(retrieval, prefix=self.retrieval_prefix)
        return dataclasses.replace(spec, retrieval=retrieval)

    def eval_size_for(self, spec: TaskSpec) -> int | None:
        """How many examples of ``spec``'s dev and test sets are scored (the first ones): ``eval_size``, where
        its format allows a cut (not retrieval, which needs every candidate); None: all."""
        return self.eval_size if format_of(spec).capped_by_eval_size else None

    def train_split_of(self, task: str) -> str:
        """The split (or slice) phase 2 trains ``task`` on: its ``train_split``, else "train"."""
        return dict(self.train_split).get(task, "train")

    def dev_task_of(self, spec: TaskSpec) -> str | None:
        """The task whose English dev set selects a model trained on ``spec`` (``phases.dev_task``), or None
        where the study trains on that dev set (``train_split``): a fixed budget, the last checkpoint."""
        return None if parse_split(self.train_split_of(spec.name)).split == "dev" else dev_task(spec)

    def target_size_of(self, task: str) -> float | None:
        """The cap on ``task``'s English training set in phase 2 (``target_size``), or None."""
        if isinstance(self.target_size, tuple):
            return dict(self.target_size).get(task)
        return self.target_size

    def train_config(self, spec: TaskSpec, seed: int, epochs: float | None = None) -> TrainConfig:
        """The profile's recipe for ``spec``, its epochs (or ``epochs``) scaled by ``train_scale``."""
        cfg = self.profile_impl.train_config(spec, seed)
        cfg = dataclasses.replace(cfg, epochs=(epochs or cfg.epochs) * self.train_scale)
        return cfg if self.learning_rate is None else dataclasses.replace(cfg, lr=self.learning_rate)


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _spec_digest(spec: TaskSpec) -> str:
    """What of a task spec decides results (labels, lengths, metrics, Hub sources, flags, ...): every field but
    its prose, its local layouts (the data key fingerprints the files a run reads) and its toy analog (the
    toy world's version, in the toy profile's key, names its generators)."""
    d = dataclasses.asdict(spec)
    for field in ("title", "notes", "local", "toy"):
        d.pop(field)
    return _digest(d)


@dataclass(frozen=True)
class Run:
    study: Study
    setup: Setup
    target: str
    seed: int

    def _base(self) -> dict:
        """What every key of the run holds: the schema, the profile, the model and the study-wide choices."""
        s = self.study
        return {"schema": KEY_SCHEMA, **s.profile_impl.key(), "model": s.model_name, "seed": self.seed,
                "scale": s.train_scale, "pooling": s.head_pooling, "lora": s.lora, "engine": ENGINE,
                "freeze_embeddings": s.freeze_embeddings, "random_weights": s.random_weights, "lr": s.learning_rate}

    def _budget(self) -> dict:
        """The study's phase-2 and evaluation budget for this run: the English training sets' sizes and
        splits, the split scored and the cap on scored sets."""
        s, chain = self.study, self.chain()
        return {"target_size": [s.target_size_of(c.name) for c in chain],
                "train_split": [s.train_split_of(c.name) for c in chain],
                "eval_split": self.eval_split, "eval_size": s.eval_size_for(self.spec)}

    @property
    def spec(self) -> TaskSpec:
        return self.study.target_spec(self.target)

    @property
    def eval_split(self) -> str:
        """The split (or slice) the target's languages are scored on: "test", or the study's ``eval_split``."""
        return dict(self.study.eval_split).get(self.target, "test")

    @property
    def eval_base(self) -> str:
        """The split ``eval_split`` slices (the file a run reads)."""
        return parse_split(self.eval_split).split

    @property
    def phase1_seed(self) -> int:
        """The seed phase 1 trains with: the run's, or the study's shared ``phase1_seed``."""
        return self.seed if self.study.phase1_seed is None else self.study.phase1_seed

    def phase1_reads(self) -> list[tuple[str, str, str]]:
        return [(t, lang, "train") for t in self.setup.tasks for lang in self.study.task_languages(self.setup, t)]

    def chain(self) -> list[TaskSpec]:
        """Phase 2's training tasks (``xltlib.engine.phases.training_chain``); empty: scored from the encoder."""
        return training_chain(self.spec, self.study.profile_impl.source_spec)

    def chain_reads(self) -> list[tuple[str, str, str]]:
        out = []
        for step in self.chain():
            out.append((step.name, "en", parse_split(self.study.train_split_of(step.name)).split))
            dev = self.study.dev_task_of(step)
            if dev:
                out.append((dev, "en", "dev"))
        return out

    def reads(self) -> list[tuple[str, str, str]]:
        """Every (task, language, split) phases 2 and 3 read (phase 1's: ``phase1_reads``)."""
        spec, out = self.spec, self.chain_reads()
        for lang in self.languages():
            out.append((spec.name, lang, self.eval_base))
            if spec.threshold_on_dev:
                out.append((spec.name, lang, "dev"))  # BUCC: the threshold is tuned on dev
        return out

    @property
    def phase2_key(self) -> str | None:
        """Key of the phase-2 fine-tuning, shared by every target with the same training chain (XQuAD, MLQA
        and XTREME-R's Tatoeba all fine-tune on SQuAD v1.1); None: no fine-tuning."""
        chain, s = self.chain(), self.study
        if not chain:
            return None
        budget = {"target_size": [s.target_size_of(c.name) for c in chain],
                  "train_split": [s.train_split_of(c.name) for c in chain],
                  "eval_size": s.eval_size}  # the English dev sets phase 2 selects on
        return "p2-" + _digest({**self._base(), "phase1": self.phase1_key, "chain": [_spec_digest(c) for c in chain],
                                "data": s.profile_impl.data_key(self.chain_reads()), **budget})

    @property
    def phase1_key(self) -> str | None:
        """Checkpoint key of the phase-1 encoder, shared by every target of this setup and seed."""
        if not self.setup.tasks:
            return None
        profile = self.study.profile_impl
        specs = [_spec_digest(profile.source_spec(t)) for t in self.setup.tasks]
        return "p1-" + _digest({**self._base(), "seed": self.phase1_seed, "setup": self.setup.key, "specs": specs,
                                "data": profile.data_key(self.phase1_reads())})

    @property
    def id(self) -> str:
        return _digest({**self._base(), "setup": self.setup.key, "phase1": self.phase1_key, "target": self.target,
                        "spec": _spec_digest(self.spec), "languages": list(self.languages()),
                        "data": self.study.profile_impl.data_key(self.reads()), **self._budget()})

    def languages(self) -> tuple[str, ...]:
        spec, wanted = self.spec, self.study.languages
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
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return (value,)
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{where}: expected a list, got {value!r}")
    return tuple(value)


def _setup_from(raw, where: str) -> Setup:
    if isinstance(raw, str):
        raw = {"name": raw, "tasks": [] if raw in ("baseline", "none") else [raw]}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a setup name or a mapping of fields, got {raw!r}")
    _check_keys(where, raw, Setup)
    raw = dict(raw)
    for key in ("tasks", "languages", "mlm_languages"):
        if key in raw:
            raw[key] = _tuple(raw[key], f"{where}.{key}")
    if "name" not in raw:
        raw["name"] = "+".join(map(str, raw.get("tasks") or ("baseline",)))
    return Setup(**raw)


def study_from_dict(data: dict, name: str = "study") -> Study:
    """Build and validate a Study; every error names the field, the value and the valid choices."""
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: a study is a mapping of fields, got {type(data).__name__}")
    _check_keys(name, data, Study)
    data = dict(data)
    raw_setups = data.pop("intermediate", None) or [{"name": "baseline"}]
    if isinstance(raw_setups, (str, dict)):  # one setup, written without the list
        raw_setups = [raw_setups]
    if not isinstance(raw_setups, (list, tuple)):
        raise ConfigError(f"intermediate: expected a list of setups, got {raw_setups!r}")
    setups = tuple(_setup_from(raw, f"intermediate[{i}]") for i, raw in enumerate(raw_setups))
    for key in ("targets", "languages", "seeds"):
        if key in data:
            data[key] = _tuple(data[key], f"{key}")
    for key in ("world", "train_on", "eval_split", "train_split", "target_size"):  # mappings, held as sorted pairs
        if isinstance(data.get(key), dict):
            data[key] = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in data[key].items()))
        elif data.get(key) is None:
            data.pop(key, None)
    study = Study(name=data.pop("name", name), intermediate=setups, **data)
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
    if isinstance(data, dict) and isinstance(data.get("local_data"), str):
        local = Path(data["local_data"]).expanduser()  # relative to the study file, wherever it is run from
        data["local_data"] = os.path.normpath(local if local.is_absolute() else path.resolve().parent / local)
    return study_from_dict(data, path.stem)


# ------------------------------------------------------------------------------------- validation
# One check per field of Study and Setup (a new field without one fails tests/test_bad_input.py): each
# returns None for a valid value, or what is wrong with it, which the error prints after the field's name.
def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _strings(v) -> bool:
    return isinstance(v, tuple) and all(isinstance(x, str) and x for x in v)


def _pairs(v, chains: bool = False) -> bool:
    """(str, str) pairs; ``chains``: the second may be a non-empty tuple of str."""
    def value_ok(x):
        return isinstance(x, str) or (chains and isinstance(x, tuple) and x and all(isinstance(t, str) for t in x))
    return isinstance(v, tuple) and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str)
                                        and value_ok(p[1]) for p in v)


def _sizes(v):
    """A size (``_size``) or (training task, size) pairs."""
    if not isinstance(v, tuple):
        return _size(v)
    if not all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in v):
        return f"expected a size or a mapping of training task -> size, got {_shown(v)!r}"
    return next((f"{task}: {problem}" for task, problem in ((k, _size(x)) for k, x in v) if problem), None)


def _shown(v):
    return list(v) if isinstance(v, tuple) else v


def _need(ok: bool, what: str):
    """A check: ``what`` a valid value is, said when ``ok(value)`` is false."""
    return lambda v: None if ok(v) else f"expected {what}, got {_shown(v)!r}"


def _one_of(choices, optional=False):
    def check(v):
        if (v is None and optional) or (isinstance(v, str) and v in choices):
            return None
        return f"{_shown(v)!r} is not one of {', '.join(map(str, choices))}"
    return check


def _size(v):
    if v is None:
        return None
    if not _is_number(v) or v <= 0:
        return f"must be a positive fraction (0 < size <= 1) or a whole count (> 1), got {v!r}"
    if v > 1 and v != int(v):
        return f"must be a fraction up to 1 or a whole count above 1, got {v!r} (neither)"
    return None


STUDY_CHECKS = {
    "name": _need(lambda v: isinstance(v, str) and v, "a non-empty string"),
    "profile": _one_of(PROFILES),
    "model": _need(lambda v: v is None or (isinstance(v, str) and v), "a model name, toy size or directory"),
    "intermediate": _need(lambda v: v and all(isinstance(s, Setup) for s in v), "a list of setups"),
    "targets": _need(lambda v: v and _strings(v), "a non-empty list of target task names"),
    "languages": _need(lambda v: v is None or (v and _strings(v)), "a list of language codes"),
    "seeds": lambda v: None if v and isinstance(v, tuple) and all(_is_int(s) and s >= 0 for s in v) and \
    len(set(v)) == len(v) else f"expected non-negative integers, each once, got {_shown(v)!r}",
    "train_scale": _need(lambda v: _is_number(v) and v > 0, "a positive number"),
    "benchmark": _one_of(tuple(BENCHMARKS), optional=True),
    "pooling": _one_of(POOLINGS, optional=True),
    "local_data": _need(lambda v: v is None or (isinstance(v, str) and Path(v).expanduser().is_dir()),
                        "an existing directory"),
    "lora": _need(lambda v: v is None or (_is_int(v) and v > 0), "a positive integer rank"),
    "phase1_seed": _need(lambda v: v is None or (_is_int(v) and v >= 0), "a non-negative integer seed"),
    "world": _need(lambda v: isinstance(v, tuple) and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str)
                                                          for p in v), "a mapping of toy world fields"),
    "retrieval_layer": _need(lambda v: v is None or v == "last" or (_is_int(v) and v >= 0),
                             "'last' or a layer index (0 = the embeddings)"),
    "retrieval_prefix": _need(lambda v: v is None or isinstance(v, str), "a string (e.g. 'query: ')"),
    "freeze_embeddings": _need(lambda v: isinstance(v, bool), "true or false"),
    "target_size": lambda v: _sizes(v),
    "eval_size": _need(lambda v: v is None or (_is_int(v) and v > 0), "a positive whole number of examples"),
    "random_weights": _need(lambda v: isinstance(v, bool), "true or false"),
    "train_on": _need(lambda v: _pairs(v, chains=True),
                      "a mapping of target -> English training task, or a non-empty list of them (the chain)"),
    "eval_split": _need(lambda v: _pairs(v) and all(_split_ok(x, ("dev", "test")) for _, x in v),
                        "a mapping of target -> dev or test, or a slice of one (e.g. dev[50%:])"),
    "train_split": _need(lambda v: _pairs(v) and all(_split_ok(x, ("train", "dev", "test")) for _, x in v),
                         "a mapping of English training task -> a split or a slice of one (e.g. dev[:50%])"),
    "learning_rate": _need(lambda v: v is None or (_is_number(v) and 0 < v < 1), "a learning rate (0 < lr < 1)"),
}
SETUP_CHECKS = {
    "name": _need(lambda v: isinstance(v, str) and v, "a non-empty string"),
    "tasks": _need(lambda v: isinstance(v, tuple) and all(isinstance(t, str) for t in v), "a list of task names"),
    "mode": _one_of(MODES),
    "sampler": _one_of(SAMPLERS),
    "temperature": _need(lambda v: _is_number(v) and v > 0, "a positive number"),
    "cap": _need(lambda v: v is None or (_is_int(v) and v > 0), "a positive whole number of examples"),
    "size": _size,
    "languages": _need(lambda v: v and _strings(v), "a non-empty list of language codes"),
    "epochs": _need(lambda v: v is None or (_is_number(v) and v > 0), "a positive number"),
    "mlm_languages": _need(lambda v: v is None or (v and _strings(v)), "a list of language codes"),
}


def _split_ok(text, splits) -> bool:
    try:
        return parse_split(text).split in splits
    except ValueError:
        return False


def _check_fields(obj, checks: dict, where: str) -> None:
    for f in dataclasses.fields(obj):
        problem = checks[f.name](getattr(obj, f.name))
        if problem:
            raise ConfigError(f"{where}{f.name}: {problem}")


def validate(study: Study) -> None:
    """Every field's type and value, the tasks and languages, and the model's name (without loading it:
    ``run_study`` checks that it can be had), before anything trains."""
    _check_fields(study, STUDY_CHECKS, "")
    for i, setup in enumerate(study.intermediate):
        _check_fields(setup, SETUP_CHECKS, f"intermediate[{i}] ({setup.name}).")
    profile = study.profile_impl  # the profile: raises for a local_data outside the xtreme profile
    if study.head_pooling not in POOLINGS:
        raise ConfigError(f"pooling: {study.head_pooling!r} is not one of {', '.join(POOLINGS)}")
    names = [s.name for s in study.intermediate]
    if len(set(names)) != len(names):
        raise ConfigError(f"intermediate: setup names must be unique, got {names}")
    seen: dict = {}
    for setup in study.intermediate:
        key = json.dumps(setup.key, sort_keys=True, default=str)
        if key in seen:
            raise ConfigError(f"intermediate: setups {seen[key]!r} and {setup.name!r} are the same experiment "
                              f"under two names (one run would serve both); keep one")
        seen[key] = setup.name
    all_langs = set()
    for target in study.targets:
        spec = _known(profile.target_spec, target, "targets")
        if spec.role != "target":
            raise ConfigError(f"targets: {target!r} is an {spec.role} task, not a target task")
        all_langs |= set(spec.languages)
    for field in ("train_on", "eval_split"):
        extra = [t for t, _ in getattr(study, field) if t not in study.targets]
        if extra:
            raise ConfigError(f"{field}: {', '.join(extra)} not among the study's targets ({', '.join(study.targets)})")
    for target, tasks in study.train_on:
        spec = profile.target_spec(target)
        chain = tasks if isinstance(tasks, tuple) else (tasks,)
        for i, task in enumerate(chain):
            train = _known(profile.source_spec, task, f"train_on.{target}")
            last = i == len(chain) - 1  # the head is trained on its labels last
            if train.format is not spec.format or (last and spec.labels and train.labels != spec.labels) or \
                    "en" not in train.train_languages:
                raise ConfigError(f"train_on.{target}: {task} ({train.format.value}) cannot train {target} "
                                  f"({spec.format.value}): it needs the same format and labels and English "
                                  f"training data")
    if isinstance(study.target_size, tuple):
        trained = {s.name for t in study.targets for s in Run(study, study.intermediate[0], t, 0).chain()}
        extra = sorted({k for k, _ in study.target_size} - trained)
        if extra:
            raise ConfigError(f"target_size: {', '.join(extra)} is no target's English training task; "
                              f"they are: {', '.join(sorted(trained))}")
    for target, split in study.eval_split:
        if parse_split(split).split not in profile.target_spec(target).splits():
            raise ConfigError(f"eval_split.{target}: {target} has no {parse_split(split).split} split")
    _check_train_split(study)
    if study.languages is not None:
        bad = [l for l in study.languages if l not in all_langs]
        if bad:
            raise ConfigError(f"languages: {', '.join(bad)} not in any target's languages; "
                              f"valid: {', '.join(sorted(all_langs))}")
    for i, setup in enumerate(study.intermediate):
        where = f"intermediate[{i}] ({setup.name})"
        for task in setup.tasks:
            spec = _known(profile.source_spec, task, f"{where}.tasks")
            if not format_of(spec).trains_head:
                raise ConfigError(f"{where}.tasks: {task!r} is a {spec.format.value} task and has no training data")
            bad = [l for l in study.task_languages(setup, task) if l not in spec.train_languages]
            if bad:
                field = "mlm_languages" if format_of(spec).raw_text else "languages"
                raise ConfigError(f"{where}.{field}: {task} has no training data in {', '.join(bad)}; "
                                  f"valid: {', '.join(spec.train_languages)}")
    size = profile.model_size()  # a model the profile cannot use; loading it (cache, mirror or Hub) is run_study's
    layers = getattr(size, "layers", None)
    if _is_int(study.retrieval_layer) and layers and study.retrieval_layer > layers:
        raise ConfigError(f"retrieval_layer: {study.retrieval_layer} is deeper than {study.model_name}'s {layers} "
                          f"layers (0 = the embeddings, {layers} or 'last' = the last)")


def _check_train_split(study: Study) -> None:
    """``train_split``'s tasks are trained in phase 2, have the split, and no target scores an item its own
    training read: a training slice and a scored slice of one set must not overlap (by position, the same
    in every language of a set translated item by item)."""
    if not study.train_split:
        return
    profile = study.profile_impl
    chains = {t: Run(study, study.intermediate[0], t, 0).chain() for t in study.targets}
    trained = {s.name for chain in chains.values() for s in chain}
    for task, split in study.train_split:
        if task not in trained:
            raise ConfigError(f"train_split: {task} is no target's English training task; they are: "
                              f"{', '.join(sorted(trained))}")
        base = parse_split(split).split
        if base != "train" and base not in profile.source_spec(task).splits():
            raise ConfigError(f"train_split.{task}: {task} has no {base} split")
    for target, chain in chains.items():
        scored = parse_split(dict(study.eval_split).get(target, "test"))
        for step in chain:
            used = parse_split(study.train_split_of(step.name))
            if step.name == profile.target_spec(target).name and used.overlaps(scored):
                raise ConfigError(f"train_split.{step.name} {used} and eval_split.{target} {scored} overlap: "
                                  f"{target} would score items its fine-tuning trained on (in English, and their "
                                  "translations); give disjoint slices, e.g. dev[:50%] and dev[50%:]")


def _known(get, task: str, where: str) -> TaskSpec:
    try:
        return get(task)
    except (KeyError, ConfigError) as exc:
        raise ConfigError(f"{where}: {exc.args[0]}") from None


def study_of(out: str | Path):
    """The study that ``xlt run`` wrote into ``out`` (``study.json``)."""
    path = Path(out) / "study.json"
    if not path.exists():
        raise ConfigError(f"{out} holds no study (no study.json): `xlt run STUDY.yaml --out {out}` starts one")
    data = json.loads(path.read_text())
    for key in ("world", "train_on", "eval_split", "train_split", "target_size"):  # pairs, held as lists
        if isinstance(data.get(key), list):
            data[key] = {k: v for k, v in data[key]}
    return study_from_dict(data, str(path))
