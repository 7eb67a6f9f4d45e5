"""Where and when a study's work runs, and where each run is now.

The work of a study is two kinds of units: a **phase-1 training** (one per phase-1 encoder that does not
exist yet) and a **group** of runs that share their phase-2 fine-tuning (``runner.groups``). Phase-1
trainings start first, side by side; a group starts only once its encoder exists, so that nothing holds a
worker or a GPU while it waits for another's training.

- local, one worker: the units one after another, phase-1 trainings first.
- local, ``workers`` > 1: a pool of processes; on a machine with GPUs each worker is pinned to one visible
  GPU (its ``CUDA_VISIBLE_DEVICES`` is that GPU alone); more workers than GPUs only with ``share_gpus``.
- slurm: the phase-1 trainings as one job array, then each encoder's groups as a job array that depends
  on it (``--dependency=afterok``, ``--kill-on-invalid-dep=yes``), through submitit. With ``detach`` the
  command returns once the jobs are queued.

What was started is written to ``DIR/jobs.json`` (one record per unit: its runs, its Slurm job or its
process, its log files). ``status(DIR)`` reads it with the results, the failure records and the
scheduler (``squeue``, ``sacct``) to say of each run: ``done``, ``queued``, ``running``, ``failed`` (with
its log file and last error line), ``skipped`` (its data cannot be had) or ``todo`` (never started). A
second ``xlt run`` on the same DIR never submits a run that is queued or running. A failed unit does not
stop the others: the study finishes what it can and the failures are raised together at the end.

In a Slurm job, the stop signal Slurm sends before a time limit (``USR2``, submitit's ``--signal``) or a
preemption (``TERM``) makes training save its state at the next step and the job requeue itself; the
requeued job resumes from that state (``xltlib.engine.checkpoint``).
"""
from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from xltlib.distributed import visible_gpus
from xltlib.errors import ConfigError, XltError
from xltlib.experiment.results import is_done
from xltlib.experiment.migrate import migrate
from xltlib.experiment.study import Run, study_of  # noqa: F401 (study_of: the CLI's)
from xltlib.locking import file_lock, write_atomic

log = logging.getLogger(__name__)

STATES = ("done", "queued", "running", "failed", "skipped", "todo")


class StudyFailed(XltError):
    """Some runs failed (each named, with its log); the others finished and are saved."""

    def __init__(self, failures: dict[str, str]):
        self.failures = failures
        lines = [f"{run_id}: {why}" for run_id, why in sorted(failures.items())]
        super().__init__(f"{len(failures)} run(s) failed; the others are saved, and the same command runs the "
                         "failed ones again (`xlt status DIR` says why each failed):\n  - " + "\n  - ".join(lines[:20])
                         + (f"\n  ... and {len(lines) - 20} more" if len(lines) > 20 else ""))


# --------------------------------------------------------------------------------------------- units
@dataclass
class Unit:
    """A phase-1 training (``runs``: the first run that needs the encoder) or a group of runs; ``after``: the
    phase-1 key a group waits for (None: its encoder exists or it needs none)."""

    kind: str
    runs: list
    after: str | None = None
    id: str = ""
    job: object = field(default=None, repr=False, compare=False)  # submitit's Job, on its local cluster

    @property
    def key(self) -> str:
        return self.runs[0].phase1_key if self.kind == "phase1" else self.runs[0].id

    @property
    def run_ids(self) -> list[str]:
        return [r.id for r in self.runs]

    def describe(self) -> str:
        run = self.runs[0]
        if self.kind == "phase1":
            return f"phase 1 of {run.setup.name} (seed {run.phase1_seed})"
        targets = sorted({r.target for r in self.runs})
        return f"{run.setup.name} seed {run.seed}: {', '.join(targets)}"


def encoder_exists(out: Path, key: str | None) -> bool:
    return key is None or (out / "checkpoints" / key / "xlt_phase1.json").exists()


