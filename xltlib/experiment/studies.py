"""The research notebooks' experiments, in one place: each notebook's default parameters per profile and the
studies it builds from them. The notebooks, ``xlt plan --notebook`` and the tests read them here.

    from xltlib.experiment import studies
    e = studies.build("01_languages_diminishing_returns", "toy", ks=[0, 4])
    e.p         # the parameters: each one given (not None) or the profile's default
    e.studies   # the study dicts the notebook runs (notebook 04: one per model), as a study YAML would hold them

A parameter left at None takes the profile's default; ``study_file`` (notebook 00) replaces the defaults by a
study YAML of one's own, whose profile wins.
"""
from __future__ import annotations

from types import SimpleNamespace

from xltlib.errors import ConfigError
from xltlib.experiment.profiles import make_profile
from xltlib.experiment.study import load_study

# --------------------------------------------------------------------------- defaults, per notebook and profile
DEFAULTS = {
    "00_xstilts_main_table": {
        "smoke": dict(seeds=[0], setups=["baseline", "mnli"], targets=["udpos", "tatoeba"], train_scale=0.3),
        # two of the paper's best tasks (MNLI, SQuAD), another (SST-2), their mix, MNLI translated into every toy
        # language and MNLI with continued MLM: each of the paper's claims is checked (notebook 00's claims table)
        "toy": dict(seeds=[0, 1, 2], setups=["baseline", "mnli", "squad_v1", "sst2",
                                              {"name": "multitask", "tasks": ["mnli", "squad_v1", "sst2"]},
                                              "translated", {"name": "mnli+mlm", "tasks": ["mnli", "mlm"]}],
                    targets=["xnli", "udpos", "tydiqa", "bucc2018", "tatoeba"], train_scale=0.5),
        # the paper's intermediate tasks that have a public source: CCG (CCGbank, licensed) is left out here
        # and runs where a local copy is given (add "ccg" to these lists; xlt tasks ccg says where it is read)
        "xtreme": dict(seeds=[0, 1, 2], setups=["baseline", "anli_plus", "commonsenseqa", "cosmosqa",
                                                 "hellaswag", "mnli", "qqp", "squad_v2", "sst2",
                                                 {"name": "multitask", "tasks": ["anli_plus", "commonsenseqa",
                                                                                 "cosmosqa", "hellaswag", "mnli", "qqp",
                                                                                 "squad_v2", "sst2"], "cap": 20000}],
                       targets=["xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba"],
                       train_scale=1.0),
    },
    "01_languages_diminishing_returns": {
        "smoke": dict(seeds=[0], tasks=["mnli"], language_order=["nh", "mh", "fh", "ah"], ks=[0, 1, 4],
                      size_per_language=0.5, targets=["xnli"], train_scale=0.3, benchmark=None,
                      world={"high_languages": 4}),
        # a world of twelve high-resource languages (and the three low-resource ones, never added), added in
        # the world's order (near, mid, far, then along the typological continuum); translated MNLI, as on xtreme
        "toy": dict(seeds=[0, 1, 2], tasks=["mnli"],
                    language_order=["nh", "mh", "fh", "ah", "eh", "sh", "vh", "nh2", "mh2", "fh2", "ah2", "eh2"],
                    ks=[0, 1, 2, 4, 8, 12], size_per_language=0.25, targets=["xnli", "tydiqa"], train_scale=0.5,
                    benchmark=None, world={"high_languages": 12}),
        # facebook/xnli's machine-translated MNLI; each step adds a language of another family or script first
        "xtreme": dict(seeds=[0, 1, 2], tasks=["mnli"],
                       language_order=["fr", "ru", "zh", "ar", "hi", "tr", "vi", "th", "el", "de", "es", "bg"],
                       ks=[0, 1, 2, 4, 8, 12], size_per_language=50000,
                       targets=["xnli", "udpos", "panx", "xquad", "mlqa", "tydiqa"], train_scale=1.0,
                       benchmark="xtreme-r", world=None),
    },
    "02_intermediate_data_size": {
        "smoke": dict(seeds=[0], tasks=["mnli"], targets=["xnli"], sizes=[0.25, 1.0], train_scale=0.3),
        "toy": dict(seeds=[0, 1, 2], tasks=["mnli", "squad_v1"], targets=["xnli", "tydiqa"], sizes=[0.1, 0.3, 1.0],
                    train_scale=0.5),
        "xtreme": dict(seeds=[0, 1, 2], tasks=["mnli", "squad_v2", "hellaswag"], targets=["xnli", "tydiqa", "udpos"],
                       sizes=[1000, 4000, 16000, 64000, 1.0], train_scale=1.0),
    },
    "03_task_count_multitask_vs_sequential": {
        "smoke": dict(seeds=[0], tasks=["squad_v1", "mnli"], counts=[1, 2], targets=["tydiqa"], train_scale=0.3,
                      cap=None),
        "toy": dict(seeds=[0, 1, 2], tasks=["squad_v1", "mnli", "sst2"], counts=[1, 2, 3], targets=["tydiqa", "xnli"],
                    train_scale=0.5, cap=None),
        "xtreme": dict(seeds=[0, 1, 2], tasks=["squad_v2", "mnli", "hellaswag", "cosmosqa", "anli_plus",
                                               "commonsenseqa", "qqp", "sst2"], counts=[1, 2, 4, 8],
                       targets=["tydiqa", "xnli", "pawsx", "udpos", "panx", "xquad", "mlqa"], train_scale=1.0,
                       cap=20000),
    },
    "04_synthetic_multilingual_vs_english_scale": {
        "smoke": dict(seeds=[0], models=["smoke"], tasks=["mnli"], targets=["xnli"], train_scale=0.3, lora={}),
        "toy": dict(seeds=[0, 1, 2], models=["small", "base"], tasks=["mnli"], targets=["xnli", "udpos"],
                    train_scale=0.5, lora={}),
        "xtreme": dict(seeds=[0, 1, 2], models=["FacebookAI/xlm-roberta-base", "FacebookAI/xlm-roberta-large",
                                                "facebook/xlm-roberta-xl", "facebook/xlm-roberta-xxl"],
                       tasks=["mnli"], targets=["xnli", "udpos", "panx", "xquad", "tydiqa"], train_scale=1.0,
                       lora={"facebook/xlm-roberta-xl": 16, "facebook/xlm-roberta-xxl": 16}),
    },
    "05_task_similarity_low_resource": {
        "smoke": dict(seeds=[0], tasks=["mnli", "squad_v1"], targets=["xnli", "udpos"], train_scale=0.3,
                      low_resource=["nl", "ml", "fl"]),
        # the toy languages with a small pretraining share
        "toy": dict(seeds=[0, 1, 2], tasks=["mnli", "squad_v1", "sst2", "qqp", "ccg"],
                    targets=["xnli", "udpos", "tydiqa"], train_scale=0.5, low_resource=["nl", "ml", "fl"]),
        # languages with small shares of XLM-R's pretraining corpus (CC-100); edit to your definition
        "xtreme": dict(seeds=[0, 1, 2], tasks=["anli_plus", "commonsenseqa", "cosmosqa", "hellaswag", "mnli",
                                               "qqp", "squad_v2", "sst2"],
                       targets=["xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa"], train_scale=1.0,
                       low_resource=["sw", "ur", "te", "mr", "my", "yo", "jv", "kk", "eu", "ka", "tl"]),
    },
}


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
def _main_table(profile, p, local_data, languages=None):
    # "translated": MNLI in English and machine-translated into every language it has (XNLI's translate-train
    # data on XTREME, the toy's languages), each language 1/n of the English set, so that the budget stays MNLI's
    translated = train_languages(profile, ["mnli"])
    p.setups = [{"name": "mnli_translated", "tasks": ["mnli"], "languages": translated, "size": 1 / len(translated)}
                if s == "translated" else s for s in p.setups]
    return [{"name": "xstilts_main", "profile": profile, "seeds": p.seeds, "intermediate": p.setups,
             "targets": p.targets, "languages": languages, "train_scale": p.train_scale, "local_data": local_data}], {}


