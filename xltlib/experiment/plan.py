"""What a study costs before anything runs: runs, shared trainings, tokens per phase, projected GPU-hours.

    $ xlt plan examples/xstilts_xtreme.yaml               # a table; --json for scripts, --gpu H100|H200|A100

    plan = plan_study(load_study("examples/xstilts_xtreme.yaml"), gpu="H100")
    plan.runs, plan.trainings, plan.tokens(), plan.gpu_hours(), plan.assumptions()

The plan walks the study's own objects as the runner does: one phase-1 training per distinct
``Run.phase1_key`` (each task's examples cut by ``runner.subsample_size``, its groups by
``phases.phase1_groups``, its steps by ``train.step_budget`` at ``Study.train_config``), one fine-tuning per
distinct ``Run.phase2_key`` (each task of ``Run.chain()``, plus its dev evaluations), and every run's test
sets (``Run.reads()``). A real benchmark's data is never loaded: examples and real XLM-R tokens per example
come from ``tables/sizes.tsv`` and ``tables/lengths.tsv``, GPU time from ``tables/throughput.tsv`` (real
tokens/s per GPU, model, input shape, training or evaluation), and the model is never loaded: its sizes come
from ``tables/models.tsv`` or a local directory's ``config.json`` (``xltlib.registry.models``; a model the throughput
table lacks takes the rows of a model with the same architecture and sizes, said in a note). Every number that rests on a table row that
is not measured or verified is listed as an assumption, with the share of the GPU-hours that rests on it.
A toy study (a profile with a generated ``world``) counts its generated data with the toy tokenizer, and
has no GPU-hours: its tiny models train on CPUs.

>>> Table("throughput").rate("H100", "FacebookAI/xlm-roberta-large", "qa", "train")[0]
38800.0
"""
from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from xltlib.data.slices import parse as parse_split
from xltlib.engine.features import featurize
from xltlib.engine.formats import format_of
from xltlib.engine.multitask import sampling_probabilities
from xltlib.engine.phases import phase1_groups
from xltlib.engine.train import eval_interval, step_budget
from xltlib.errors import ConfigError
from xltlib.experiment.runner import cut_size, groups, load_tokenizer, scoring_key, subsample_size
from xltlib.cache import cache_root
from xltlib.registry.tasks import TaskSpec
from xltlib.toy.pretrain import SIZES, model_key, train_tokenizer

GPUS = ("H100", "H200", "A100")
SURE = ("measured", "verified")  # a table row whose source starts otherwise is an assumption
PHASES = ("phase1", "phase2", "eval")


@lru_cache(maxsize=None)
def table(name: str) -> tuple[dict, ...]:
    """Rows of ``xltlib/tables/<name>.tsv`` ('#' lines are its documentation)."""
    text = resources.files("xltlib").joinpath(f"tables/{name}.tsv").read_text(encoding="utf-8")
    return tuple(csv.DictReader((l for l in text.splitlines() if not l.startswith("#")), delimiter="\t"))


class Table:
    """One table's rows by their key columns; ``find`` returns the first key that has a row."""

    KEYS = {"sizes": ("task", "language", "split", "data"), "lengths": ("task", "language", "split"),
            "throughput": ("gpu", "model", "shape", "mode")}

    def __init__(self, name: str):
        self.rows = {tuple(r[k] for k in self.KEYS[name]): r for r in table(name)}

    def find(self, *keys) -> dict | None:
        return next((self.rows[k] for k in keys if k in self.rows), None)

    def rate(self, gpu: str, model: str, shape: str, mode: str) -> tuple[float, str] | None:
        """(real tokens/s, source) of ``model`` (a Hub id or directory, matched by its last part)."""
        row = self.find((gpu, Path(model).name.lower(), shape, mode))
        return (float(row["tokens_per_s"]), row["source"]) if row else None


def _assumed(what: str, row: dict) -> tuple[str, ...]:
    return () if row["source"].split(":")[0] in SURE else (f"{what}: {row['source']}",)


@dataclass(frozen=True)
class Split:
    """One (task, language, split) as the engine sees it: examples, model inputs it batches (QA: windows),
    real tokens in all of them, and the assumptions the counts rest on."""

    examples: int
    items: float
    tokens: float
    assumed: tuple[str, ...] = ()

    def cut(self, n: int) -> "Split":
        """The first ``n`` examples' share (a subsampled training set)."""
        f = n / self.examples if self.examples else 0.0
        return Split(n, self.items * f, self.tokens * f, self.assumed)


