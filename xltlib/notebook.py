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

# nbval in CI runs the notebooks as they are (their parameters cell says "toy") on this profile; `xlt reports`
# passes its --profile explicitly and runs the notebooks without it
PROFILE_ENV = "XLT_NOTEBOOK_PROFILE"
# a file the notebooks' studies append their progress lines to (`xlt reports` sets it and copies the lines to
# its stderr: a kernel's own stderr would end up in the executed notebook)
PROGRESS_ENV = "XLT_PROGRESS"


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


def _kind(value) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "a string" if isinstance(value, str) else type(value).__name__


def fill(defaults: dict, **given) -> SimpleNamespace:
    """The notebook's parameters: each one given (not None) or else the profile's default; a given value
    must be of its default's kind (a list where the default is a list, ...)."""
    from xltlib.errors import ConfigError

    unknown = set(given) - set(defaults)
    if unknown:
        raise ConfigError(f"no default for parameter(s) {sorted(unknown)}")
    for key, value in given.items():
        default = defaults[key]
        if value is not None and default is not None and _kind(value) != _kind(default):
            raise ConfigError(f"parameter {key}: expected {_kind(default)} (default {default!r}), got {value!r}")
    return SimpleNamespace(**{k: given[k] if given.get(k) is not None else v for k, v in defaults.items()})


def train_languages(profile: str, tasks: list[str]) -> list[str]:
    """The languages every one of ``tasks`` has training data in (English first): "synthetic multilingual"
    intermediate data (the toy world renders any task in any language; XTREME: e.g. translated MNLI)."""
    from xltlib.profiles import make_profile

    specs = [make_profile(profile).source_spec(t) for t in tasks]
    return [l for l in specs[0].train_languages if all(l in s.train_languages for s in specs)]


def parameters(model_dir: str) -> int:
    """The encoder's parameter count without its weights: from ``tables/models.tsv`` or the directory's
    ``config.json`` (``xltlib.models``: no Hub), else built from its config on the meta device."""
    import torch
    from transformers import AutoConfig, AutoModel

    from xltlib.hfhub import load_pretrained
    from xltlib.models import model_size

    known = model_size(model_dir).parameters
    if known is not None:
        return known

    config = load_pretrained(AutoConfig, model_dir)
    with torch.device("meta"):
        model = AutoModel.from_config(config, add_pooling_layer=False)
    return sum(p.numel() for p in model.parameters())


def banner(profile: str, world: dict | None = None, study: dict | None = None):
    """What the profile's numbers are about (with a study's toy ``world`` changes, if any; given a
    ``study``, its own profile, model and data)."""
    from IPython.display import Markdown

    from xltlib.profiles import make_profile

    if study is None:
        return Markdown(make_profile(profile, world=world).banner)
    s = _study(study)
    text = s.backend.banner
    if s.random_weights:
        text += (" **Random weights**: the model's architecture and tokenizer with every weight drawn at random "
                 "(a control for what pretraining adds).")
    return Markdown(text)


def study_file(path: str) -> dict:
    """A study YAML as the dict the notebooks pass around (validated: every error names the field)."""
    import dataclasses

    from xltlib.study import load_study

    study = load_study(path)
    defaults = type(study)(name=study.name)
    return {f.name: _plain(getattr(study, f.name)) for f in dataclasses.fields(study)
            if f.name in ("name", "profile", "seeds") or getattr(study, f.name) != getattr(defaults, f.name)}


def _plain(value):
    """A Study field as YAML would give it: setups as mappings, (key, value) pairs as a mapping, tuples as lists."""
    import dataclasses

    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return {k: _plain(v) for k, v in value}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _study(study: dict):
    """A notebook's study dict, validated (every error names the field)."""
    from xltlib.study import study_from_dict

    return study_from_dict(study, study.get("name", "notebook"))


def workers(profile: str) -> int:
    """Runs at once: ``$XLT_WORKERS``, else the profile's (toy: one per CPU core up to 4, its tiny models do
    not use more than a core each; smoke: one, too small to gain; xtreme: one GPU)."""
    from xltlib.profiles import make_profile

    if os.environ.get("XLT_WORKERS"):
        return int(os.environ["XLT_WORKERS"])
    return make_profile(profile).notebook_workers


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
              workers=workers(s.profile) if executor == "local" else 1, report=os.environ.get(PROGRESS_ENV))
    names = {r.id: r.setup.name for r in s.runs()}
    table = load_results(runs_dir)
    table = table[table["run_id"].isin(names)].reset_index(drop=True)
    # a run shared with another study (same setup under another name) is labelled as this study names it
    table["setup"] = table["run_id"].map(names)
    return table


def data_notes(table: pd.DataFrame):
    """Markdown: the languages a study could not score and the scores that are not comparable with
    published ones, each with its reason (nothing when there is nothing to say)."""
    from IPython.display import Markdown

    from xltlib.analysis import data_notes as notes_of

    notes = notes_of(table)
    if notes.empty:
        return Markdown("Every language of every target was scored" + (
            ", on the data published numbers use." if (table["comparable"] == True).all() else "."))  # noqa: E712
    lines = []
    for (kind, note), part in notes.groupby(["kind", "note"], sort=False):
        where = ", ".join(f"{t}/{l}" for t, l in zip(part.target, part.language))
        lines.append(f"- **{kind}** ({where}): {note}")
    return Markdown("**Data notes**\n" + "\n".join(lines))


def benchmark_of(study: dict) -> str:
    """The benchmark whose score a study's targets make: XTREME unless the study names another."""
    return _study(study).benchmark or "xtreme"


def target_specs(study: dict):
    """``task -> TaskSpec`` as the study's profile defines its targets (the toy analogs on the toy profile)."""
    return _study(study).backend.target_spec


def study_setups(study: dict) -> tuple:
    """The study's intermediate setups, validated (``xltlib.study.Setup`` objects)."""
    return _study(study).intermediate


def model_dir(study: dict) -> str:
    """The study's pretrained model: a toy model's cache directory (made on first use), an imported
    model's directory or a Hub id."""
    return _study(study).backend.base_model()


def english_train(study, task: str) -> list:
    """The English training examples of ``task`` (a target's: its training task's, e.g. MNLI for XNLI)."""
    return study.backend.load(task, "en", "train").examples


def training_sizes(study: dict) -> pd.DataFrame:
    """Intermediate training examples per setup (after ``size`` and ``cap``, over its tasks and languages)."""
    from xltlib.runner import subsample_size

    s = _study(study)
    return pd.DataFrame([{"setup": setup.name, "intermediate": setup.label,
                          "examples": sum(subsample_size(len(s.backend.load(t, l, "train").examples), setup)
                                          for t in setup.tasks for l in setup.languages)}
                         for setup in s.intermediate])


def plan(study: dict) -> pd.DataFrame:
    """The runs a study will make (or reuse), one row each."""
    s = _study(study)
    return pd.DataFrame([{"setup": r.setup.name, "intermediate": r.setup.label,
                          "target": r.target, "seed": r.seed, "run_id": r.id} for r in s.runs()])