def _languages(profile, p, local_data):
    # each k adds the next languages of language_order, with the same examples per language: nested runs
    added = {k: p.language_order[:k] for k in p.ks}
    setups = ["baseline"] + [{"name": f"k={k}", "tasks": p.tasks, "languages": ["en"] + added[k],
                              "size": p.size_per_language} for k in p.ks]
    return [{"name": "languages", "profile": profile, "seeds": p.seeds, "intermediate": setups, "targets": p.targets,
             "train_scale": p.train_scale, "benchmark": p.benchmark, "local_data": local_data, "world": p.world}], \
        {"added": added}


def _data_size(profile, p, local_data):
    setups = ["baseline"] + [{"name": f"{t}@{s}", "tasks": [t], "size": s} for t in p.tasks for s in p.sizes]
    return [{"name": "data_size", "profile": profile, "seeds": p.seeds, "intermediate": setups, "targets": p.targets,
             "train_scale": p.train_scale, "local_data": local_data}], {}


def _task_count(profile, p, local_data):
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


def _scale(profile, p, local_data):
    # English-only vs the same number of examples spread over every language the tasks have (one study per model)
    languages = train_languages(profile, p.tasks)
    setups = ["baseline", {"name": "english", "tasks": p.tasks, "languages": ["en"]},
              {"name": "synthetic", "tasks": p.tasks, "languages": languages, "size": 1 / len(languages)}]
    return [{"name": f"scale_{m.split('/')[-1]}", "profile": profile, "model": m, "lora": p.lora.get(m),
             "seeds": p.seeds, "intermediate": setups, "targets": p.targets, "train_scale": p.train_scale,
             "local_data": local_data} for m in p.models], {"languages": languages}