class TableCounts:
    """Counts of a real benchmark's splits from the size and length tables, without loading anything."""

    def __init__(self, backend):
        self.profile_impl, self.sizes, self.lengths = backend, Table("sizes"), Table("lengths")
        self.missing = defaultdict(list)  # (task, split, what) -> languages the tables lack: counted as nothing

    def split(self, spec: TaskSpec, lang: str, split: str) -> Split:
        task = spec.name
        data = "hub" if self.profile_impl.source_of(task, lang, split) == "hub" else "local"
        size = self.sizes.find(*((task, l, split, d) for l in (lang, "*") for d in (data, "")))
        length = self.lengths.find(*((task, l, s) for l in (lang, "*") for s in (split, "*")))
        if size is None or length is None:
            self.missing[task, split, "size" if size is None else "length"].append(lang)
            return Split(0, 0.0, 0.0)
        n, inputs = int(size["examples"]), float(length["inputs_per_example"])
        items = n * inputs if format_of(spec).windowed else n  # QA trains on windows, choices go together
        assumed = _assumed(f"examples of {task} {size['language']}/{split}", size) + \
            _assumed(f"tokens of {task} {length['language']}/{length['split']}", length)
        return Split(n, float(items), n * inputs * float(length["tokens_per_input"]), assumed)


class DataCounts:
    """Counts of a generated world's splits: its examples, featurized by the toy tokenizer (the cached toy
    model's, or the same one trained here in seconds: it is deterministic)."""

    def __init__(self, backend):
        self.profile_impl = backend
        languages = backend.world.languages
        built = cache_root() / "toy" / model_key(backend.model, languages=languages)
        if (built / "xlt_toy.json").exists():
            self.tokenizer = load_tokenizer(str(built))
        else:
            self.tokenizer = train_tokenizer(SIZES[backend.model], languages=languages)
        self.cache: dict = {}

    def split(self, spec: TaskSpec, lang: str, split: str) -> Split:
        key = (spec.name, lang, split)
        if key not in self.cache:
            data = self.profile_impl.load(spec.name, lang, split)
            items = featurize(data.task, data.examples, self.tokenizer).items
            tokens = sum(len(ids) for it in items for ids in it.get("choices", [it.get("input_ids")]))
            self.cache[key] = Split(len(data.examples), float(len(items)), float(tokens))
        return self.cache[key]


@dataclass(frozen=True)
class Part:
    """Tokens one phase spends on one task: ``key`` is the phase-1 setup or the phase-2 chain."""

    phase: str
    key: str
    shape: str
    mode: str  # train | eval
    tokens: float
    assumed: tuple[str, ...] = ()


def _trained(study, sizes: dict[str, Split], first: TaskSpec, seed: int, epochs, sampler="proportional",
             temperature=2.0) -> dict[str, float]:
    """Tokens trained per task of one training loop, at the runner's budget (``step_budget``) and mix."""
    cfg = study.train_config(first, seed, epochs)
    items = {t: max(1, round(s.items)) for t, s in sizes.items()}
    _, per_epoch, total = step_budget(list(items.values()), cfg)
    passes = total * cfg.grad_accum / per_epoch  # epochs as budgeted (max_steps may cut them)
    probs = sampling_probabilities(items, sampler, temperature)
    n = sum(items.values())
    return {t: probs[t] * n * passes * (s.tokens / s.items if s.items else 0.0) for t, s in sizes.items()}


def _phase1(study, run, counts) -> list[Part]:
    setup, spec = run.setup, study.profile_impl.source_spec
    per_task: dict[str, list[Split]] = defaultdict(list)
    for task, lang, split in run.phase1_reads():
        s = counts.split(spec(task), lang, split)
        per_task[task].append(s.cut(subsample_size(s.examples, setup)))
    sizes = {t: Split(sum(s.examples for s in v), sum(s.items for s in v), sum(s.tokens for s in v),
                      tuple(dict.fromkeys(a for s in v for a in s.assumed))) for t, v in per_task.items()}
    parts = []
    for group in phase1_groups(setup.mode, setup.tasks):
        tokens = _trained(study, {t: sizes[t] for t in group}, spec(group[0]), run.seed, setup.epochs,
                          setup.sampler, setup.temperature)
        parts += [Part("phase1", setup.name, format_of(spec(t)).shape, "train", tokens[t], sizes[t].assumed)
                   for t in group]
    return parts


