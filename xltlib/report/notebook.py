"""Helpers the research notebooks share, so that the notebooks stay thin.

    profile, runs_dir, out, e = start(experiment, profile, runs_dir, out_dir, seeds=seeds)
    table = run(e.study, runs_dir)           # runs (or loads cached) the study (a Study); its tidy results
    banner(profile)                          # what the numbers are about, as Markdown
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from xltlib.experiment.profiles import make_profile
from xltlib.experiment.results import load_results
from xltlib.experiment.runner import run_study, subsample_size
from xltlib.data.slices import parse as parse_split
from xltlib.engine.phases import training_chain
from xltlib.experiment.study import Study, study_from_dict
from xltlib.report.experiments import build, train_languages  # noqa: F401 (notebooks')
from xltlib.hfhub import load_pretrained
from xltlib.report.analysis import data_notes as notes_of
from xltlib.report.power import CONTROL
from xltlib.registry.models import model_size

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


def start(experiment: str, profile: str, runs_dir: str | None, out_dir: str | None, **params):
    """A research notebook's opening: ``setup`` and then its experiment (``experiment``: the YAML file beside
    the notebook, ``xltlib.report.experiments.build``: the parameters ``p``, the ``studies`` and ``study``).
    Returns ``(profile, runs_dir, out, experiment)``; the profile is a ``study_file``'s where one is given."""
    profile, runs_dir, out = setup(profile, runs_dir, out_dir)
    made = build(experiment, profile, **params)
    return made.profile, runs_dir, out, made


def parameters(model_dir: str) -> int:
    """The encoder's parameter count without its weights: from ``tables/models.tsv`` or the directory's
    ``config.json`` (``xltlib.registry.models``: no Hub), else built from its config on the meta device."""
    import torch
    from transformers import AutoConfig, AutoModel

    known = model_size(model_dir).parameters
    if known is not None:
        return known

    config = load_pretrained(AutoConfig, model_dir)
    with torch.device("meta"):
        model = AutoModel.from_config(config, add_pooling_layer=False)
    return sum(p.numel() for p in model.parameters())


def banner(profile: str, world: dict | None = None, study: Study | dict | None = None):
    """What the profile's numbers are about (with a study's toy ``world`` changes, if any; given a
    ``study``, its own profile, model and data)."""
    from IPython.display import Markdown

    if study is None:
        return Markdown(make_profile(profile, world=world).banner)
    s = _study(study)
    text = s.profile_impl.banner
    if s.random_weights:
        text += (" **Random weights**: the model's architecture and tokenizer with every weight drawn at random "
                 "(a control for what pretraining adds).")
    return Markdown(text)


def _study(study: Study | dict) -> Study:
    """A notebook's study: a ``Study`` as it is, a dict validated (every error names the field)."""
    return study if isinstance(study, Study) else study_from_dict(study, study.get("name", "notebook"))


def workers(profile: str) -> int:
    """Runs at once: ``$XLT_WORKERS``, else the profile's (toy: one per CPU core, its tiny models do
    not use more than a core each; smoke: one, too small to gain; xtreme: one per visible GPU)."""
    if os.environ.get("XLT_WORKERS"):
        return int(os.environ["XLT_WORKERS"])
    return make_profile(profile).notebook_workers


