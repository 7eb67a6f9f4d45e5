"""Executing Runs: phase 1 (cached by hash, shared by every target), phase 2 (shared by every target with
the same training data), phase 3, results.

    $ xlt run examples/toy_small.yaml --out runs/toy_small      # runs or resumes
    $ xlt results runs/toy_small > table.csv

A run's rows are written atomically when it finishes, and a phase-1 encoder when it is complete, so an
interrupted study (Ctrl-C, kill -9) loses at most the runs in progress and resumes where it stopped. A
process claims a run (a lock file) before computing it, so two ``xlt run`` on the same ``--out`` never
compute one run twice. Before anything trains, every split the study reads is loaded once (the profile's
``unreadable``): a missing or unusable file fails the study at once, naming every one (``skip_missing``:
the runs that read it are skipped and listed). Where the work runs, and in what order: ``run_study`` hands
it to ``xltlib.experiment.schedule``; ``execute`` does one unit of it (a phase-1 training or a group).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import shutil
import socket
import subprocess
import time
import traceback
from collections import defaultdict
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from xltlib import distributed
from xltlib.data.slices import parse as parse_split
from xltlib.engine.checkpoint import Checkpointer
from xltlib.engine.evaluation import predict
from xltlib.engine.features import featurize
from xltlib.engine.formats import format_of
from xltlib.engine.model import TransferModel
from xltlib.engine.phases import fine_tune_chain, intermediate_training, phase1_groups, zero_shot
from xltlib.errors import ConfigError
from xltlib.experiment import schedule
from xltlib.experiment.migrate import migrate
from xltlib.experiment.results import is_done, result_path, write_rows
from xltlib.experiment.study import Run, Setup, Study, _spec_digest
from xltlib.hfhub import quiet
from xltlib.locking import file_lock, write_atomic
from xltlib.registry.tasks import TaskSpec
from xltlib.version import ENGINE

log = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def load_tokenizer(path: str):
    """The tokenizer of a model (directory or Hub id), loaded once per process."""
    from xltlib.data import tokenizer

    return tokenizer.load_tokenizer(path)


def cut_size(n: int, size: float | None, cap: int | None = None) -> int:
    """How many of a training set's ``n`` examples a ``size`` (a fraction up to 1 or a count) and then a
    ``cap`` keep."""
    if size is not None:
        n = min(n, max(1, round(size * n) if size <= 1 else int(size)))
    return n if cap is None else min(n, cap)


def subsample_size(n: int, setup: Setup) -> int:
    """How many of a training set's ``n`` examples a setup uses (its ``size``, then its ``cap``)."""
    return cut_size(n, setup.size, setup.cap)


def _subsample(examples: list, size: float | None, seed: int, lang: str = "en", cap: int | None = None) -> list:
    n = cut_size(len(examples), size, cap)
    if n == len(examples):
        return examples
    return random.Random(f"{seed}:{lang}").sample(examples, n)  # each language its own draw


def training_data(study: Study, task: str, setup: Setup, seed: int) -> tuple[TaskSpec, list]:
    """The spec (labels from the data where the task's tag set is open: CCG) and the (capped, subsampled)
    training examples of an intermediate task, in every language of the setup."""
    spec, examples = None, []
    for lang in study.task_languages(setup, task):
        data = study.profile_impl.load(task, lang, "train")
        spec = spec or data.task
        examples += _subsample(data.examples, setup.size, seed, lang, setup.cap)
    return spec, examples


# ------------------------------------------------------------------------------------- phase 1
def _load_encoder(study: Study, path: str, seed: int = 0) -> TransferModel:
    """The encoder at ``path``: the study's base model (random weights drawn with ``seed`` where the study
    asks for them) or a phase-1 checkpoint; its word embeddings frozen where the study says so."""
    random_init = study.random_weights and path == study.profile_impl.base_model()
    model = TransferModel.from_pretrained(path, pooling=study.head_pooling, lora=study.lora, random_init=random_init,
                                          seed=seed)
    if study.freeze_embeddings:
        model.encoder.get_input_embeddings().weight.requires_grad_(False)
    return model.to(distributed.device())


