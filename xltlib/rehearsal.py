"""The real study rehearsed end to end on 2 CPU cores: everything real but the weights.

    $ xlt rehearsal --out rehearsal               # make rehearsal: the paper's study and all six notebooks
    $ xlt rehearsal --out rehearsal-quick --quick # every target once and every notebook once (the test suite's)

It runs ``examples/xstilts_xtreme.yaml`` (every setup, every target, every language) and the six notebooks
with ``profile = "xtreme"`` and their ``xtreme`` defaults, on the ``xtreme`` profile's own code path, with
three things swapped and nothing else:

1. data: a local Hub mirror (``XLT_HUB_MIRROR``, offline) whose repos have the Hub's exact layouts
   (``xltlib.data.mirror``), filled from a sample of XTREME's download folder (``xltlib/assets/xtreme``: real text,
   real labels) where it holds the task and language, and from small generated rows in the same schemas
   elsewhere; like the Hub, it has no CCGbank (licensed): the paper's CCG setup is added to the study and its
   runs are skipped and listed with their reason (``--skip-missing``), while the example itself needs no CCG;
2. the models: ``FacebookAI/xlm-roberta-{base,large}`` and ``facebook/xlm-roberta-{xl,xxl}`` in the mirror
   are tiny random-weight models of the same architectures with XLM-R's real tokenizer (250,002 ids;
   XL/XXL 250,880 embeddings), marked ``xlt_rehearsal.json``: every report says its weights are random;
3. budgets: ``train_scale`` (in every result row) and one seed.

It proves the plumbing — every loader, schema, target, setup, notebook default, the missing-language
reporting — never the scores: only real weights can. It exits non-zero on any failure and leaves the
results table (``<out>/xstilts_results.csv``) and the rendered reports (``<out>/reports``) behind.
"""
from __future__ import annotations

import json
import random
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path

from xltlib.data.local import LocalData
from xltlib.data.mirror import build_mirror
from xltlib.data.tokenizer import REAL_MODEL_XZ as TOKENIZER, real_tokenizer_dir
from xltlib.engine.formats import format_of
from xltlib.errors import XltError
from xltlib.experiment.results import load_results
from xltlib.experiment.runner import run_study
from xltlib.experiment.schedule import read_skipped
from xltlib.report.experiments import experiment_files, read_experiment
from xltlib.experiment.study import study_from_dict
from xltlib.hfhub import REHEARSAL_MARKER as MARKER, quiet
from xltlib.report.reports import build_reports, environ, write_index
from xltlib.registry.tasks import TaskSpec, get_benchmark, get_task, list_tasks

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = Path(__file__).resolve().parent / "assets" / "xtreme"  # package data (xltlib/assets/README.md)
# random-weight stand-ins: the real architectures and vocabularies; tiny (2 layers of width 32) or, on a GPU
# (--real-size), the real sizes: (kind, vocabulary, hidden, layers, heads, ffn) from docs/reference.md
MODELS = {
    "FacebookAI/xlm-roberta-base": ("xlm-roberta", 250002, 768, 12, 12, 3072),
    "FacebookAI/xlm-roberta-large": ("xlm-roberta", 250002, 1024, 24, 16, 4096),
    "facebook/xlm-roberta-xl": ("xlm-roberta-xl", 250880, 2560, 36, 32, 10240),
    "facebook/xlm-roberta-xxl": ("xlm-roberta-xl", 250880, 4096, 48, 32, 16384),
}
REAL_SIZE = ("FacebookAI/xlm-roberta-base", "FacebookAI/xlm-roberta-large", "facebook/xlm-roberta-xl")
# splits the sample lacks whose real text another split of it can stand in for (real rows, real labels)
BORROW = {("mnli", "train"): ("xnli", "dev"), ("squad_v1", "train"): ("xquad", "test"),
          ("squad_v1", "dev"): ("xquad", "test"), ("squad_v2", "train"): ("xquad", "test"),
          ("squad_v2", "dev"): ("xquad", "test"), ("siqa", "train"): ("siqa", "dev"),
          ("xquad", "train"): ("xquad", "test")}
PER_SPLIT = 24  # examples per generated (or sampled) split and language: enough for a few steps


def stand_in_config(repo: str, real_size: bool = False):
    """The config of a random-weight stand-in for ``repo``: its architecture and vocabulary; its real sizes
    with ``real_size`` (XXL stays tiny: 10.7 B random weights would only cost disk), else 2 layers of 32."""
    from transformers import XLMRobertaConfig, XLMRobertaXLConfig

    kind, vocab, hidden, layers, heads, ffn = MODELS[repo]
    if not (real_size and repo in REAL_SIZE):
        hidden, layers, heads, ffn = 32, 2, 2, 64
    cls = XLMRobertaXLConfig if kind == "xlm-roberta-xl" else XLMRobertaConfig
    return cls(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
               intermediate_size=ffn, max_position_embeddings=514, pad_token_id=1, bos_token_id=0, eos_token_id=2,
               type_vocab_size=1, layer_norm_eps=1e-5)


