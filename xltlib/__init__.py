"""xltlib: English intermediate-task training and zero-shot cross-lingual transfer (X-STILTs) on XTREME.

The Python API, for notebooks and scripts (the ``xlt`` command does the same from a shell)::

    import xltlib as xlt
    study = xlt.load_study("examples/toy_small.yaml")   # a YAML file or a dict, validated before anything trains
    xlt.plan(study).to_json()                            # what it costs: runs, trainings, tokens, GPU-hours
    xlt.run_study(study, "runs/toy_small")               # runs what is not done yet; a re-run recomputes nothing
    df = xlt.load_results("runs/toy_small")             # the tidy results table (pandas)
    xlt.load_curves("runs/toy_small")                    # every run's training curves (pandas)
    xlt.status("runs/toy_small")                         # where every run is: done, queued, running, failed, ...
    xlt.register_task(xlt.TaskSpec(...))                 # a task of one's own: one record (xltlib.data.register)

The names are looked up when first used, so ``import xltlib`` loads neither torch nor the engine, and
importing it changes nothing in the process. The README maps the modules.
"""
import importlib as _importlib

from xltlib.version import __version__

# name -> (module, attribute): imported on first use (module __getattr__, PEP 562)
_LAZY = {
    "run_study": ("xltlib.experiment.runner", "run_study"),
    "load_results": ("xltlib.experiment.results", "load_results"),
    "load_curves": ("xltlib.experiment.results", "load_curves"),
    "status": ("xltlib.experiment.schedule", "status"),
    "study_from_dict": ("xltlib.experiment.study", "study_from_dict"),
    "Study": ("xltlib.experiment.study", "Study"),
    "Setup": ("xltlib.experiment.study", "Setup"),
    "register_task": ("xltlib.data.register", "register_task"),
    "register_reader": ("xltlib.data.local", "register_reader"),
    "TaskSpec": ("xltlib.registry.tasks", "TaskSpec"),
    "HubSource": ("xltlib.registry.tasks", "HubSource"),
    "LocalFile": ("xltlib.registry.tasks", "LocalFile"),
    "Format": ("xltlib.registry.tasks", "Format"),
}

__all__ = ["__version__", "load_study", "run_study", "load_results", "load_curves", "status", "plan", "study_from_dict",
           "Study", "Setup", "register_task", "register_reader", "TaskSpec", "HubSource", "LocalFile", "Format"]


def load_study(source, name: str = "study"):
    """A validated ``Study`` from a YAML file (a path: its relative ``local_data`` is read relative to the
    file) or from a dict of the same fields (``name`` labels it when the dict has no ``name``).

    Every error is a ``xltlib.errors.ConfigError`` naming the field, the value and the valid choices."""
    study = _importlib.import_module("xltlib.experiment.study")
    if isinstance(source, dict):
        return study.study_from_dict(source, name)
    return study.load_study(source)


def plan(study, gpu: str = "H100", **options):
    """What ``study`` (a ``Study``, a YAML path or a dict) costs before it runs: runs, phase-1 trainings,
    phase-2 fine-tunings, real tokens per phase and, on the ``xtreme`` profile, hours on ``gpu`` (H100, H200
    or A100); ``options`` go to ``xltlib.experiment.plan.plan_study`` as they are. It loads neither data nor
    the model. Returns a ``xltlib.experiment.plan.Plan``: ``.runs``,
    ``.gpu_hours()``, ``.to_json()`` (a dict); ``xltlib.experiment.plan.format_plan(p)`` is the text
    ``xlt plan`` prints."""
    if not isinstance(study, _importlib.import_module("xltlib.experiment.study").Study):
        study = load_study(study)
    return _importlib.import_module("xltlib.experiment.plan").plan_study(study, gpu=gpu, **options)


def __getattr__(name: str):
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(_importlib.import_module(module), attribute)
        globals()[name] = value  # looked up once
        return value
    raise AttributeError(f"module 'xltlib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(__all__) | {k for k in globals() if k.startswith("__")})