def _phase2(study, run, counts) -> list[Part]:
    chain, parts = run.chain(), []
    key = "+".join(s.name for s in chain)
    for step in chain:
        part = parse_split(study.train_split_of(step.name))  # the study's train_split (a slice of a split)
        s = _sliced(counts.split(step, "en", part.split), part)
        s = s.cut(cut_size(s.examples, study.target_size_of(step.name)))  # the study's target_size
        parts.append(Part("phase2", key, format_of(step).shape, "train",
                          _trained(study, {step.name: s}, step, run.seed, None)[step.name], s.assumed))
        if study.dev_task_of(step):
            cfg = study.train_config(step, run.seed)
            _, per_epoch, total = step_budget([max(1, round(s.items))], cfg)
            evals = math.ceil(total / eval_interval(per_epoch, cfg))  # every interval, and after the last step
            if step is chain[-1] and format_of(step).picks_one:
                evals += 1  # runner.collapsed: one more pass over English dev
            d = _scored(study, step, counts.split(step, "en", "dev"))
            parts.append(Part("eval", key, format_of(step).shape, "eval", evals * d.tokens, d.assumed))
    return parts


def _evaluation(study, run, counts) -> list[Part]:
    """Each target's test sets in every language, and BUCC's dev threshold pass: ``Run.reads()`` after the
    chain's own reads."""
    spec, part = run.spec, parse_split(run.eval_split)
    return [Part("eval", spec.name, format_of(spec).shape, "eval", s.tokens, s.assumed)
            for s in (_scored(study, spec, _sliced(counts.split(spec, lang, split), part if split == part.split else None))
                      for _, lang, split in run.reads()[len(run.chain_reads()):])]


def _sliced(s: Split, part) -> Split:
    """The examples of a split that a slice keeps (None or the whole split: all)."""
    if part is None or part.whole:
        return s
    lo, hi = part.bounds(s.examples)
    return s.cut(max(0, hi - lo))


def _scored(study, spec: TaskSpec, s: Split) -> Split:
    """A dev or test split as the runner scores it: its first ``eval_size`` examples (not retrieval)."""
    cap = study.eval_size_for(spec)
    return s if cap is None else s.cut(min(s.examples, cap))


@dataclass
class Plan:
    study: str
    profile: str
    model: str
    gpu: str
    runs: int
    trainings: dict
    parts: list[Part]
    rates: dict = field(default_factory=dict)  # (shape, mode) -> (tokens/s, source); empty: no GPU-hours
    notes: list[str] = field(default_factory=list)
    size: object = None  # the model's sizes (xltlib.registry.models.ModelSize), read without loading it
    gpus: int = 1
    # the units the scheduler runs (xltlib.experiment.schedule): phase-1 trainings by key, then groups of runs
    # (each after its phase-1 key, or None), as indices into ``parts``
    units: list = field(default_factory=list)  # (name, after, [part indices])

    def tokens(self, phase: str | None = None) -> float:
        return sum(p.tokens for p in self.parts if phase in (None, p.phase))

    def hours(self, part: Part) -> float | None:
        return part.tokens / self.rates[part.shape, part.mode][0] / 3600 if self.rates else None

    def gpu_hours(self, phase: str | None = None) -> float | None:
        return sum(self.hours(p) for p in self.parts if phase in (None, p.phase)) if self.rates else None

    def assumptions(self) -> list[tuple[float, str]]:
        """(share, what) for every assumption: the share of GPU-hours (toy: of tokens) resting on it."""
        weight = self.hours if self.rates else (lambda p: p.tokens)
        total, share = sum(map(weight, self.parts)) or 1.0, defaultdict(float)
        for p in self.parts:
            rate = self.rates.get((p.shape, p.mode))
            derived = (f"{self.gpu} {Path(self.model).name} {p.shape} {p.mode} tokens/s: {rate[1]}",) \
                if rate and rate[1].split(":")[0] not in SURE else ()
            for what in p.assumed + derived:
                share[what] += weight(p) / total
        return sorted(((v, k) for k, v in share.items()), reverse=True)

    def by_key(self, phase: str) -> dict[str, tuple[float, float | None]]:
        """Per setup (phase 1) or chain (phase 2): (tokens, GPU-hours) of one training of it."""
        seen: dict[str, list[Part]] = defaultdict(list)
        for p in self.parts:
            if p.phase == phase:
                seen[p.key].append(p)
        n = self.trainings[phase]
        return {key: (sum(p.tokens for p in parts) / n[key],
                      sum(self.hours(p) for p in parts) / n[key] if self.rates else None)
                for key, parts in seen.items()}

    def wall_hours(self, gpus: int | None = None) -> float | None:
        """Hours from start to end on ``gpus`` GPUs (default: the plan's), as the scheduler runs the units:
        phase-1 trainings first, longest first, each group once its encoder exists, on the first free GPU."""
        if not self.rates:
            return None
        import heapq

        gpus = gpus or self.gpus
        hours = {name: sum(self.hours(self.parts[i]) for i in idx) for name, _, idx in self.units}
        after = {name: a for name, a, _ in self.units}
        ready = sorted((n for n in hours if after[n] is None), key=lambda n: (not n.startswith("p1-"), -hours[n]))
        waiting = defaultdict(list)
        for n in hours:
            if after[n] is not None:
                waiting[after[n]].append(n)
        free = [0.0] * gpus  # when each GPU is next free
        done: list[tuple[float, str]] = []  # (end, unit) of the units started
        clock, end = 0.0, 0.0
        while ready or done:
            while ready and free and min(free) <= clock:
                heapq.heappop(free)
                unit = ready.pop(0)
                heapq.heappush(done, (clock + hours[unit], unit))
            clock, unit = heapq.heappop(done)
            end = max(end, clock)
            heapq.heappush(free, clock)
            ready += sorted(waiting.pop(unit, []), key=lambda n: -hours[n])
            ready.sort(key=lambda n: (not n.startswith("p1-"), -hours[n]))
        return end

    def to_json(self) -> dict:
        def per(phase):
            return {k: {"tokens": round(t), "gpu_hours": h} for k, (t, h) in self.by_key(phase).items()}

        size = self.size
        return {"study": self.study, "profile": self.profile, "model": self.model, "gpu": self.gpu, "runs": self.runs,
                "model_size": {k: getattr(size, k) for k in ("architecture", "layers", "hidden", "heads", "ffn",
                                                             "vocab", "parameters", "source")} if size else None,
                "trainings": {ph: sum(self.trainings[ph].values()) for ph in ("phase1", "phase2")},
                "tokens": {ph: round(self.tokens(ph)) for ph in PHASES}, "gpu_hours": self.gpu_hours(),
                "gpus": self.gpus, "wall_hours": self.wall_hours(),
                "hours": {ph: self.gpu_hours(ph) for ph in PHASES} if self.rates else None,
                "per_setup": per("phase1"), "per_fine_tuning": per("phase2"),
                "assumptions": [{"share": round(s, 4), "what": w} for s, w in self.assumptions()], "notes": self.notes}


