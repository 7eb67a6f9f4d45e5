"""``xlt reports``: execute the research notebooks with Papermill and render them for reading.

    $ xlt reports                                   # toy profile, every notebook, into reports/
    $ xlt reports --profile smoke --only 00_xstilts_main_table -p seeds [0]

For each notebook: the executed ``.ipynb``, an HTML page without code cells, its figures and its tidy
results table (written by the notebook into ``reports/<profile>/``); then ``reports/index.html`` links
them. Runs are cached in ``reports/runs/<profile>`` and shared by all notebooks, so a second call (or a
notebook that needs a run another one made) recomputes nothing.

Progress: ``xlt reports`` writes a line to stderr when a notebook starts and ends and, while it runs, each
progress line of its studies (runs done of those to compute, time elapsed and left: ``runner.Progress``),
prefixed with the notebook's name. The kernel appends them to the file ``$XLT_PROGRESS`` names (its own
stderr would land in the executed notebook) and a thread here copies them.
"""
from __future__ import annotations

import html
import json
import os
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import yaml

from xltlib.errors import ConfigError, XltError
from xltlib.paths import shown
from xltlib.experiment.study import load_study
from xltlib.report.notebook import PROFILE_ENV, PROGRESS_ENV, load_control

ROOT = Path(__file__).resolve().parents[2]
BUILT_IN = ("profile", "runs_dir", "out_dir")  # parameters xlt reports sets itself
# parameters naming a study file, each with its reader: read here, given to the notebook as a path from its folder
STUDY_FILES = {"study_file": load_study, "control_file": load_control}


def notebooks(folder: Path | None = None) -> list[Path]:
    """The research notebooks: in ``folder``, else in the checkout xltlib runs from."""
    folder = Path(folder) if folder else ROOT / "notebooks"
    found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise ConfigError(f"no research notebooks in {folder}: xlt reports runs the notebooks of an xltlib checkout "
                          f"(git clone, then pip install -e .), or of the folder given with --notebooks DIR")
    return found


def notebook_parameters(nb: Path) -> dict:
    """The names and help texts of a notebook's Papermill parameters."""
    import papermill as pm

    return {name: p.get("help", "") for name, p in pm.inspect_notebook(str(nb)).items()}


@contextmanager
def environ(**changes):
    """Environment variables set (a string) or unset (None) while the block runs (and in the notebook kernels
    it starts), each restored afterwards."""
    saved = {k: os.environ.get(k) for k in changes}

    def apply(values):
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    apply(changes)
    try:
        yield
    finally:
        apply(saved)


def _explicit_profile():
    """The notebooks run on the profile xlt reports was given: nbval's environment override is left out."""
    return environ(**{PROFILE_ENV: None})


def _say(report, text: str) -> None:
    """A line to ``report`` (a stream; None: nowhere), above any tqdm bar (papermill's cells bar)."""
    if report is not None:
        from tqdm import tqdm

        tqdm.write(text, file=report)
        report.flush()


