"""Executing Runs: phase 1 (cached by hash, shared by every target), phase 2, phase 3, results.

    $ xlt run examples/toy_small.yaml --out runs/toy_small      # runs or resumes
    $ xlt results runs/toy_small > table.csv

A run's rows are written atomically when it finishes, and a phase-1 encoder when it is complete, so an
interrupted study (Ctrl-C, kill -9) loses at most the run in progress and resumes where it stopped.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import random
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from xltlib import distributed
from xltlib.data import load_examples
from xltlib.errors import ConfigError
from xltlib.features import featurize
from xltlib.model import TransferModel
from xltlib.evaluate import predict
from xltlib.phases import dev_task, fine_tune_target, zero_shot
from xltlib.results import is_done, write_rows
from xltlib.study import Run, Study
from xltlib.tasks import Format, TaskSpec, get_benchmark, get_task
from xltlib.train import TrainConfig


log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------- profile plumbing
def data_source(study: Study):
    if study.profile == "xtreme":
        return "hub"
    from xltlib.toy.data import ToyWorld

    return ToyWorld.smoke() if study.profile == "smoke" else ToyWorld()


def load_split(study: Study, task: str, lang: str, split: str, benchmark: str | None = None):
    """A split from the study's data: the toy world, or ``local_data`` where it has the task, else the Hub."""
    source = data_source(study)
    if study.local_data and (Path(study.local_data) / task).is_dir():
        source = study.local_data
    return load_examples(task, lang, split, source=source, benchmark=benchmark)


def source_spec(study: Study, task: str) -> TaskSpec:
    if study.profile == "xtreme":
        return get_task(task)
    from xltlib.toy.data import toy_spec

    return toy_spec(task)


def target_spec(study: Study, task: str) -> TaskSpec:
    if study.profile == "xtreme" and study.benchmark:
        return get_task(task, study.benchmark)
    return source_spec(study, task)


def train_config(study: Study, spec: TaskSpec, seed: int, epochs: float | None = None) -> TrainConfig:
    if study.profile == "xtreme":  # jiant's XTREME recipe (FACTS.md)
        cfg = TrainConfig(lr=1e-5, epochs=spec.epochs, batch_size=spec.batch_size, seed=seed)
    else:
        from xltlib.toy.check import toy_train_config

        cfg = toy_train_config(spec.name, seed)
    return dataclasses.replace(cfg, epochs=(epochs or cfg.epochs) * study.train_scale)


def base_model(study: Study) -> str:
    if study.profile == "xtreme":
        return study.model_name
    from xltlib.toy.pretrain import toy_model

    return str(toy_model(study.model_name, progress=False))


def load_tokenizer(path: str):
    from transformers import AutoTokenizer

    from xltlib.hub import load_pretrained

    return load_pretrained(AutoTokenizer, path)


def subsample_size(n: int, setup) -> int:
    """How many of a training set's ``n`` examples a setup uses (its ``size``, then its ``cap``)."""
    if setup.size is not None:
        n = min(n, max(1, round(setup.size * n) if setup.size <= 1 else int(setup.size)))
    return n if setup.cap is None else min(n, setup.cap)


def _subsample(examples: list, setup, seed: int, lang: str = "en") -> list:
    n = subsample_size(len(examples), setup)
    if n == len(examples):
        return examples
    return random.Random(f"{seed}:{lang}").sample(examples, n)  # each language its own draw


def training_examples(study: Study, task: str, setup, seed: int) -> list:
    """The (capped, subsampled) training data of an intermediate task, in every language of the setup."""
    examples = []
    for lang in setup.languages:
        data = load_split(study, task, lang, "train")
        examples += _subsample(data.examples, setup, seed, lang)
    return examples