def model_dirs(mirror: Path, tokenizer_dir: Path, real_size: bool = False) -> list[Path]:
    """The four XLM-R ids as random-weight models (``stand_in_config``) with the real tokenizer, under the
    mirror, each marked as a stand-in (``xlt_rehearsal.json``)."""
    import torch
    from transformers import AutoModel, XLMRobertaTokenizer

    tokenizer = XLMRobertaTokenizer.from_pretrained(str(tokenizer_dir))
    out = []
    for repo in MODELS:
        path = Path(mirror) / repo
        marker = {"random_weights": True, "stands_in_for": repo, "real_size": real_size and repo in REAL_SIZE}
        if (path / MARKER).exists() and json.loads((path / MARKER).read_text()) == marker:
            out.append(path)
            continue
        torch.manual_seed(0)
        with quiet():
            AutoModel.from_config(stand_in_config(repo, real_size)).save_pretrained(path)
        tokenizer.save_pretrained(path)
        (path / MARKER).write_text(json.dumps(marker), encoding="utf-8")
        out.append(path)
    return out


# ------------------------------------------------------------------------------------------- data
def _generated(spec: TaskSpec, lang: str, split: str, n: int = PER_SPLIT) -> list:
    """Rows in the task's format with its labels, made up (where the sample has no real ones)."""
    rng = random.Random(f"{spec.name}/{lang}/{split}")
    words = [f"{lang}{w}" for w in ("ka", "lo", "mi", "ne", "su", "ta", "ro", "vi")]
    text = lambda k: " ".join(rng.choice(words) for _ in range(k)) + " ."  # noqa: E731
    fmt = format_of(spec)
    return [row for i in range(n) for row in fmt.made_up(spec, lang, i, text)]


def _sampled(spec: TaskSpec, lang: str, split: str, sample: Path) -> list | None:
    local = LocalData(sample)
    for task, part in ((spec.name, split), BORROW.get((spec.name, split), (None, None))):
        if task and local.holds(task, lang, part):
            examples = local.load(task, lang, part).examples
            if not format_of(spec).trains_head:  # retrieval: rows of two roles, all kept
                return examples
            ok = [e for e in examples if e.validate(spec) is None]
            return ok[:PER_SPLIT] or None
    return None


def examples_for(sample: Path):
    def examples(spec: TaskSpec, lang: str, split: str) -> list:
        return _sampled(spec, lang, split, sample) or _generated(spec, lang, split)
    return examples


def _languages(spec: TaskSpec, split: str) -> list[str]:
    if split == "train":
        return [l for l in spec.train_languages]
    return [l for l in spec.languages if split != "dev" or l not in spec.test_only]


def build(out: Path, sample: Path = SAMPLE, tokenizer: Path = TOKENIZER, real_size: bool = False) -> dict:
    """The rehearsal's mirror (data and models) under ``out``."""
    out = Path(out)
    mirror = out / "mirror"
    if not (mirror / "README.md").exists():
        specs = list_tasks() + [get_task(t, "xtreme-r") for t in get_benchmark("xtreme-r").tasks]
        build_mirror(mirror, specs, _languages, examples_for(Path(sample)))
        (mirror / "README.md").write_text(
            "A rehearsal's Hub mirror (xltlib.rehearsal): Hub layouts; rows from a sample of XTREME's download "
            "folder where it holds the task and language (MNLI and SQuAD rows stand in from XNLI / XQuAD "
            "English), generated rows elsewhere; tiny random-weight models with XLM-R's real tokenizer.\n",
            encoding="utf-8")
    model_dirs(mirror, real_tokenizer_dir(out / "tokenizer", tokenizer), real_size)
    return {"mirror": mirror}


@contextmanager
def offline_mirror(mirror: Path, cache: Path):
    """The process (and the notebook kernels it starts) reads the Hub from ``mirror`` only (offline), with
    its own datasets and model caches, one thread per process."""
    import torch

    env = {"XLT_HUB_MIRROR": str(mirror), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(cache / "hf"), "XLT_CACHE": str(cache / "xlt"),
           # the stand-ins are 32 wide: one thread each (two make their tiny matrix products ~30x slower
           # when anything else runs on the second core)
           "OMP_NUM_THREADS": "1"}

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with environ(**env):
            yield
    finally:
        torch.set_num_threads(threads)


# ------------------------------------------------------------------------------------------- running it
QUICK_STUDY = {"intermediate": ["baseline", {"name": "mnli", "tasks": ["mnli"]}],
               "languages": ["en", "de", "zh", "ar", "sw", "ja"]}  # each target keeps those it has