def plan_study(study, gpu: str = "H100", gpus: int = 1) -> Plan:
    """Count ``study``'s runs, trainings and tokens; project GPU-hours on ``gpu`` and the wall time on ``gpus``
    of them (real benchmarks only)."""
    if gpu not in GPUS:
        raise ConfigError(f"--gpu: {gpu!r} is not one of {', '.join(GPUS)}")
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1:
        raise ConfigError(f"--gpus: expected a positive number of GPUs, got {gpus!r}")
    backend = study.profile_impl
    toy = getattr(backend, "world", None) is not None
    counts = DataCounts(backend) if toy else TableCounts(backend)
    runs, parts, trainings = study.runs(), [], {"phase1": defaultdict(int), "phase2": defaultdict(int)}

    done1, done2, scored = set(), set(), set()
    p1_parts, run_parts = {}, defaultdict(list)  # which parts each phase-1 training and each run adds

    def add(new: list[Part]) -> list[int]:
        parts.extend(new)
        return list(range(len(parts) - len(new), len(parts)))

    for run in runs:
        if run.phase1_key and run.phase1_key not in done1:
            done1.add(run.phase1_key)
            trainings["phase1"][run.setup.name] += 1
            p1_parts[run.phase1_key] = add(_phase1(study, run, counts))
        if run.phase2_key and run.phase2_key not in done2:
            done2.add(run.phase2_key)
            trainings["phase2"]["+".join(s.name for s in run.chain())] += 1
            run_parts[run.id] += add(_phase2(study, run, counts))
        if scoring_key(run) not in scored:  # the runner scores a model once per spec and languages
            scored.add(scoring_key(run))
            run_parts[run.id] += add(_evaluation(study, run, counts))
    units = [(key, None, idx) for key, idx in p1_parts.items()]
    units += [(f"group-{g[0].id}", g[0].phase1_key, [i for r in g for i in run_parts[r.id]]) for g in groups(runs)]
    plan = Plan(study.name, study.profile, study.model_name, gpu, len(runs), trainings, parts,
                size=backend.model_size(), gpus=gpus, units=units)
    if plan.size.note:
        plan.notes.append(plan.size.note)
    if toy:
        plan.notes.append("GPU-hours do not apply: the toy profile's tiny models train on CPU cores "
                          "(docs/benchmarks.md, 'The toy main job'); tokens are the toy tokenizer's")
        return plan
    plan.notes += [f"not counted: {task} {split} in {' '.join(sorted(set(langs)))} (no {what} in tables/{what}s.tsv)"
                   for (task, split, what), langs in sorted(counts.missing.items())]
    plan.rates = _rates(plan, gpu, study.model_name)
    twin = plan.size.same_as()
    if not plan.rates and twin:
        plan.rates = _rates(plan, gpu, twin)
        if plan.rates:
            plan.notes.append(f"throughput: {twin}'s rows in tables/throughput.tsv, the same architecture and "
                              f"sizes as {study.model_name} (tables/models.tsv)")
    if not plan.rates:
        plan.notes.append(f"no throughput for model {study.model_name} on {gpu} in tables/throughput.tsv "
                          f"(its models: xlm-roberta-base/-large/-xl/-xxl, and models of their sizes): no GPU-hours")
    if study.lora:
        plan.notes.append("lora: training throughput taken as full fine-tuning's (adapters skip the weight "
                          "gradients: up to ~1.5x faster per token, not measured)")
    return plan


