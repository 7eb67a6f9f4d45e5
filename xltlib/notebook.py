"""Helpers the research notebooks share, so that the notebooks stay thin.

    table = run(study_dict, runs_dir)        # runs (or loads cached) the study; its tidy results
    banner(profile)                          # what the numbers are about, as Markdown
"""
from __future__ import annotations

import os

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


def banner(profile: str):
    from IPython.display import Markdown

    return Markdown(BANNERS.get(profile, f"**Profile `{profile}`**"))


def run(study: dict, runs_dir: str) -> pd.DataFrame:
    """Run every unfinished run of ``study`` into ``runs_dir`` and return this study's results."""
    from xltlib.results import load_results
    from xltlib.runner import run_study
    from xltlib.study import study_from_dict

    s = study_from_dict(study, study.get("name", "notebook"))
    run_study(s, runs_dir, progress=False)
    ids = {r.id for r in s.runs()}
    table = load_results(runs_dir)
    return table[table["run_id"].isin(ids)].reset_index(drop=True)


def plan(study: dict) -> pd.DataFrame:
    """The runs a study will make (or reuse), one row each."""
    from xltlib.study import study_from_dict

    s = study_from_dict(study, study.get("name", "notebook"))
    return pd.DataFrame([{"setup": r.setup.name, "intermediate": "+".join(r.setup.tasks) or "none",
                          "target": r.target, "seed": r.seed, "run_id": r.id} for r in s.runs()])