@contextmanager
def _progress_lines(name: str, report):
    """While a notebook runs: ``$XLT_PROGRESS`` names a fresh file its studies append progress lines to, and
    a thread copies each whole line to ``report`` as it appears (every second), prefixed with ``name``."""
    if report is None:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="xlt-progress-") as tmp, \
            environ(**{PROGRESS_ENV: str(Path(tmp) / "progress.log")}):
        path = Path(tmp) / "progress.log"
        path.touch()
        stop = threading.Event()

        def copy():
            pending = ""
            with open(path, encoding="utf-8") as f:
                while True:
                    last = stop.is_set()
                    *lines, pending = (pending + f.read()).split("\n")
                    for line in lines:
                        _say(report, f"{name}: {line}")
                    if last:
                        return
                    stop.wait(1.0)

        thread = threading.Thread(target=copy, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def _title(nb_path: Path) -> str:
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return nb_path.stem


def parse_params(pairs: list[str]) -> dict:
    """``key=value`` pairs; values are read as YAML (``seeds=[0,1]``, ``train_scale=0.5``)."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ConfigError(f"-p {pair!r}: expected key=value")
        key, value = pair.split("=", 1)
        out[key.strip()] = yaml.safe_load(value)
    return out


def build_reports(profile: str = "toy", only: list[str] | None = None, out: str | Path = "reports",
                  params: dict | None = None, progress: bool = False, folder: Path | None = None,
                  report=None, study: str | Path | None = None) -> list[Path]:
    """Execute and render the notebooks; returns their HTML pages. ``progress``: papermill's bar of cells;
    ``report``: a stream for progress lines (notebooks started and done, their studies' runs; None: none).
    ``study``: a study file a notebook that takes one (a ``study_file`` parameter) runs or loads instead of
    its defaults: notebook 00, or those ``only`` names; its profile is theirs, its runs and pages go under its
    name (``out/<name>``). A ``control_file`` parameter (notebook 00: a study of one setup set beside it) is
    read like it; its runs go under its own name (``out/runs/<its name>``)."""
    import papermill as pm
    from nbconvert import HTMLExporter

    out = Path(out).resolve()
    target = out / profile
    available = notebooks(folder)
    params = dict(params or {})
    if study is not None:
        params["study_file"] = study
    # study files are validated here (a bad field fails before any notebook starts); each notebook is given the
    # path from its own folder (below)
    loaded = {key: read(params[key]) for key, read in STUDY_FILES.items() if params.get(key)}
    params.update({key: str(Path(params[key]).resolve()) for key in loaded})
    if study is not None:
        profile, target = loaded["study_file"].profile, out / loaded["study_file"].name
        available = [nb for nb in available if "study_file" in notebook_parameters(nb)]
        # a study file fits one notebook's design: the main table (00), unless --only names others
        only = only or [available[0].stem]
    chosen = [nb for nb in available if not only or nb.stem in only]
    if only and len(chosen) != len(only):
        known = ", ".join(nb.stem for nb in available)
        raise ConfigError(f"--only: unknown notebook(s) {sorted(set(only) - {nb.stem for nb in chosen})}; known: {known}")
    declared = {nb: notebook_parameters(nb) for nb in chosen}
    unknown = sorted(k for k in params if k in BUILT_IN or not any(k in d for d in declared.values()))
    if unknown:
        names = sorted({k for d in declared.values() for k in d} - set(BUILT_IN))
        raise ConfigError(f"-p: unknown notebook parameter(s) {', '.join(unknown)}; the parameters of "
                          f"{'these notebooks' if len(chosen) > 1 else chosen[0].stem}: {', '.join(names)}")
    target.mkdir(parents=True, exist_ok=True)
    pages = []
    for i, nb in enumerate(chosen, 1):
        start = time.time()
        executed = target / nb.name
        # paths as the kernel (working directory: the notebook's folder) reads them, relative where they can be:
        # an executed notebook holds no absolute path of the machine that ran it
        parameters = {"profile": profile, "runs_dir": shown(out / "runs" / target.name, nb.parent),
                      "out_dir": shown(target, nb.parent),
                      **{k: v for k, v in params.items() if k in declared[nb]}}
        for key in STUDY_FILES:
            if parameters.get(key):
                parameters[key] = shown(parameters[key], nb.parent)
        _say(report, f"{nb.stem}: started (notebook {i} of {len(chosen)}, profile {profile})")
        try:
            with _explicit_profile(), _progress_lines(nb.stem, report):
                pm.execute_notebook(shown(nb, os.getcwd()), shown(executed, os.getcwd()), parameters=parameters, cwd=str(nb.parent),
                                    progress_bar=progress, kernel_name="python3")
        except pm.PapermillExecutionError as exc:
            cause = str(exc.evalue).strip().splitlines()[0] if str(exc.evalue).strip() else ""
            raise XltError(f"notebook {nb.stem} failed in cell {exc.exec_count}: {exc.ename}: {cause} "
                           f"(the executed notebook, with the traceback: {executed})") from None
        body, _ = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                               exclude_output_prompt=True).from_filename(str(executed))
        page = executed.with_suffix(".html")
        page.write_text(body, encoding="utf-8")
        pages.append(page)
        (target / f"{nb.stem}.seconds").write_text(f"{time.time() - start:.1f}\n")
        _say(report, f"{nb.stem}: done in {time.time() - start:.0f} s (notebook {i} of {len(chosen)})")
    write_index(out)
    return pages


def write_index(out: Path) -> None:
    """``out/index.html``: a row per rendered report under ``out`` (profile, title, the last call's seconds)."""
    rows = []
    for page in sorted(out.glob("*/[0-9][0-9]_*.html")):
        seconds = page.with_suffix(".seconds")
        took = f"{float(seconds.read_text()):.0f} s" if seconds.exists() else ""
        rows.append(f"<tr><td>{html.escape(page.parent.name)}</td><td><a href='{page.parent.name}/{page.name}'>"
                    f"{html.escape(_title(page.with_suffix('.ipynb')))}</a></td><td>{took}</td></tr>")
    (out / "index.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>xltlib reports</title>"
        "<h1>xltlib reports</h1><p>Profile <b>toy</b>: the synthetic toy world (numbers are about that world, "
        "not about XTREME); <b>xtreme</b>: the real benchmark.</p>"
        "<table border=1 cellpadding=4><tr><th>profile</th><th>report</th><th>last call's time (cached runs only load)</th></tr>"
        + "".join(rows) + "</table>\n", encoding="utf-8")