def _rates(plan: Plan, gpu: str, model: str) -> dict:
    """(shape, mode) -> (tokens/s, source) of ``model`` for every part of the plan; {} if one is missing."""
    table = Table("throughput")
    rates = {(p.shape, p.mode): table.rate(gpu, model, p.shape, p.mode) for p in plan.parts}
    return {} if None in rates.values() else rates


# ------------------------------------------------------------------------------------- table form
def _tok(x: float) -> str:
    return f"{x / 1e9:.2f} B" if x >= 1e9 else f"{x / 1e6:.1f} M" if x >= 1e5 else f"{x:,.0f}"


def format_plan(plan: Plan, top: int = 12) -> str:
    n1, n2 = (sum(plan.trainings[p].values()) for p in ("phase1", "phase2"))
    hours = bool(plan.rates)
    size = plan.size
    lines = [f"{plan.study}: profile {plan.profile}, model {plan.model}" + (f", on one {plan.gpu}" if hours else ""),
             f"  model: {size.architecture}, {size.layers} layers, hidden {size.hidden}"
             + (f", {size.parameters / 1e6:,.0f} M parameters" if size.parameters else "")
             + f" ({size.source.split(':')[0]})" if size and size.known else "  model: sizes unknown (see the notes)",
             f"  runs {plan.runs}; phase-1 trainings {n1} (distinct phase1_key); phase-2 fine-tunings {n2} "
             f"(distinct phase2_key: targets with one training chain share it)", "",
             f"  {'phase':<22}{'real tokens':>14}{plan.gpu + '-hours' if hours else '':>14}"]
    for ph, label in zip(PHASES, ("phase 1 (intermediate)", "phase 2 (fine-tuning)", "evaluation (forward)")):
        lines.append(f"  {label:<22}{_tok(plan.tokens(ph)):>14}{f'{plan.gpu_hours(ph):,.1f}' if hours else '':>14}")
    lines.append(f"  {'total':<22}{_tok(plan.tokens()):>14}{f'{plan.gpu_hours():,.1f}' if hours else '':>14}")
    if hours:
        lines.append(f"  wall time on {plan.gpus} {plan.gpu}{'s' if plan.gpus > 1 else ''}: {plan.wall_hours():,.1f} h "
                     "(phase-1 trainings first, each fine-tuning once its encoder exists; --gpus N)")
    for ph, what in (("phase1", "phase-1 setup"), ("phase2", "fine-tuning chain")):
        rows = plan.by_key(ph)
        if rows:
            lines += ["", f"  {'one ' + what:<30}{'trainings':>10}{'real tokens':>14}{'hours' if hours else '':>10}"]
            lines += [f"  {k:<30}{plan.trainings[ph][k]:>10}{_tok(t):>14}{f'{h:,.1f}' if hours else '':>10}"
                      for k, (t, h) in rows.items()]
    found = plan.assumptions()
    if found:
        basis = "GPU-hours" if hours else "tokens"
        lines += ["", f"  assumptions (table rows not measured or verified; share of the {basis} resting on each):"]
        lines += [f"  {s:6.1%}  {w}" for s, w in found[:top]]
        if len(found) > top:
            lines.append(f"  ... and {len(found) - top} more, each under {found[top - 1][0]:.1%} (--json lists all)")
    lines += [f"  note: {n}" for n in plan.notes]
    return "\n".join(line.rstrip() for line in lines)