# ------------------------------------------------------------------------------------- phase 1
@contextmanager
def _lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    if distributed.is_distributed():  # the processes of one DDP job build it together, in lockstep
        yield
        return
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # concurrent runs (Slurm array, local pool) build a checkpoint once
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def phase1(run: Run, out: Path, progress: bool = False) -> str:
    """The encoder after intermediate training (a directory), built once per setup and seed."""
    study, setup = run.study, run.setup
    if run.phase1_key is None:
        return base_model(study)
    final = out / "checkpoints" / run.phase1_key
    with _lock(out / "checkpoints" / f"{run.phase1_key}.lock"):
        if (final / "xlt_phase1.json").exists():
            return str(final)
        from xltlib.multitask import train_multitask

        start = time.time()
        base = base_model(study)
        model = TransferModel.from_pretrained(base, pooling=study.head_pooling, lora=study.lora).to(distributed.device())
        tokenizer = load_tokenizer(base)
        feats = {}
        for task in setup.tasks:
            spec = source_spec(study, task)
            model.add_head(spec, seed=run.seed)
            feats[task] = featurize(spec, training_examples(study, task, setup, run.seed), tokenizer)
        groups = [list(setup.tasks)] if setup.mode == "multitask" else [[t] for t in setup.tasks]
        history = []
        for group in groups:
            spec = source_spec(study, group[0])
            cfg = train_config(study, spec, run.seed, setup.epochs)
            h = train_multitask(model, {t: feats[t] for t in group}, tokenizer, cfg, setup.sampler,
                                setup.temperature, progress)
            history.append({"tasks": group, "steps": h["steps"], "final_loss": sum(h["losses"][-20:]) / len(h["losses"][-20:])})
        if distributed.is_main():
            tmp = final.with_name(final.name + f".tmp{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            model.save_encoder(tmp)
            tokenizer.save_pretrained(tmp)
            meta = {"setup": dataclasses.asdict(setup), "seed": run.seed, "history": history,
                    "seconds": round(time.time() - start, 1)}
            (tmp / "xlt_phase1.json").write_text(json.dumps(meta, indent=1))
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
        distributed.barrier()
    return str(final)


# ------------------------------------------------------------------------------------- phases 2, 3
def loader(study: Study):
    """``load(task, lang, split)`` over the study's data; a benchmark's variant only for its own tasks."""
    bench = get_benchmark(study.benchmark) if study.benchmark else None

    def load(task: str, lang: str, split: str) -> list:
        benchmark = study.benchmark if bench and task in bench.tasks else None
        return load_split(study, task, lang, split, benchmark).examples

    return load


MAX_ATTEMPTS = 3


def guarded_fine_tune(study: Study, encoder: str, spec: TaskSpec, tokenizer, load, seed: int):
    """Phase 2 with the divergence guard. XLM-R fine-tuning can diverge (non-finite loss) or collapse to
    one class; either is reported and the run restarts from the phase-1 encoder with another seed and half
    the learning rate, up to ``MAX_ATTEMPTS`` times. After the last attempt its result is kept (and the
    number of retries recorded in the results), so that one unstable run does not stop a sweep."""
    for attempt in range(MAX_ATTEMPTS):
        model = TransferModel.from_pretrained(encoder, pooling=study.head_pooling, lora=study.lora).to(distributed.device())
        cfg = train_config(study, spec, seed + 1000 * attempt)
        cfg = dataclasses.replace(cfg, lr=cfg.lr * 0.5 ** attempt)
        try:
            history = fine_tune_target(model, spec, tokenizer, cfg, load, seed + 1000 * attempt)
        except FloatingPointError as exc:
            log.warning("%s: %s; retrying with seed %d, lr %.2g", spec.name, exc, seed + 1000 * (attempt + 1), cfg.lr / 2)
            continue
        if attempt + 1 < MAX_ATTEMPTS and collapsed(model, spec, tokenizer, load):
            log.warning("%s: predictions on English dev collapsed to one class; retrying with seed %d, lr %.2g",
                        spec.name, seed + 1000 * (attempt + 1), cfg.lr / 2)
            continue
        return model, history, attempt
    raise FloatingPointError(f"{spec.name}: training diverged in all {MAX_ATTEMPTS} attempts")


def collapsed(model, spec: TaskSpec, tokenizer, load) -> bool:
    """Classification / choice models that predict the same class for every English dev example."""
    if spec.format not in (Format.CLASSIFICATION, Format.MULTIPLE_CHOICE):
        return False
    dev = load(dev_task(spec), "en", "dev")
    preds = predict(model, spec.name, featurize(spec, dev, tokenizer), tokenizer.pad_token_id)
    return len(dev) >= 20 and len(set(preds)) == 1


def execute(run: Run, out: str | Path, progress: bool = False) -> list[dict]:
    """Run one Run (or nothing, if its results exist) and write its rows; returns them."""
    out = Path(out)
    if is_done(out, run.id):
        return []
    study = run.study
    start = time.time()
    encoder = phase1(run, out, progress)
    spec = target_spec(study, run.target)
    tokenizer = load_tokenizer(encoder)
    load = loader(study)
    dev_score, retries = None, 0
    if spec.format is not Format.RETRIEVAL:
        model, history, retries = guarded_fine_tune(study, encoder, spec, tokenizer, load, run.seed)
        dev_score = history["best"]
    else:
        model = TransferModel.from_pretrained(encoder, pooling=study.head_pooling).to(distributed.device())
        if spec.encoder_from not in ("intermediate", "target"):  # XTREME-R: Tatoeba after SQuAD fine-tuning
            first = source_spec(study, spec.encoder_from)
            model, _, retries = guarded_fine_tune(study, encoder, first, tokenizer, load, run.seed)
    per_lang = zero_shot(model, spec, tokenizer, run.languages(), load)
    wall = round(time.time() - start, 1)
    base = {"run_id": run.id, "config_hash": run.phase1_key or "none", "phase": "zero-shot", "setup": run.setup.name,
            "intermediate": "+".join(run.setup.tasks) or "none", "mode": run.setup.mode if len(run.setup.tasks) > 1 else "",
            "target": run.target, "seed": run.seed, "model": study.model_name, "profile": study.profile,
            "wall_time": wall, "retries": retries}
    rows = [{**base, "language": lang, "split": "test", "metric": metric, "value": float(value)}
            for lang, scores in per_lang.items() for metric, value in scores.items()]
    if dev_score is not None:
        rows.append({**base, "phase": "target-dev", "language": "en", "split": "dev", "metric": spec.metrics[0],
                     "value": float(dev_score)})
    if distributed.is_main():
        write_rows(out, run.id, rows)
    distributed.barrier()
    return rows


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _run_pool(todo: list[Run], out: Path, workers: int, progress: bool) -> None:
    """Runs in ``workers`` processes of ``cores // workers`` threads each. The tiny toy models do not get
    faster with more threads (measured: one run, 1 vs 2 threads, the same time), so on CPU several runs
    at once are the way to use the cores. Phase-1 encoders are still built once (file lock)."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    from tqdm import tqdm

    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                             initargs=(threads,)) as pool:
        futures = [pool.submit(execute, run, out) for run in todo]
        with tqdm(total=len(futures), desc="runs", disable=not progress) as bar:
            for f in futures:
                f.add_done_callback(lambda _: bar.update())
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for f in pending:
                f.cancel()
            for f in done:
                f.result()  # re-raises a failed run's error (finished runs are saved: a re-run resumes)


def run_study(study: Study, out: str | Path, progress: bool = True, executor: str = "local",
              slurm: dict | None = None, workers: int = 1) -> dict:
    """Run every unfinished Run of ``study`` into ``out``; returns counts (done before, run now).

    ``workers`` > 1 (local executor): that many runs at once, in separate processes."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "study.json").write_text(json.dumps(dataclasses.asdict(study), indent=1, default=list))
    runs = study.runs()
    todo = [r for r in runs if not is_done(out, r.id)]
    if workers < 1:
        raise ConfigError(f"workers: expected a positive number of processes, got {workers}")
    if executor == "local" and workers > 1 and len(todo) > 1:
        base_model(study)  # a toy model is pretrained here, once, not by every worker
        _run_pool(todo, out, min(workers, len(todo)), progress)
    elif executor == "local":
        from tqdm import tqdm

        for run in tqdm(todo, desc=f"study {study.name}", disable=not progress):
            execute(run, out, progress=False)
    elif executor in ("slurm", "submitit-local"):
        import submitit

        folder = out / "submitit"
        ex = submitit.AutoExecutor(folder=folder, cluster="local" if executor == "submitit-local" else "slurm")
        ex.update_parameters(**(slurm or {}))
        jobs = ex.map_array(execute, todo, [out] * len(todo))
        for job in jobs:
            job.result()  # re-raises a failed run's error
    else:
        raise ConfigError(f"executor {executor!r} is not one of local, slurm, submitit-local")
    return {"runs": len(runs), "already_done": len(runs) - len(todo), "ran": len(todo)}