def _similarity(profile, p, local_data):
    return [{"name": "similarity", "profile": profile, "seeds": p.seeds, "intermediate": ["baseline"] + list(p.tasks),
             "targets": p.targets, "train_scale": p.train_scale, "local_data": local_data}], {}


BUILDERS = {"00_xstilts_main_table": _main_table, "01_languages_diminishing_returns": _languages,
            "02_intermediate_data_size": _data_size, "03_task_count_multitask_vs_sequential": _task_count,
            "04_synthetic_multilingual_vs_english_scale": _scale, "05_task_similarity_low_resource": _similarity}
# parameters a notebook passes to its builder as they are (no profile default)
PASSED = {"00_xstilts_main_table": ("languages",)}


def build(notebook: str, profile: str, local_data: str | None = None, study_file: str | None = None,
          **params) -> SimpleNamespace:
    """Notebook ``notebook``'s experiment on ``profile``: ``p`` (its parameters), ``studies`` (the study dicts),
    ``study`` (the first), ``profile`` (a ``study_file``'s, if given) and the builder's extras (notebook 01:
    ``added``, the languages each k adds; notebook 04: ``languages``, the synthetic data's)."""
    if notebook not in DEFAULTS:
        raise ConfigError(f"no notebook {notebook!r}; the research notebooks: {', '.join(DEFAULTS)}")
    if profile not in DEFAULTS[notebook]:
        raise ConfigError(f"notebook {notebook}: no defaults for profile {profile!r}; profiles: "
                          f"{', '.join(DEFAULTS[notebook])}")
    passed = {k: params.pop(k) for k in PASSED.get(notebook, ()) if k in params}
    p = fill(DEFAULTS[notebook][profile], **params)
    made, extras = BUILDERS[notebook](profile, p, local_data, **passed)
    if study_file:  # a study of one's own (e.g. examples/real_cpu.yaml): every field from the file
        made = [read_study_file(study_file)]
        profile = made[0]["profile"]
    return SimpleNamespace(p=p, studies=made, study=made[0], profile=profile, **extras)