def run(study: Study | dict, runs_dir: str) -> pd.DataFrame:
    """Run every unfinished run of ``study`` into ``runs_dir`` and return this study's results.

    ``XLT_EXECUTOR=slurm`` submits the runs as Slurm jobs (submitit) and waits for them, with the
    executor parameters in ``XLT_SLURM`` as JSON (e.g. ``{"slurm_partition": "gpu", "gpus_per_node": 1,
    "timeout_min": 720}``). ``XLT_SKIP_MISSING=1`` (``xlt reports --skip-missing``): runs whose data cannot
    be had are skipped, and ``data_notes`` lists them (``table.attrs["skipped"]``)."""
    from xltlib.experiment.schedule import read_skipped

    s = _study(study)
    executor = os.environ.get("XLT_EXECUTOR", "local")
    slurm = json.loads(os.environ.get("XLT_SLURM", "{}"))
    run_study(s, runs_dir, progress=False, executor=executor, slurm=slurm,
              workers=workers(s.profile) if executor == "local" else 1, report=os.environ.get(PROGRESS_ENV),
              skip_missing=os.environ.get("XLT_SKIP_MISSING", "") not in ("", "0"))
    names = {r.id: r.setup.name for r in s.runs()}
    table = load_results(runs_dir)
    table = table[table["run_id"].isin(names)].reset_index(drop=True)
    # a run shared with another study (same setup under another name) is labelled as this study names it
    table["setup"] = table["run_id"].map(names)
    table.attrs["skipped"] = [{**v, "setup": names[k]} for k, v in read_skipped(runs_dir).items() if k in names]
    return table


def data_notes(table: pd.DataFrame):
    """Markdown: the languages a study could not score and the scores that are not comparable with
    published ones, each with its reason (nothing when there is nothing to say)."""
    from IPython.display import Markdown

    notes, skipped = notes_of(table), table.attrs.get("skipped", [])
    if notes.empty and not skipped:
        return Markdown("Every language of every target was scored" + (
            ", on the data published numbers use." if (table["comparable"] == True).all() else "."))  # noqa: E712
    lines = []
    for (kind, note), part in notes.groupby(["kind", "note"], sort=False):
        where = ", ".join(f"{t}/{l}" for t, l in zip(part.target, part.language))
        lines.append(f"- **{kind}** ({where}): {note}")
    lines += [f"- **skipped run** ({s['setup']} / {s['target']} / seed {s['seed']}): {s['reason']}" for s in skipped]
    return Markdown("**Data notes**\n" + "\n".join(lines))


def benchmark_of(study: Study | dict) -> str:
    """The benchmark whose score a study's targets make: XTREME unless the study names another."""
    return _study(study).benchmark or "xtreme"


def target_specs(study: Study | dict):
    """``task -> TaskSpec`` as the study's profile defines its targets (the toy analogs on the toy profile)."""
    return _study(study).profile_impl.target_spec


def study_setups(study: Study | dict) -> tuple:
    """The study's intermediate setups, validated (``xltlib.experiment.study.Setup`` objects)."""
    return _study(study).intermediate


def model_dir(study: Study | dict) -> str:
    """The study's pretrained model: a toy model's cache directory (made on first use), an imported
    model's directory or a Hub id."""
    return _study(study).profile_impl.base_model()


def english_train(study, task: str) -> list:
    """The English training examples of ``task``; a target's are those it fine-tunes on in this study (XNLI:
    MNLI's; with ``train_on: {xquad: tydiqa}``, TyDiQA-GoldP's; with ``train_split``, that split's)."""
    s = _study(study)
    if task in s.targets:
        chain = training_chain(s.target_spec(task), s.profile_impl.source_spec)
        task = chain[-1].name if chain else task
    part = parse_split(s.train_split_of(task))
    return part.take(s.profile_impl.load(task, "en", part.split).examples)


def training_sizes(study: Study | dict) -> pd.DataFrame:
    """Intermediate training examples per setup (after ``size`` and ``cap``, over its tasks and languages)."""
    s = _study(study)
    return pd.DataFrame([{"setup": setup.name, "intermediate": setup.label,
                          "examples": sum(subsample_size(len(s.profile_impl.load(t, l, "train").examples), setup)
                                          for t in setup.tasks for l in setup.languages)}
                         for setup in s.intermediate])


def plan(study: Study | dict) -> pd.DataFrame:
    """The runs a study will make (or reuse), one row each."""
    s = _study(study)
    return pd.DataFrame([{"setup": r.setup.name, "intermediate": r.setup.label,
                          "target": r.target, "seed": r.seed, "run_id": r.id} for r in s.runs()])