def plan_units(groups: list[list[Run]], out: Path, training: dict[str, str] | None = None
               ) -> tuple[list[Unit], list[Unit]]:
    """The phase-1 trainings still to do (one per key; none for a key in ``training``, a job already training
    it) and the groups, each after its encoder's training."""
    phase1: dict[str, Unit] = {}
    units = []
    for group in groups:
        key = group[0].phase1_key
        after = None
        if not encoder_exists(out, key):
            if key not in (training or {}):
                phase1.setdefault(key, Unit("phase1", [group[0]]))
            after = key
        units.append(Unit("group", group, after))
    return list(phase1.values()), units


def slurm_job_id() -> str | None:
    """This Slurm job's id as ``scontrol`` takes it (an array task's ``<array>_<task>``), or None."""
    if "SLURM_JOB_ID" not in os.environ:
        return None
    if os.environ.get("SLURM_ARRAY_JOB_ID") and os.environ.get("SLURM_ARRAY_TASK_ID"):
        return f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ['SLURM_ARRAY_TASK_ID']}"
    return os.environ["SLURM_JOB_ID"]


# ----------------------------------------------------------------------------------- the ledger
def _ledger(out: Path) -> Path:
    return out / "jobs.json"


def read_ledger(out: str | Path) -> dict[str, dict]:
    """Every unit started on DIR, by unit id, in the order started."""
    path = _ledger(Path(out))
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        log.warning("%s is not valid JSON: read as empty", path)
        return {}


def record(out: Path, unit_id: str, **fields) -> None:
    """Add ``fields`` to a unit's record (created if new), under a lock: workers and jobs write at once."""
    if not unit_id:
        return
    with file_lock(out / "jobs.lock"):
        ledger = read_ledger(out)
        ledger.setdefault(unit_id, {}).update(fields, updated=time.time())
        write_atomic(_ledger(out), json.dumps(ledger, indent=1))


def register(out: Path, unit: Unit, **fields) -> None:
    record(out, unit.id, kind=unit.kind, runs=unit.run_ids, phase1_key=unit.runs[0].phase1_key,
            after=unit.after, what=unit.describe(), submitted=time.time(), **fields)
    for run_id in unit.run_ids if unit.kind == "group" else ():
        (out / "failures" / f"{run_id}.json").unlink(missing_ok=True)


def write_failure(out: Path, unit: Unit, text: str, log_file: str | None = None) -> None:
    """A failed unit's runs: the error's last line and where the whole of it is (``DIR/logs/``)."""
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = Path(log_file) if log_file else logs / f"{unit.kind}-{unit.key}.log"
    if not log_file:
        path.write_text(text)
    record = {"error": last_line(text), "log": str(path), "unit": unit.id, "time": time.time()}
    failures = out / "failures"
    failures.mkdir(exist_ok=True)
    for run_id in unit.run_ids if unit.kind == "group" else ():
        (failures / f"{run_id}.json").write_text(json.dumps(record))


def last_line(text: str) -> str:
    """The line of a log that says what went wrong: the last that names an error, else the last one."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if any(w in line for w in ("Error", "error:", "Exception", "CANCELLED", "DUE TO TIME LIMIT", "Killed")):
            return line[:500]
    return lines[-1][:500] if lines else ""


# ------------------------------------------------------------------------------- local executor
def worker_devices(workers: int, share_gpus: bool = False) -> list[str] | None:
    """The GPU each of ``workers`` processes is given (round robin), or None on a machine without GPUs."""
    gpus = visible_gpus()
    if not gpus:
        return None
    if workers > len(gpus) and not share_gpus:
        raise ConfigError(f"--workers {workers} on {len(gpus)} visible GPU(s) ({','.join(gpus)}): one worker per "
                          f"GPU is the default; give --workers {len(gpus)}, or --share-gpus to put several "
                          "workers on one GPU")
    return [gpus[i % len(gpus)] for i in range(workers)]


def _init_worker(threads: int, slots) -> None:
    """A pool worker: ended with the process that started it (Linux: no orphan keeps a GPU or the cores after
    ``xlt run`` is killed), its share of the CPU threads and, with GPUs, its own device (set before CUDA
    starts)."""
    _die_with_parent()
    if slots is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = slots.get()
    import torch

    torch.set_num_threads(threads)


def _die_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent ends (``prctl(PR_SET_PDEATHSIG)``); elsewhere
    nothing."""
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except OSError:
        log.debug("prctl(PR_SET_PDEATHSIG) is not available: pool workers outlive a killed parent")
    if os.getppid() == 1:  # the parent ended before the request was made
        os._exit(1)


