"""The research notebooks' experiments: each notebook names, in its parameters cell, the YAML file beside it that
holds its parameters' defaults per profile and the builder that turns them into studies::

    # notebooks/02_intermediate_data_size.yaml
    experiment: data_size          # a builder of BUILDERS
    toy: {seeds: [0, 1, 2], tasks: [mnli, squad_v1], targets: [xnli, tydiqa], sizes: [0.1, 0.3, 1.0], ...}
    smoke: {...}
    xtreme: {...}
    rehearsal: {...}               # the xtreme parameters `xlt rehearsal --quick` runs it with

    from xltlib.report import experiments
    e = experiments.build("notebooks/01_languages_diminishing_returns.yaml", "toy", ks=[0, 4])
    e.p         # the parameters: each one given (not None) or the profile's default
    e.studies   # the Study objects the notebook runs (notebook 04: one per model)

A parameter left at None takes the profile's default; ``study_file`` replaces the studies by a study YAML of
one's own (``xlt reports --study``), whose profile wins and whose design (``design_of``: seeds, targets,
tasks, counts, sizes) becomes the parameters not given. ``xlt plan --notebook NAME`` and the rehearsal read the same files.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import yaml

from xltlib.errors import ConfigError
from xltlib.experiment.profiles import make_profile
from xltlib.experiment.study import load_study, study_from_dict

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
PROFILES = ("smoke", "toy", "xtreme")


def experiment_files() -> list[Path]:
    """The research notebooks' experiment files (``notebooks/<notebook>.yaml``), in name order."""
    return sorted(p for p in NOTEBOOKS.glob("*.yaml") if (p.with_suffix(".ipynb")).exists())


def experiment_file(name: str | Path) -> Path:
    """An experiment file: a path, or a notebook's name (``02_intermediate_data_size``)."""
    path = Path(name)
    if path.suffix == ".yaml" and path.exists():
        return path
    found = NOTEBOOKS / f"{Path(name).stem}.yaml"
    if not found.exists():
        raise ConfigError(f"no experiment {str(name)!r}; the research notebooks': "
                          f"{', '.join(p.stem for p in experiment_files())}")
    return found


def read_experiment(name: str | Path) -> dict:
    """An experiment file, checked: its builder and a mapping of parameters per profile."""
    path = experiment_file(name)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if data.get("experiment") not in BUILDERS:
        raise ConfigError(f"{path}: experiment: expected one of {', '.join(BUILDERS)}, got {data.get('experiment')!r}")
    for key in (*PROFILES, "rehearsal"):
        if not isinstance(data.get(key, {}), dict):
            raise ConfigError(f"{path}: {key}: expected a mapping of parameters")
    return data


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
    """The parameters: each one given (not None) or else the profile's default; a given value must be of its
    default's kind (a list where the default is a list, ...)."""
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
    specs = [make_profile(profile).source_spec(t) for t in tasks]
    return [l for l in specs[0].train_languages if all(l in s.train_languages for s in specs)]


def read_study_file(path: str) -> dict:
    """A study YAML as the dict the notebooks pass around (validated: every error names the field)."""
    import dataclasses

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


# ------------------------------------------------------------------------------------- the studies they build
def main_table(profile, p, local_data, languages=None):
    # "translated": MNLI in English and machine-translated into every language it has (XNLI's translate-train
    # data on XTREME, the toy's languages), each language 1/n of the English set, so that the budget stays MNLI's
    translated = train_languages(profile, ["mnli"])
    p.setups = [{"name": "mnli_translated", "tasks": ["mnli"], "languages": translated, "size": 1 / len(translated)}
                if s == "translated" else s for s in p.setups]
    return [{"name": "xstilts_main", "profile": profile, "seeds": p.seeds, "intermediate": p.setups,
             "targets": p.targets, "languages": languages, "train_scale": p.train_scale, "local_data": local_data}], {}


def languages(profile, p, local_data):
    # each k adds the next languages of language_order, with the same examples per language: nested runs
    added = {k: p.language_order[:k] for k in p.ks}
    setups = ["baseline"] + [{"name": f"k={k}", "tasks": p.tasks, "languages": ["en"] + added[k],
                              "size": p.size_per_language} for k in p.ks]
    return [{"name": "languages", "profile": profile, "seeds": p.seeds, "intermediate": setups, "targets": p.targets,
             "train_scale": p.train_scale, "benchmark": p.benchmark, "local_data": local_data, "world": p.world}], \
        {"added": added}