def curves(runs_dir: str, table: pd.DataFrame) -> pd.DataFrame:
    """The training curves (``results.load_curves``) of the runs in ``table``, under this study's setup names."""
    from xltlib.experiment.results import load_curves

    names = table.drop_duplicates("run_id").set_index("run_id")["setup"]
    found = load_curves(runs_dir)
    found = found[found.run_id.isin(names.index)].copy()
    found["setup"] = found.run_id.map(names)
    return found


def plot_curves(found: pd.DataFrame, path: Path | None = None):
    """Phase 2 per target (columns): the training loss (top) and the English dev score that selects the
    checkpoint (bottom; the first metric its evaluations record), over optimizer steps, one line per setup
    (mean over seeds, band: their range)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    phase2 = found[found.phase == "phase2"]
    targets = sorted(phase2.target.unique())
    if not targets:
        return None
    fig, axes = plt.subplots(2, len(targets), figsize=(3.2 * len(targets), 5), squeeze=False, sharex="col")
    for j, target in enumerate(targets):
        part = phase2[phase2.target == target]
        losses = part.drop_duplicates(["run_id", "step"])
        sns.lineplot(data=losses, x="step", y="loss", hue="setup", errorbar=("pi", 100), ax=axes[0, j],
                     legend=j == len(targets) - 1)
        axes[0, j].set_title(target)
        dev = part.dropna(subset=["metric"])
        if not dev.empty:
            metric = dev.metric.iloc[0]
            sns.lineplot(data=dev[dev.metric == metric], x="step", y="value", hue="setup", errorbar=("pi", 100),
                         ax=axes[1, j], legend=False)
            axes[1, j].set_ylabel(f"English dev {metric}")
    if targets and axes[0, -1].get_legend():
        sns.move_legend(axes[0, -1], "upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig


def power(studies: list, table: pd.DataFrame, baseline: str = "baseline"):
    """Markdown, beside a report's answer: what this design can detect (``xltlib.report.power``): the spread
    of zero-shot gains over the ``baseline`` setup (or the ``CONTROL``), paired by seed, the smallest gain the
    seeds detect, and what 1, 2 and 5 points would take. The studies of one notebook score the same data
    (notebook 04: one per model)."""
    from IPython.display import Markdown

    from xltlib.report.power import answer, report, scored_examples

    against = "the control" if baseline == CONTROL else f"the {baseline}"
    return Markdown(answer(report(table, scored_examples(_study(studies[0])), baseline), against=against))


ZERO_SHOT_MEAN = "zero-shot mean"


def control(control_file: str | None, runs_dir: str) -> pd.DataFrame | None:
    """The results of a control study, its one setup named ``CONTROL`` (None without ``control_file``):
    ``control_file`` is a study file of one setup, e.g. a study's baseline at random weights, which says
    what pretraining adds. Its runs are run (or loaded) in the folder of its name beside ``runs_dir``
    (``reports/runs/<name>``, as ``xlt reports --study`` places a study's runs)."""
    if not control_file:
        return None
    s = load_control(control_file)
    return run(s, str(Path(runs_dir).parent / s.name)).assign(setup=CONTROL)


def load_control(control_file: str) -> Study:
    """A control study, validated: a study file of one setup (else an error naming the file and its setups)."""
    from xltlib.errors import ConfigError
    from xltlib.experiment.study import load_study

    s = load_study(control_file)
    names = sorted({r.setup.name for r in s.runs()})
    if len(names) != 1:
        raise ConfigError(f"control_file {control_file}: expected a study of one setup (e.g. the baseline at "
                          f"random weights), found {len(names)}: {', '.join(names)}")
    return s


def control_banner(control_file: str, control: pd.DataFrame, profile: str):
    """Markdown: which study the control is (its file, model, seeds, and whether its weights are random)."""
    from IPython.display import Markdown

    from xltlib.experiment.study import load_study

    s = load_study(control_file)
    what = "every weight drawn at random, one draw per seed" if s.random_weights else "its pretrained weights"
    return Markdown(f"The control: `{control_file}`, {s.model or s.profile_impl.base_model()} with {what}, seeds "
                    f"{', '.join(str(x) for x in sorted(control['seed'].unique()))}; **{profile}** profile.")


def control_lines(versus: pd.DataFrame) -> list[str]:
    """An answer's lines (Markdown) from ``versus_control``: per setup and target, the paired difference on
    the zero-shot mean and in how many zero-shot languages the interval lies above zero."""
    from xltlib.report.analysis import side

    lines = []
    for (setup, target), part in versus.groupby(["setup", "target"]):
        if not (part["language"] == ZERO_SHOT_MEAN).any():
            lines.append(f"- **{target}**, `{setup}`: no zero-shot language scored by both it and the control.")
            continue
        mean = part[part["language"] == ZERO_SHOT_MEAN].iloc[0]
        langs = part[~part["language"].isin(["en", ZERO_SHOT_MEAN])]
        above = int((langs["ci_low"] > 0).sum())
        means = f"means over each one's seeds {mean.score:.1f} vs {mean.control:.1f}"
        if mean.seeds == 0:
            lines.append(f"- **{target}**, `{setup}` against the control: no seed in common, so no paired "
                         f"difference; {means} on the mean of its zero-shot languages.")
            continue
        if mean.seeds < 2:
            how = (f"on the one seed both have (no interval, so no verdict); {means}, this study's seeds ranging "
                   f"{mean.lowest:.1f} to {mean.highest:.1f}")
        else:
            how = (f"paired over {int(mean.seeds)} seeds (95% CI {mean.ci_low:+.1f} to {mean.ci_high:+.1f}: "
                   + side(mean.ci_low, mean.ci_high, "above the control", "below the control", "not told apart from it")
                   + f"; the interval above zero in {above} of {len(langs)} zero-shot languages); {means}")
        lines.append(f"- **{target}**, `{setup}` against the control: {mean.difference:+.1f} points on the mean of "
                     f"its zero-shot languages {how}.")
    return lines


def versus_control(table: pd.DataFrame, control: pd.DataFrame) -> pd.DataFrame:
    """Each setup's zero-shot scores beside the control's, per target and language and for their mean over
    the target's zero-shot languages (``ZERO_SHOT_MEAN``; English is the training language): ``score`` and
    ``control`` (means over each one's seeds), ``lowest`` and ``highest`` (the setup's seeds' range),
    ``difference`` (paired by seed, over the seeds both have) with its 95% bootstrap interval over those
    seeds, and ``seeds`` paired (0: none in common). The model is not paired on: a control may be another
    model. A target or language the control does not score is left out."""
    from xltlib.report.analysis import language_mean, paired_deltas, primary_scores, summarize

    scores = primary_scores(pd.concat([table, control], ignore_index=True)).drop(columns="model", errors="ignore")
    zero = language_mean(scores, ["setup", "target"], value="score").assign(language=ZERO_SHOT_MEAN)
    scores = pd.concat([scores, zero], ignore_index=True)[["setup", "target", "language", "seed", "score"]]
    keys = ["target", "language"]
    means = scores[scores["setup"] != CONTROL].groupby(["setup", *keys], as_index=False)["score"].agg(
        score="mean", lowest="min", highest="max")
    means = means.merge(scores[scores["setup"] == CONTROL].groupby(keys, as_index=False)["score"].mean()
                        .rename(columns={"score": "control"}), on=keys)
    paired = summarize(paired_deltas(scores, CONTROL), ["setup", *keys], value="delta")
    paired = paired.rename(columns={"mean": "difference", "n": "seeds"})
    out = means.merge(paired, on=["setup", *keys], how="left")  # seeds 0: none in common, no paired difference
    out["seeds"] = out["seeds"].fillna(0).astype(int)
    out["order"] = out["language"] == ZERO_SHOT_MEAN  # each target's languages, then their mean
    return out.sort_values(["setup", "target", "order", "language"]).drop(columns="order").reset_index(drop=True)