def phase1(run: Run, out: Path, progress: bool = False) -> str:
    """The encoder after intermediate training (a directory), built once per setup and seed."""
    study, setup = run.study, run.setup
    if run.phase1_key is None:
        return study.profile_impl.base_model()
    final = out / "checkpoints" / run.phase1_key
    with file_lock(out / "checkpoints" / f"{run.phase1_key}.lock"):
        if (final / "xlt_phase1.json").exists():
            return str(final)
        start = time.time()
        gpu = distributed.device().type == "cuda"
        if gpu:
            import torch

            torch.cuda.reset_peak_memory_stats()
        base = study.profile_impl.base_model()
        model = _load_encoder(study, base, run.phase1_seed)
        tokenizer = load_tokenizer(base)
        feats = {}
        for task in setup.tasks:
            spec, examples = training_data(study, task, setup, run.phase1_seed)
            model.add_head(spec, seed=run.phase1_seed)
            feats[task] = featurize(spec, examples, tokenizer)
        ckpt = Checkpointer(out / "checkpoints" / f"{run.phase1_key}.resume")
        with tracker(out, run.phase1_key) as track:
            history = intermediate_training(
                model, feats, phase1_groups(setup.mode, setup.tasks), tokenizer,
                lambda task: study.train_config(feats[task].spec, run.phase1_seed, setup.epochs),
                setup.sampler, setup.temperature, progress, ckpt=ckpt, tracker=track)
        if distributed.is_main():
            tmp = final.with_name(final.name + f".tmp{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            with quiet():
                model.save_encoder(tmp)
            tokenizer.save_pretrained(tmp)
            meta = {"setup": dataclasses.asdict(setup), "seed": run.phase1_seed, "history": history, "engine": ENGINE,
                    "examples": {t: len(f.examples) for t, f in feats.items()}, "seconds": round(time.time() - start, 1),
                    "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if gpu else None}
            (tmp / "xlt_phase1.json").write_text(json.dumps(meta, indent=1))
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
        ckpt.clear()  # the encoder is saved: its training state is no longer needed
        distributed.barrier()
    return str(final)


def _stop_point(ckpt: Checkpointer) -> None:
    """Between a group's steps (after phase 1, before each scoring): a stop request (a Slurm job's time is up)
    ends the work here; what is saved stays saved and the requeued job goes on from it."""
    from xltlib.engine.checkpoint import Preempted, stop_requested

    if stop_requested():
        raise Preempted(ckpt.directory)


def tracker(out: Path, name: str):
    """Where a training's curves go live (``$XLT_REPORT_TO``: tensorboard, wandb; ``xlt run --report-to``):
    under ``DIR/tensorboard/<name>``; a tracker that logs nothing by default."""
    from xltlib.engine.tracking import make_tracker

    report_to = [x for x in os.environ.get("XLT_REPORT_TO", "").split(",") if x]
    return make_tracker(report_to, out / "tensorboard", name)


def write_curves(out: Path, run: Run, phase2: dict) -> None:
    """A run's training curves beside its results (``DIR/curves/<run id>.json``): its phase-1 training's
    (per group of tasks) and its phase-2 fine-tuning's (the chain's last step), each a list of records of
    step, loss, learning rate and, at evaluations, dev scores (``results.load_curves`` reads them)."""
    meta = out / "checkpoints" / (run.phase1_key or "") / "xlt_phase1.json"
    phase1 = json.loads(meta.read_text())["history"] if run.phase1_key and meta.exists() else []
    record = {"run_id": run.id, "setup": run.setup.name, "target": run.target, "seed": run.seed,
              "phase1": [{"tasks": g.get("tasks"), "curve": g.get("curve", [])} for g in phase1],
              "phase2": {"task": run.chain()[-1].name if run.chain() else None, "curve": phase2.get("curve", []),
                         "best_step": phase2.get("best_step")}}
    write_atomic(out / "curves" / f"{run.id}.json", json.dumps(record))


# ------------------------------------------------------------------------------------- phases 2, 3
def loader(study: Study, seed: int = 0):
    """``load(task, lang, split) -> TaskData`` over the study's data (the profile's); a split may be a slice
    (``xltlib.data.slices``: ``eval_split``), and "train" is a task's ``train_split``; English training sets
    cut to the study's ``target_size`` (the same examples for every setup of a seed: paired comparisons),
    dev and test sets of tasks other than retrieval to their first ``eval_size`` examples (parallel sets keep
    the same items in every language)."""
    def load(task: str, lang: str, split: str):
        part = parse_split(study.train_split_of(task) if split == "train" else split)
        data = study.profile_impl.load(task, lang, part.split)
        if not part.whole:  # by position: the same items in every language of a set translated item by item
            data = dataclasses.replace(data, examples=part.take(data.examples))
        if split == "train" and study.target_size_of(task) is not None:
            return dataclasses.replace(data, examples=_subsample(data.examples, study.target_size_of(task), seed, lang))
        cap = study.eval_size_for(data.task)
        if split != "train" and cap is not None:
            return dataclasses.replace(data, examples=data.examples[:cap])
        return data

    return load


MAX_ATTEMPTS = 3


def guarded_fine_tune(study: Study, encoder: str, chain: list[TaskSpec], tokenizer, load, seed: int,
                      ckpt: Checkpointer | None = None, tracker=None, progress: bool = False):
    """Phase 2 with the divergence guard. XLM-R fine-tuning can diverge (non-finite loss) or collapse to
    one class; either is reported and the run restarts from the phase-1 encoder with another seed and half
    the learning rate, up to ``MAX_ATTEMPTS`` times. A collapse on the last attempt is kept (and the number
    of retries recorded in the results); a divergence on every attempt raises FloatingPointError. ``ckpt``:
    each attempt's training state (``xltlib.engine.checkpoint``), to resume after a time limit."""
    for attempt in range(MAX_ATTEMPTS):
        s = seed + 1000 * attempt
        model = _load_encoder(study, encoder, s)

        def cfg_for(spec: TaskSpec):
            cfg = study.train_config(spec, s)
            return dataclasses.replace(cfg, lr=cfg.lr * 0.5 ** attempt,
                                       head_lr=None if cfg.head_lr is None else cfg.head_lr * 0.5 ** attempt)

        try:
            history = fine_tune_chain(model, chain, tokenizer, cfg_for, load, s, progress=progress, tracker=tracker,
                                      ckpt=None if ckpt is None else ckpt.sub(f"attempt{attempt}"),
                                      dev_of=study.dev_task_of)
        except FloatingPointError as exc:
            log.warning("%s: %s; retrying with seed %d, lr halved", chain[-1].name, exc, s + 1000)
            continue
        if attempt + 1 < MAX_ATTEMPTS and collapsed(model, chain[-1], tokenizer, load, study.dev_task_of(chain[-1])):
            log.warning("%s: predictions on English dev collapsed to one class; retrying with seed %d, lr halved",
                        chain[-1].name, s + 1000)
            continue
        return model, history, attempt
    raise FloatingPointError(f"{chain[-1].name}: training diverged in all {MAX_ATTEMPTS} attempts")


def collapsed(model, spec: TaskSpec, tokenizer, load, name: str | None) -> bool:
    """Classification / choice models that predict the same class for every English dev example (of task
    ``name``: the one that selects the model; None: no such set, nothing to check)."""
    if not format_of(spec).picks_one or name is None:
        return False
    dev = load(name, "en", "dev").examples
    preds = predict(model, spec.name, featurize(spec, dev, tokenizer), tokenizer.pad_token_id)
    return len(dev) >= 20 and len(set(preds)) == 1


def _rows(run: Run, per_lang: dict, missing: dict, dev_scores: dict | None, retries: int, wall: float) -> list[dict]:
    study, setup = run.study, run.setup
    base = {"run_id": run.id, "phase1_key": run.phase1_key or "none", "setup": setup.name,
            "intermediate": setup.label, "mode": setup.mode if len(setup.tasks) > 1 else "",
            "size": setup.size, "cap": setup.cap, "intermediate_languages": "+".join(setup.languages),
            "target": run.target, "seed": run.seed, "model": study.model_name, "lora": study.lora,
            "profile": study.profile, "train_scale": study.train_scale,
            "world": ", ".join(f"{k}={v}" for k, v in study.world), "engine": ENGINE, "wall_time": wall,
            "retries": retries}
    rows = []
    for lang, scores in per_lang.items():
        source, comparable, note = provenance(run, lang)
        rows += [{**base, "phase": "zero-shot", "language": lang, "split": run.eval_split, "metric": metric,
                  "value": float(value), "data": source, "comparable": comparable, "note": note}
                 for metric, value in scores.items()]
    for lang, reason in missing.items():
        rows.append({**base, "phase": "zero-shot", "language": lang, "split": run.eval_split, "metric": "missing",
                     "value": float("nan"), "data": "", "comparable": False, "note": reason})
    for metric, value in (dev_scores or {}).items():
        chain_last = run.chain()[-1].name
        rows.append({**base, "phase": "target-dev", "language": "en", "split": "dev", "metric": metric,
                     "value": float(value), "data": study.profile_impl.source_of(chain_last, "en", "dev"),
                     "comparable": False, "note": f"{chain_last} English dev, best checkpoint"})
    return rows


def provenance(run: Run, lang: str) -> tuple[str, bool, str]:
    """``(data, comparable, note)`` of a run's zero-shot rows in ``lang``: where the scored split is read,
    whether published numbers were computed on the same data and in the same setting, and why not."""
    study = run.study
    source, comparable, note = study.profile_impl.provenance(run.spec, lang, run.eval_split)
    trained = [f"{s.name} {study.train_split_of(s.name)}" for s in run.chain() if study.train_split_of(s.name) != "train"]
    if trained:  # English items of a split the benchmark scores: never its published setting
        comparable, note = False, "; ".join(x for x in (note, f"fine-tuned on {', '.join(trained)} (English)") if x)
    return source, comparable, note


def refresh_provenance(out: Path, runs: list[Run]) -> int:
    """The provenance columns of runs done before (``data``, ``comparable``, ``note`` of their zero-shot rows),
    derived again from the study as it is now: a result reused after its local data moved (its contents, in
    the run key, unchanged) says where the data is now. Returns the result files rewritten."""
    import pandas as pd

    rewritten = 0
    for run in runs:
        path = result_path(out, run.id)
        try:
            table = pd.read_parquet(path)
        except (OSError, ValueError):
            continue  # not done (or unreadable: computed again)
        scored = (table["phase"] == "zero-shot") & (table["metric"] != "missing")
        if not scored.any():
            continue
        now = {lang: provenance(run, lang) for lang in table.loc[scored, "language"].unique()}
        fresh = pd.DataFrame([now[lang] for lang in table.loc[scored, "language"]],
                             columns=["data", "comparable", "note"], index=table.index[scored])
        if not fresh.equals(table.loc[scored, ["data", "comparable", "note"]].astype(fresh.dtypes.to_dict())):
            table.loc[scored, ["data", "comparable", "note"]] = fresh
            write_rows(out, run.id, table.to_dict("records"))
            rewritten += 1
    return rewritten


def execute_group(runs: list[Run], out: str | Path, progress: bool = False, wait: bool = True) -> list:
    """Runs that share their phase-2 fine-tuning (the same phase-1 encoder, training data and seed): one
    fine-tuning, then each target scored and written. Each run is claimed first; one that another process
    holds is waited for (``wait``) or left out (None in the returned list); a finished one returns []."""
    out = Path(out)
    results: list = [None] * len(runs)
    with _claims(runs, out, wait) as claimed:
        todo = [i for i, ok in enumerate(claimed) if ok]
        for i in list(todo):
            if is_done(out, runs[i].id):
                results[i] = []
                todo.remove(i)
        if not todo:
            return results
        first = runs[todo[0]]
        study = first.study
        start = time.time()
        encoder = phase1(first, out, progress)
        # a phase-1 checkpoint holds its base model's tokenizer (phase1 saves it there): the base's, loaded
        # once per process, not once per checkpoint (XLM-R's takes ~2.5 s to load)
        tokenizer = load_tokenizer(study.profile_impl.base_model())
        load = loader(study, first.seed)
        chain = first.chain()
        history, retries = {}, 0
        ckpt = Checkpointer(out / "checkpoints" / f"{_model_key(first)}.resume")
        _stop_point(ckpt)
        if chain:
            with tracker(out, _model_key(first)) as track:
                model, history, retries = guarded_fine_tune(study, encoder, chain, tokenizer, load, first.seed,
                                                            ckpt, track, progress)
            head = chain[-1].name
        else:
            model, head = _load_encoder(study, encoder, first.seed), None
        trained = time.time() - start
        scored: dict = {}  # runs of a group that score one spec in the same languages read the same numbers
        for i in todo:
            _stop_point(ckpt)
            run, t0 = runs[i], time.time()
            key = scoring_key(run)
            if key not in scored:
                missing: dict[str, str] = {}
                per_lang = zero_shot(model, run.spec, tokenizer, run.languages(), load, head=head,
                                     on_missing=lambda lang, exc: missing.__setitem__(lang, str(exc)),
                                     split=run.eval_split)
                scored[key] = per_lang, missing, round(time.time() - t0, 1)
            per_lang, missing, seconds = scored[key]
            wall = round(trained + seconds, 1)
            rows = _rows(run, per_lang, missing, history.get("best_scores"), retries, wall)
            if distributed.is_main():
                write_curves(out, run, history)
                write_rows(out, run.id, rows)
            results[i] = rows
        ckpt.clear()  # every run of the group is saved: its training state is no longer needed
        distributed.barrier()
    return results


@contextmanager
def _claims(runs: list[Run], out: Path, wait: bool):
    from contextlib import ExitStack

    with ExitStack() as stack:
        yield [stack.enter_context(file_lock(out / "results" / f"{r.id}.lock", wait)) for r in runs]


def groups(runs: list[Run]) -> list[list[Run]]:
    """Runs grouped by the model they score: their phase-2 fine-tuning, or for runs scored straight from
    an encoder (retrieval) that encoder, whatever their seed (with a shared ``phase1_seed``, every seed's
    baseline and phase-1 encoder is the same one: scored once), in order."""
    by_key: dict = defaultdict(list)
    for run in runs:
        by_key[_model_key(run)].append(run)
    return list(by_key.values())


def _model_key(run: Run) -> str:
    """The model a run scores: its phase-2 fine-tuning, else (retrieval) its encoder."""
    if run.phase2_key:
        return run.phase2_key
    random_base = run.study.random_weights and run.phase1_key is None  # drawn with the run's seed
    return f"encoder-{run.phase1_key}-{run.seed if random_base else ''}"


def scoring_key(run: Run) -> tuple:
    """Runs with one scoring key read the same numbers: the same model (``groups``), spec, languages and
    split; each group scores a key once."""
    return _model_key(run), _spec_digest(run.spec), run.languages(), run.eval_split


def _duration(seconds: float) -> str:
    """"45 s", "3 min 05 s", "2 h 04 min"."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    return f"{s // 60} min {s % 60:02d} s" if s < 3600 else f"{s // 3600} h {s % 3600 // 60:02d} min"


class Progress:
    """A study's progress as lines a log can read, written to ``report`` (a stream, or a file path the lines
    are appended to; None: no lines): one each time runs finish, and one a minute (``every`` seconds) while
    none does, each with the runs done of those to compute, the time elapsed and an estimate of the time
    left. ``bar``: a tqdm bar as well (the lines are written above it)."""

    def __init__(self, label: str, total: int, report=None, bar: bool = False, every: float = 60.0):
        import threading

        from tqdm import tqdm

        self.label, self.total, self.report, self.every = label, total, report, every
        self.done, self.start = 0, time.time()
        self.last = self.start
        self.lock, self.stopped = threading.Lock(), threading.Event()
        self.bar = tqdm(total=total, desc="runs", disable=not bar)
        self.ticker = threading.Thread(target=self._tick, daemon=True) if report is not None else None
        if self.ticker:
            self.ticker.start()

    def line(self) -> str:
        elapsed = time.time() - self.start
        text = f"{self.label}: {self.done}/{self.total} runs done, {_duration(elapsed)} elapsed"
        if self.done == self.total:
            return text
        if not self.done:
            return f"{text}, time left known once a run finishes"
        return f"{text}, about {_duration(elapsed / self.done * (self.total - self.done))} left"

    def _write(self) -> None:
        self.last = time.time()
        if self.report is None:
            return
        if isinstance(self.report, (str, os.PathLike)):
            with open(self.report, "a", encoding="utf-8") as f:
                f.write(self.line() + "\n")
        else:
            self.bar.write(self.line(), file=self.report)
            self.report.flush()

    def _tick(self) -> None:
        while not self.stopped.wait(min(self.every, 5.0)):
            with self.lock:
                if time.time() - self.last >= self.every:
                    self._write()

    def update(self, n: int) -> None:
        """``n`` more runs finished."""
        with self.lock:
            self.done += n
            self.bar.update(n)
            self._write()

    def __enter__(self) -> "Progress":
        with self.lock:
            self._write()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        if self.ticker:
            self.ticker.join()
        self.bar.close()


def _writable(path: Path, what: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".xlt-write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"{what} {path} is not writable ({exc.strerror or exc})") from None


def _skips(study: Study, todo: list[Run]) -> tuple[dict, dict]:
    """The data check before training: ``(problems, skips)``. ``problems``: every split that stops a run,
    with why; ``skips``: each such run (and each run none of whose languages can be read), with why."""
    reads = sorted({x for r in todo for x in r.reads() + r.phase1_reads()})
    scored = {(r.spec.name, lang, r.eval_base) for r in todo for lang in r.languages()}
    found = study.profile_impl.unreadable(reads, scored)
    problems = {k: u.reason for k, u in found.items() if u.blocking}
    skips = {}
    for run in todo:
        bad = [f"{t} {lang}/{split}: {problems[t, lang, split]}" for t, lang, split in run.reads() + run.phase1_reads()
               if (t, lang, split) in problems]
        scored_langs = [lang for lang in run.languages() if (run.spec.name, lang, run.eval_base) not in found]
        if not bad and not scored_langs:
            bad = [f"none of {run.target}'s {len(run.languages())} language(s) can be read on the "
                   f"{run.eval_split} split"]
            problems[run.target, "*", run.eval_split] = bad[0] + " (" + "; ".join(
                sorted({found[run.spec.name, lang, run.eval_base].reason for lang in run.languages()})[:3]) + ")"
        if bad:
            skips[run.id] = {"setup": run.setup.name, "target": run.target, "seed": run.seed,
                             "reason": "; ".join(dict.fromkeys(bad))}
    return problems, skips


def execute(unit, out: str | Path, bars: bool = False, wait: bool = True) -> list:
    """Do one unit of ``xltlib.experiment.schedule`` (a phase-1 training or a group of runs) in this process,
    a pool worker or a Slurm job, recording it in the study's ledger; returns ``execute_group``'s results
    (a phase-1 training: []). ``bars``: step bars; ``wait``: see ``execute_group``. In a Slurm job a stop
    signal (time limit, preemption) saves the training state, requeues the job and ends this process."""
    from xltlib.engine import checkpoint

    out = Path(out)
    slurm_job = schedule.slurm_job_id()
    if slurm_job:
        checkpoint.install_signal_handlers()
        unit.id = unit.id or slurm_job  # pickled before its job id was known
    unit.id = unit.id or os.environ.get("SUBMITIT_LOCAL_JOB_ID", "")  # submitit's local cluster: its pid
    schedule.record(out, unit.id, state="running", pid=os.getpid(), host=socket.gethostname(),
                    gpu=os.environ.get("CUDA_VISIBLE_DEVICES"))
    try:
        if unit.kind == "phase1":
            phase1(unit.runs[0], out, bars)
            results = []
        else:
            results = execute_group(unit.runs, out, bars, wait)
    except checkpoint.Preempted as exc:
        if not slurm_job:
            raise
        schedule.record(out, unit.id, state="requeued")
        log.warning("%s: %s; requeuing Slurm job %s", unit.describe(), exc, slurm_job)
        subprocess.run(["scontrol", "requeue", slurm_job], check=True, timeout=60)
        raise SystemExit(-1) from None  # not an Exception: submitit writes no result; the requeued job runs again
    except Exception as exc:
        text = traceback.format_exc()
        schedule.record(out, unit.id, state="failed", error=schedule.last_line(text) or repr(exc))
        schedule.write_failure(out, unit, text)
        raise
    if all(r is not None for r in results):
        schedule.record(out, unit.id, state="done")
    return results


def run_study(study: Study, out: str | Path, progress: bool = True, executor: str = "local",
              slurm: dict | None = None, workers: int = 1, report=None, skip_missing: bool = False,
              detach: bool = False, share_gpus: bool = False) -> dict:
    """Run every unfinished Run of ``study`` into ``out``; returns counts (``runs``, ``already_done``,
    ``ran``, ``skipped``, ``already_queued``; with ``detach``, ``submitted``).

    Before anything trains, every split the study reads is loaded once: one error names each that cannot
    be (``skip_missing``: the runs that read them are skipped instead, listed in ``DIR/skipped.json`` and by
    ``xlt status``). Then the work is scheduled (``xltlib.experiment.schedule``): ``workers`` > 1 (local):
    that many processes, one per GPU where there are GPUs (``share_gpus``: more workers than GPUs);
    ``executor="slurm"``: Slurm jobs (``slurm``: submitit's parameters), waited for unless ``detach``.
    Runs that fail are raised together (``schedule.StudyFailed``) once the others are done. ``progress``:
    a tqdm bar; ``report``: where progress lines go (a stream or a file path, ``Progress``; None: none)."""
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers: expected a positive number of processes, got {workers}")
    if executor not in ("local", "slurm", "submitit-local"):
        raise ConfigError(f"executor {executor!r} is not one of local, slurm, submitit-local")
    if detach and executor != "slurm":
        raise ConfigError("--detach needs --executor slurm: local runs end with the process that runs them")
    out = Path(out)
    _writable(out, "--out")
    runs = study.runs()
    migrate(out, runs)  # runs done under the keys of an earlier version: renamed, not recomputed
    todo = [r for r in runs if not is_done(out, r.id)]
    pending = {r.id for r in todo}
    refresh_provenance(out, [r for r in runs if r.id not in pending])
    counts = {"runs": len(runs), "already_done": len(runs) - len(todo), "ran": 0, "skipped": 0, "already_queued": 0}
    if not todo:
        schedule.write_skipped(out, {})
        return counts
    study.profile_impl.check_model()  # the weights can be had (cache, mirror or Hub): fails in seconds if not
    problems, skips = _skips(study, todo)
    if problems and not skip_missing:
        raise ConfigError(f"{len(problems)} split(s) the study needs cannot be read, so {len(skips)} of its "
                          f"{len(todo)} runs to do cannot run; nothing was trained. --skip-missing runs the "
                          "others and lists these:\n  - "
                          + "\n  - ".join(f"{t} {lang}/{split}: {why}" for (t, lang, split), why in problems.items()))
    schedule.write_skipped(out, skips)
    todo = [r for r in todo if r.id not in skips]
    counts["skipped"] = len(skips)
    (out / "study.json").write_text(json.dumps(dataclasses.asdict(study), indent=1, default=list))
    training: dict[str, str] = {}
    held: set[str] = set()
    if executor == "slurm":
        held, training = schedule.active(out, study)
        counts["already_queued"] = len([r for r in todo if r.id in held])
        todo = [r for r in todo if r.id not in held]
    phase1_units, group_units = schedule.plan_units(groups(todo), out, training)
    with Progress(study.name, len(todo), report, progress and not detach) as bar:
        if executor == "local":
            if workers > 1 and len(phase1_units) + len(group_units) > 1:
                study.profile_impl.base_model()  # a toy model is pretrained here, once, not by every worker
            failures = schedule.run_local(execute, phase1_units, group_units, out, workers, bar, share_gpus, bars=progress)
        else:
            study.profile_impl.base_model()  # a toy model is pretrained (or weights imported) once, before the jobs
            schedule.submit(execute, phase1_units, group_units, out, executor, slurm or {}, training)
            if detach:
                counts["submitted"] = len(todo)
                return counts
            failures = schedule.wait_all(out, study, {r.id for r in todo} | held, bar)
    counts["ran"] = len(todo) - len(set(failures) - held)
    if failures:
        raise schedule.StudyFailed(failures)
    return counts