def _local_ids(units: list[Unit]) -> None:
    for i, unit in enumerate(units):
        unit.id = f"local-{os.getpid()}-{int(time.time())}-{i}"


def run_local(work, phase1: list[Unit], groups: list[Unit], out: Path, workers: int, progress,
              share_gpus: bool = False, bars: bool = False) -> dict[str, str]:
    """Every unit on this machine (module docstring), each done by ``work(unit, out, bars, wait)``
    (``runner.execute``); returns the failed runs, each with its error. ``bars``: one worker shows each
    training's step bar (phase 1, phase 2)."""
    _local_ids(phase1 + groups)
    for unit in phase1 + groups:
        register(out, unit, executor="local", state="queued", pid=os.getpid(), host=socket.gethostname())
    if workers > 1 and len(phase1) + len(groups) > 1:
        return _run_pool(work, phase1, groups, out, workers, progress, share_gpus)
    return _run_serial(work, phase1, groups, out, progress, bars)


def _dependents_failed(groups: list[Unit], key: str, why: str, out: Path, failures: dict) -> list[Unit]:
    """Mark the groups waiting on phase-1 ``key`` failed; return the others."""
    left = []
    for unit in groups:
        if unit.after == key:
            write_failure(out, unit, f"its phase-1 training failed: {why}")
            record(out, unit.id, state="failed", error=f"its phase-1 training failed: {why}")
            failures.update({rid: f"phase-1 training failed: {why}" for rid in unit.run_ids})
        else:
            left.append(unit)
    return left


def _run_serial(work, phase1: list[Unit], groups: list[Unit], out: Path, progress, bars: bool) -> dict[str, str]:
    from collections import deque

    failures: dict[str, str] = {}
    for unit in phase1:
        try:
            work(unit, out, bars)
        except Exception as exc:  # noqa: BLE001 -- recorded, the other units go on
            groups = _dependents_failed(groups, unit.key, last_line(str(exc)) or repr(exc), out, failures)
    queue = deque(groups)
    while queue:  # a group another process holds goes to the back, and is waited for when nothing else is left
        unit = queue.popleft()
        try:
            results = work(unit, out, bars, wait=not queue)
        except Exception as exc:  # noqa: BLE001 -- recorded by ``work``; the other units go on
            failures.update({rid: last_line(str(exc)) or repr(exc) for rid in unit.run_ids})
            continue
        left = [r for r, res in zip(unit.runs, results) if res is None]
        progress.update(len(unit.runs) - len(left))
        if left:
            queue.append(Unit("group", left, id=unit.id))
    return failures


