"""Helpers the research notebooks share, so that the notebooks stay thin.

    profile, runs_dir, out = setup(profile, runs_dir, out_dir)
    table = run(study_dict, runs_dir)        # runs (or loads cached) the study; its tidy results
    p = fill(DEFAULTS[profile], seeds=seeds)  # parameters left at None take the profile's default
    banner(profile)                          # what the numbers are about, as Markdown
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

PROFILE_ENV = "XLT_NOTEBOOK_PROFILE"  # nbval in CI runs the notebooks as they are, on this profile

BANNERS = {
    "smoke": "**Profile `smoke`** — the toy world at test sizes: these numbers only show that the notebook runs.",
    "toy": "**Profile `toy`** — the synthetic toy world and its tiny XLM-R: the numbers are about that controlled "
           "world (English plus six synthetic languages, 3 distances × 2 resource levels), not about XTREME.",
    "xtreme": "**Profile `xtreme`** — XLM-R on the real XTREME / XTREME-R data.",
}


def profile_override(profile: str) -> str:
    return os.environ.get(PROFILE_ENV, profile)


def setup(profile: str, runs_dir: str | None, out_dir: str | None) -> tuple[str, str, Path]:
    """The profile (CI may override it), the run cache and the output folder (created) of a notebook."""
    import warnings

    warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm.auto in a kernel without widgets
    profile = profile_override(profile)
    out = Path(out_dir or f"../reports/{profile}")
    out.mkdir(parents=True, exist_ok=True)
    return profile, runs_dir or f"../reports/runs/{profile}", out


def fill(defaults: dict, **given) -> SimpleNamespace:
    """The notebook's parameters: each one given (not None) or else the profile's default."""
    unknown = set(given) - set(defaults)
    if unknown:
        raise KeyError(f"no default for parameter(s) {sorted(unknown)}")
    return SimpleNamespace(**{k: given[k] if given.get(k) is not None else v for k, v in defaults.items()})


def train_languages(profile: str, tasks: list[str]) -> list[str]:
    """The languages every one of ``tasks`` has training data in (English first): "synthetic multilingual"
    intermediate data (the toy world renders any task in any language; XTREME: e.g. translated MNLI)."""
    from xltlib.runner import source_spec
    from xltlib.study import Study

    study = Study("languages", profile=profile, targets=())
    specs = [source_spec(study, t) for t in tasks]
    return [l for l in specs[0].train_languages if all(l in s.train_languages for s in specs)]


def parameters(model_dir: str) -> int:
    """The encoder's parameter count, from its config alone (built on the meta device: no weights loaded)."""
    import torch
    from transformers import AutoConfig, AutoModel

    from xltlib.hub import load_pretrained

    config = load_pretrained(AutoConfig, model_dir)
    with torch.device("meta"):
        model = AutoModel.from_config(config, add_pooling_layer=False)
    return sum(p.numel() for p in model.parameters())


def banner(profile: str):
    from IPython.display import Markdown

    return Markdown(BANNERS.get(profile, f"**Profile `{profile}`**"))


def _study(study: dict):
    """A notebook's study dict, validated (every error names the field)."""
    from xltlib.study import study_from_dict

    return study_from_dict(study, study.get("name", "notebook"))


def workers(profile: str) -> int:
    """Runs at once: ``$XLT_WORKERS``, else one per CPU core (up to 4) for the toy profile (its tiny models
    do not use more than a core each), else one (smoke: too small to gain; xtreme: one GPU)."""
    if os.environ.get("XLT_WORKERS"):
        return int(os.environ["XLT_WORKERS"])
    return min(4, os.cpu_count() or 1) if profile == "toy" else 1


def run(study: dict, runs_dir: str) -> pd.DataFrame:
    """Run every unfinished run of ``study`` into ``runs_dir`` and return this study's results.

    ``XLT_EXECUTOR=slurm`` submits the runs as Slurm jobs (submitit) and waits for them, with the
    executor parameters in ``XLT_SLURM`` as JSON (e.g. ``{"slurm_partition": "gpu", "gpus_per_node": 1,
    "timeout_min": 720}``)."""
    from xltlib.results import load_results
    from xltlib.runner import run_study

    s = _study(study)
    executor = os.environ.get("XLT_EXECUTOR", "local")
    slurm = json.loads(os.environ.get("XLT_SLURM", "{}"))
    run_study(s, runs_dir, progress=False, executor=executor, slurm=slurm,
              workers=workers(s.profile) if executor == "local" else 1)
    names = {r.id: r.setup.name for r in s.runs()}
    table = load_results(runs_dir)
    table = table[table["run_id"].isin(names)].reset_index(drop=True)
    # a run shared with another study (same setup under another name) is labelled as this study names it
    table["setup"] = table["run_id"].map(names)
    return table


def model_dir(study: dict) -> str:
    """The study's pretrained model: a toy model's cache directory (built on first use) or a Hub id."""
    from xltlib.runner import base_model

    return base_model(_study(study))


def english_train(study, task: str) -> list:
    """The English training examples of ``task`` (a target's: its training task's, e.g. MNLI for XNLI)."""
    from xltlib.runner import load_split

    return load_split(study, task, "en", "train").examples


def training_sizes(study: dict) -> pd.DataFrame:
    """Intermediate training examples per setup (after ``size`` and ``cap``, over its tasks and languages)."""
    from xltlib.runner import load_split, subsample_size

    s = _study(study)
    return pd.DataFrame([{"setup": setup.name, "intermediate": "+".join(setup.tasks) or "none",
                          "examples": sum(subsample_size(len(load_split(s, t, l, "train").examples), setup)
                                          for t in setup.tasks for l in setup.languages)}
                         for setup in s.intermediate])


def plan(study: dict) -> pd.DataFrame:
    """The runs a study will make (or reuse), one row each."""
    s = _study(study)
    return pd.DataFrame([{"setup": r.setup.name, "intermediate": "+".join(r.setup.tasks) or "none",
                          "target": r.target, "seed": r.seed, "run_id": r.id} for r in s.runs()])