# the notebooks as measured in the quick rehearsal on 2 cores, longest first (05 37 s, 01 27 s, 04 21 s, 03 19 s,
# 00 19 s, 02 15 s): started in this order, no long notebook starts last while the other worker idles
LONGEST_FIRST = ["05_task_similarity_low_resource", "01_languages_diminishing_returns",
                 "04_synthetic_multilingual_vs_english_scale", "03_task_count_multitask_vs_sequential",
                 "00_xstilts_main_table", "02_intermediate_data_size"]


def _longest_first(name: str) -> int:
    return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else -1  # a notebook not measured yet: first


def rehearse(out: str | Path = "rehearsal", quick: bool = False, train_scale: float = 0.2,
             study_file: str | Path = ROOT / "examples" / "xstilts_xtreme.yaml", progress: bool = False,
             real_size: bool = False, workers: int | None = None) -> dict:
    """Build the mirror, run the study and the six notebooks on it (``workers`` notebooks at a time, longest
    first; default 2, and 1 with ``real_size``, whose costs are measurements); returns what ran and the timings.

    ``real_size`` (a GPU): XLM-R Base, Large and XL stand-ins at their real sizes (random weights), so that
    the returned ``costs`` -- each phase-1 training's seconds, peak GPU memory and checkpoint size on disk,
    each run's wall time -- measure the real engine at real sequence lengths on the real tokenizer."""
    import yaml

    out = Path(out).resolve()
    start = time.time()
    paths = build(out, real_size=real_size)
    timings = {"mirror": round(time.time() - start, 1)}
    with offline_mirror(paths["mirror"], out / "cache"):
        data = yaml.safe_load(Path(study_file).read_text(encoding="utf-8"))
        data.update(seeds=[0], train_scale=train_scale, **(QUICK_STUDY if quick else {}))
        data["intermediate"] = list(data["intermediate"]) + ["ccg"]  # the paper's, without its licensed data
        study = study_from_dict(data, "xstilts_rehearsal")
        t = time.time()
        runs_dir = out / "reports" / "runs" / "xtreme"  # shared with notebook 00, which asks for the same runs
        counts = run_study(study, runs_dir, progress=progress, skip_missing=True)
        skipped = list(read_skipped(runs_dir).values())
        table = load_results(runs_dir)
        table = table[table["run_id"].isin({r.id for r in study.runs()})]
        table.to_csv(out / "xstilts_results.csv", index=False)
        timings["study"] = round(time.time() - t, 1)
        names = [p.stem for p in experiment_files()]  # every research notebook (notebooks/<name>.yaml)
        t = time.time()
        # one call per notebook (its own reduced parameters in quick mode), ``workers`` at a time, each in a
        # process of its own (a notebook's kernel runs single-threaded: OMP_NUM_THREADS=1 above); runs that two
        # notebooks share are claimed by one and read by the other (xltlib.locking)
        with ProcessPoolExecutor(workers or (1 if real_size else 2), mp_context=get_context("spawn")) as pool:
            calls = {name: pool.submit(build_reports, "xtreme", [name], out / "reports",
                                       {"seeds": [0], "train_scale": train_scale,
                                        **(read_experiment(name).get("rehearsal", {}) if quick else {})},
                                       progress=progress)
                     for name in sorted(names, key=_longest_first)}
            pages = [page for name in names for page in calls[name].result()]
        write_index(out / "reports")  # each call wrote the index when it ended; once more with every page there
        timings["notebooks"] = round(time.time() - t, 1)
    missing = table[table["metric"] == "missing"][["target", "language", "note"]]
    targets = sorted(set(table["target"]))
    if not skipped or any(s["setup"] != "ccg" for s in skipped):
        raise XltError(f"rehearsal: expected exactly the CCG runs to be skipped, got {skipped}")
    if set(targets) != set(study.targets):
        raise XltError(f"rehearsal: targets without results: {sorted(set(study.targets) - set(targets))}")
    return {"runs": counts["runs"], "targets": targets, "missing": len(missing), "skipped": skipped,
            "pages": [str(p) for p in pages],
            "results": str(out / "xstilts_results.csv"), "seconds": timings, "costs": costs(runs_dir)}


def costs(runs_dir: Path) -> dict:
    """What each phase cost: phase-1 trainings (seconds, peak GPU memory, checkpoint size on disk) and runs'
    wall times (phase 2 and 3), from a study directory's checkpoints and results."""
    phase1 = []
    for meta in sorted(Path(runs_dir).glob("checkpoints/p1-*/xlt_phase1.json")):
        m = json.loads(meta.read_text())
        size = sum(f.stat().st_size for f in meta.parent.iterdir() if f.is_file())
        phase1.append({"tasks": "+".join(m["setup"]["tasks"]), "seconds": m["seconds"],
                       "peak_gpu_gib": m.get("peak_gpu_gib"), "checkpoint_gb": round(size / 1e9, 3)})
    table = load_results(runs_dir)
    walls = table.drop_duplicates("run_id").groupby(["model", "target"])["wall_time"].median()
    return {"phase1": phase1, "run_seconds": {f"{m} {t}": float(v) for (m, t), v in walls.items()}}