def data_size(profile, p, local_data):
    setups = ["baseline"] + [{"name": f"{t}@{s}", "tasks": [t], "size": s} for t in p.tasks for s in p.sizes]
    return [{"name": "data_size", "profile": profile, "seeds": p.seeds, "intermediate": setups, "targets": p.targets,
             "train_scale": p.train_scale, "local_data": local_data}], {}


def task_count(profile, p, local_data):
    # the first n tasks, mixed (multitask) or one after the other (sequential: the list's first task last)
    setups = ["baseline"]
    for n in p.counts:
        chosen = p.tasks[:n]
        if n == 1:
            setups.append({"name": "n=1", "tasks": chosen})
        else:
            setups.append({"name": f"multitask n={n}", "tasks": chosen, "mode": "multitask", "cap": p.cap})
            setups.append({"name": f"sequential n={n}", "tasks": chosen[::-1], "mode": "sequential", "cap": p.cap})
    return [{"name": "task_count", "profile": profile, "seeds": p.seeds, "intermediate": setups, "targets": p.targets,
             "train_scale": p.train_scale, "local_data": local_data}], {}


def scale(profile, p, local_data):
    # English-only vs the same number of examples spread over every language the tasks have (one study per model)
    languages = train_languages(profile, p.tasks)
    setups = ["baseline", {"name": "english", "tasks": p.tasks, "languages": ["en"]},
              {"name": "synthetic", "tasks": p.tasks, "languages": languages, "size": 1 / len(languages)}]
    return [{"name": f"scale_{m.split('/')[-1]}", "profile": profile, "model": m, "lora": p.lora.get(m),
             "seeds": p.seeds, "intermediate": setups, "targets": p.targets, "train_scale": p.train_scale,
             "local_data": local_data} for m in p.models], {"languages": languages}


def similarity(profile, p, local_data):
    return [{"name": "similarity", "profile": profile, "seeds": p.seeds, "intermediate": ["baseline"] + list(p.tasks),
             "targets": p.targets, "train_scale": p.train_scale, "local_data": local_data}], {}


BUILDERS = {"main_table": main_table, "languages": languages, "data_size": data_size, "task_count": task_count,
            "scale": scale, "similarity": similarity}
PASSED = {"main_table": ("languages",)}  # parameters a builder takes as they are (no profile default)


def build(experiment: str | Path, profile: str, local_data: str | None = None, study_file: str | None = None,
          **params) -> SimpleNamespace:
    """An experiment (its file, or its notebook's name) on ``profile``: ``p`` (its parameters), ``studies`` (the
    validated ``Study`` objects), ``study`` (the first), ``profile`` (a ``study_file``'s, if given) and the
    builder's extras (languages: ``added``, the languages each k adds; scale: ``languages``, the synthetic
    data's)."""
    path = experiment_file(experiment)
    data = read_experiment(path)
    if profile not in data:
        raise ConfigError(f"{path}: no defaults for profile {profile!r}; profiles: "
                          f"{', '.join(k for k in PROFILES if k in data)}")
    kind = data["experiment"]
    passed = {k: params.pop(k) for k in PASSED.get(kind, ()) if k in params}
    p = fill(data[profile], **params)
    made, extras = BUILDERS[kind](profile, p, local_data, **passed)
    if study_file:  # a study of one's own (e.g. examples/real_cpu.yaml): every field from the file
        made = [read_study_file(study_file)]
        profile = made[0]["profile"]
    studies = [study_from_dict(s, f"{path.stem}: {s.get('name', 'study')}") for s in made]
    if study_file:  # the design's parameters are the study's (a parameter given still wins)
        for key, value in design_of(studies[0]).items():
            if hasattr(p, key) and params.get(key) is None:
                setattr(p, key, value)
    return SimpleNamespace(p=p, studies=studies, study=studies[0], profile=profile, **extras)


def design_of(study) -> dict:
    """A study's design as the notebooks' parameters name it: ``seeds``, ``targets``, ``tasks`` (the
    intermediate tasks, in the order the setups first name them; a sequential chain in training order),
    ``counts`` (the numbers of tasks its setups train on) and ``sizes`` (its setups' sizes; 1: the whole set)."""
    trained = [s for s in study.intermediate if s.tasks]
    tasks = list(dict.fromkeys(t for s in trained for t in s.tasks))
    return {"seeds": list(study.seeds), "targets": list(study.targets), "tasks": tasks,
            "counts": sorted({len(s.tasks) for s in trained}),
            "sizes": sorted({s.size if s.size is not None else 1.0 for s in trained})}