def _run_pool(work, phase1: list[Unit], groups: list[Unit], out: Path, workers: int, progress,
              share_gpus: bool) -> dict[str, str]:
    """Phase-1 trainings first, then each group once its encoder exists, in ``workers`` processes of
    ``cores // workers`` threads each (the tiny toy models do not get faster with more threads: several runs
    at once are the way to use a CPU's cores), each pinned to its GPU where there are GPUs."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    workers = min(workers, len(phase1) + len(groups))
    devices = worker_devices(workers, share_gpus)
    ctx = mp.get_context("spawn")
    slots = None
    if devices is not None:
        slots = ctx.Queue()
        for d in devices:
            slots.put(d)
    threads = max(1, (os.cpu_count() or 1) // workers)
    failures: dict[str, str] = {}
    waiting: dict[str, list[Unit]] = defaultdict(list)
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(threads, slots)) as pool:
        running = {pool.submit(work, u, out): u for u in phase1}
        for unit in groups:
            if unit.after:
                waiting[unit.after].append(unit)
            else:
                running[pool.submit(work, unit, out)] = unit
        while running:
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                unit = running.pop(future)
                error = future.exception()
                if unit.kind == "phase1":
                    dependents = waiting.pop(unit.key, [])
                    if error is None:
                        running.update({pool.submit(work, u, out): u for u in dependents})
                    else:
                        why = last_line(str(error)) or repr(error)
                        _dependents_failed(dependents, unit.key, why, out, failures)
                elif error is None:
                    progress.update(len(unit.runs))
                else:
                    failures.update({rid: last_line(str(error)) or repr(error) for rid in unit.run_ids})
    return failures


# ------------------------------------------------------------------------------------------ Slurm
def submit(work, phase1: list[Unit], groups: list[Unit], out: Path, executor: str, slurm: dict,
           training: dict[str, str] | None = None) -> list[Unit]:
    """Submit the units through submitit, each a job of ``work(unit, out)`` (``runner.execute``): phase-1 trainings as one array, then each encoder's groups as an
    array that starts when that training ended well (Slurm's dependencies). Returns the units submitted,
    each ``id`` its job's. submitit's ``local`` cluster (tests) has no dependencies: its phase-1 jobs are
    waited for before their groups are submitted."""
    import submitit

    cluster = "local" if executor == "submitit-local" else "slurm"
    ex = submitit.AutoExecutor(folder=out / "submitit", cluster=cluster)
    params = dict(slurm or {})
    extra = dict(params.pop("slurm_additional_parameters", None) or {})
    ex.update_parameters(**params)

    def batch(units: list[Unit], after_job: str | None = None) -> None:
        if not units:
            return
        if cluster == "slurm":
            dep = {"dependency": f"afterok:{after_job}", "kill-on-invalid-dep": "yes"} if after_job else {}
            ex.update_parameters(slurm_additional_parameters={**extra, **dep} or None)
        with ex.batch():
            jobs = [ex.submit(work, u, out) for u in units]
        for unit, job in zip(units, jobs):
            unit.id = str(job.job_id)
            register(out, unit, executor=executor, state="submitted", job=unit.id, host=socket.gethostname(),
                      stdout=str(job.paths.stdout), stderr=str(job.paths.stderr),
                      **({"pid": unit.id} if cluster == "local" else {}))
            if cluster == "local":
                unit.job = job

    batch(phase1)
    batch([u for u in groups if not u.after])
    later = [u for u in groups if u.after]
    if cluster == "slurm":
        key_job = {**(training or {}), **{u.key: u.id for u in phase1}}
        for key in dict.fromkeys(u.after for u in later):
            batch([u for u in later if u.after == key], key_job[key])
    else:
        ok = set()
        for unit in phase1:
            try:
                unit.job.result()
                ok.add(unit.key)
            except Exception:  # noqa: BLE001 -- its failure is recorded; its groups are not submitted
                pass
        batch([u for u in later if u.after in ok])
        groups = [u for u in groups if not u.after or u.after in ok]
    return phase1 + groups


def wait_all(out: Path, study, run_ids: set[str], progress, poll: float = 5.0) -> dict[str, str]:
    """Wait until no run of ``study`` is queued or running (submitted now or before); returns those of
    ``run_ids`` that did not finish, each with why."""
    seen = {r["run_id"] for r in status(out, study) if r["state"] == "done"}
    while True:
        rows = status(out, study)
        done = {r["run_id"] for r in rows if r["state"] == "done"}
        progress.update(len(done - seen))
        seen = done
        if not any(r["state"] in ("queued", "running") for r in rows):
            return {r["run_id"]: r.get("error") or "not run" for r in rows
                    if r["run_id"] in run_ids and r["state"] in ("failed", "todo")}
        time.sleep(poll)


def _scheduler_states(job_ids: list[str]) -> dict[str, str]:
    """Slurm's state of each job (``PENDING``, ``RUNNING``, ``COMPLETED``, ``FAILED``, ``CANCELLED``,
    ``TIMEOUT``, ...): ``squeue`` for the jobs it still lists, ``sacct`` for the ones that ended; a job
    neither knows is left out."""
    if not job_ids:
        return {}
    states: dict[str, str] = {}
    try:
        q = subprocess.run(["squeue", "-h", "-r", "-o", "%i|%T|%r"], capture_output=True, text=True, timeout=60)
        for line in q.stdout.splitlines():
            jid, state, reason = (line.split("|") + ["", ""])[:3]
            states[jid.strip()] = "FAILED" if reason.strip() == "DependencyNeverSatisfied" else state.strip()
        left = [j for j in job_ids if j not in states]
        if left:
            a = subprocess.run(["sacct", "-n", "-P", "-X", "-o", "JobID,State", "-j", ",".join(left)],
                               capture_output=True, text=True, timeout=60)
            for line in a.stdout.splitlines():
                jid, _, state = line.partition("|")
                if jid.strip() in left:
                    states[jid.strip()] = state.split()[0] if state.strip() else "UNKNOWN"
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("the scheduler could not be asked (%s): job states unknown", exc)
    return states


ACTIVE = {"PENDING": "queued", "CONFIGURING": "running", "REQUEUED": "queued", "REQUEUE_HOLD": "queued",
          "REQUEUE_FED": "queued", "RESV_DEL_HOLD": "queued", "SUSPENDED": "queued", "RESIZING": "running",
          "RUNNING": "running", "COMPLETING": "running", "SIGNALING": "running", "STAGE_OUT": "running",
          "STOPPED": "running"}


def _alive(pid, host) -> bool:
    """Whether process ``pid`` of ``host`` still runs (another machine's is taken as alive)."""
    if host not in (None, socket.gethostname()):
        return True
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_text(path: str | None, limit: int = 200_000) -> str:
    try:
        with open(path, errors="replace") as f:
            f.seek(max(0, os.path.getsize(path) - limit))
            return f.read()
    except (OSError, TypeError):
        return ""


def unit_states(out: Path, ledger: dict[str, dict]) -> dict[str, tuple[str, str]]:
    """Each unit's ``(state, why)``: queued, running, done or failed."""
    jobs = [uid for uid, rec in ledger.items() if rec.get("executor") in ("slurm",)]
    sched = _scheduler_states(jobs)
    states = {}
    for uid, rec in ledger.items():
        state = rec.get("state")
        if rec.get("executor") == "slurm":
            s = sched.get(uid)
            if s in ACTIVE:
                states[uid] = ACTIVE[s], s
            elif s in ("COMPLETED",) or (s is None and state == "done"):
                states[uid] = ("done", "") if state == "done" else ("failed", rec.get("error") or "the job ended")
            elif s is not None:
                states[uid] = "failed", f"Slurm job {uid} {s}"
            elif state in ("submitted", "running", "requeued"):
                states[uid] = "failed", f"Slurm job {uid} is neither queued nor running (scheduler does not know it)"
            else:
                states[uid] = state or "failed", rec.get("error", "")
        elif state in ("submitted", "queued", "running", "requeued"):
            states[uid] = (("running" if state == "running" else "queued"), "") if _alive(rec.get("pid"), rec.get(
                "host")) else ("failed", f"its process ({rec.get('pid')}) ended before it finished")
        else:
            states[uid] = state or "failed", rec.get("error", "")
    return states


def status(out: str | Path, study=None) -> list[dict]:
    """Where every run of the study in ``out`` is (module docstring): one record per run with ``run_id``,
    ``setup``, ``target``, ``seed``, ``state``, and for a failed run ``log`` and ``error``; ``job`` where a
    Slurm job or process holds it."""
    out = Path(out)
    study = study or study_of(out)
    migrate(out, study.runs())
    ledger = read_ledger(out)
    ustates = unit_states(out, ledger)
    by_run: dict[str, str] = {}  # the latest group unit of each run
    for uid, rec in ledger.items():
        if rec.get("kind") == "group":
            for rid in rec.get("runs", ()):
                by_run[rid] = uid
    phase1_of = {rec.get("phase1_key"): uid for uid, rec in ledger.items() if rec.get("kind") == "phase1"}
    skipped = read_skipped(out)
    rows = []
    for run in study.runs():
        row = {"run_id": run.id, "setup": run.setup.name, "target": run.target, "seed": run.seed}
        uid = by_run.get(run.id)
        if is_done(out, run.id):
            row["state"] = "done"
        elif run.id in skipped:
            row.update(state="skipped", reason=skipped[run.id]["reason"])
        elif uid is None:
            row["state"] = "todo"
        else:
            state, why = ustates.get(uid, ("failed", "no record"))
            rec = ledger[uid]
            row["job"] = uid
            if state == "done":  # its unit ended well but wrote no result for this run
                state, why = "failed", "its unit ended without this run's results"
            if state == "failed":
                failure = _failure(out, run.id)
                log_file = failure.get("log") or rec.get("stderr")
                error = failure.get("error") or last_line(_read_text(rec.get("stderr"))) or why
                p1 = phase1_of.get(rec.get("phase1_key"))
                if rec.get("after") and p1 and ustates.get(p1, ("", ""))[0] == "failed":
                    log_file = log_file or ledger[p1].get("stderr")
                    error = f"its phase-1 training failed: {ustates[p1][1]}; " + error
                row.update(log=log_file, error=error or why)
            elif state == "queued" and rec.get("after") and ustates.get(phase1_of.get(rec["after"]), ("queued",))[0] \
                    in ("queued", "running"):
                row["waiting_for"] = "phase-1 training " + (phase1_of.get(rec["after"]) or rec["after"])
            row["state"] = state
        rows.append(row)
    return rows


def _failure(out: Path, run_id: str) -> dict:
    path = out / "failures" / f"{run_id}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def active(out: Path, study) -> tuple[set[str], dict[str, str]]:
    """What Slurm jobs hold now (queued or running): the runs of ``study``, and the phase-1 trainings (key ->
    job id). A second ``xlt run`` submits neither again: its groups depend on those trainings' jobs."""
    ledger = read_ledger(out)
    runs = {r["run_id"] for r in status(out, study) if r["state"] in ("queued", "running") and
            ledger.get(r.get("job", ""), {}).get("executor") == "slurm"}
    phase1 = {k: v for k, v in ledger.items() if v.get("kind") == "phase1" and v.get("executor") == "slurm"}
    states = unit_states(out, phase1)
    return runs, {rec["phase1_key"]: uid for uid, rec in phase1.items() if states[uid][0] in ("queued", "running")}


# ------------------------------------------------------------------------------------ skipped runs
def read_skipped(out: str | Path) -> dict[str, dict]:
    path = Path(out) / "skipped.json"
    return json.loads(path.read_text()) if path.exists() else {}


def write_skipped(out: Path, skipped: dict[str, dict]) -> None:
    """The runs whose data cannot be had, each with why (rewritten by every ``xlt run``: one whose data
    appeared is no longer listed)."""
    path = out / "skipped.json"
    if skipped:
        path.write_text(json.dumps(skipped, indent=1))
    else:
        path.unlink(missing_ok=True)


def format_status(rows: list[dict]) -> str:
    """A count per state, then one line per run that is not done."""
    counts = defaultdict(int)
    for r in rows:
        counts[r["state"]] += 1
    lines = [", ".join(f"{counts[s]} {s}" for s in STATES if counts[s]) + f" (of {len(rows)} runs)"]
    for r in rows:
        if r["state"] == "done":
            continue
        extra = {"failed": lambda: f"{r.get('error', '')} (log: {r.get('log')})",
                 "skipped": lambda: r.get("reason", ""),
                 "queued": lambda: f"job {r.get('job')}" + (f", waiting for {r['waiting_for']}" if r.get("waiting_for")
                                                             else ""),
                 "running": lambda: f"job {r.get('job')}"}.get(r["state"], lambda: "")()
        lines.append(f"  {r['state']:<8} {r['setup']} / {r['target']} / seed {r['seed']}  {extra}".rstrip())
    return "\n".join(lines)


def print_status(out, as_json: bool = False) -> list[dict]:
    rows = status(out)
    print(json.dumps(rows, indent=1) if as_json else format_status(rows))
    return rows
