"""``xlt reports``: execute the research notebooks with Papermill and render them for reading.

    $ xlt reports                                   # toy profile, every notebook, into reports/
    $ xlt reports --profile smoke --only 00_xstilts_main_table -p seeds=[0]

For each notebook: the executed ``.ipynb``, an HTML page without code cells, its figures and its tidy
results table (written by the notebook into ``reports/<profile>/``); then ``reports/index.html`` links
them. Runs are cached in ``reports/runs/<profile>`` and shared by all notebooks, so a second call (or a
notebook that needs a run another one made) recomputes nothing.
"""
from __future__ import annotations

import html
import json
import time
from pathlib import Path

import yaml

from xltlib.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def notebooks(folder: Path | None = None) -> list[Path]:
    return sorted((folder or ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


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
                  params: dict | None = None, progress: bool = False) -> list[Path]:
    import papermill as pm
    from nbconvert import HTMLExporter

    out = Path(out).resolve()
    target = out / profile
    target.mkdir(parents=True, exist_ok=True)
    chosen = [nb for nb in notebooks() if not only or nb.stem in only]
    if only and len(chosen) != len(only):
        known = ", ".join(nb.stem for nb in notebooks())
        raise ConfigError(f"--only: unknown notebook(s) {sorted(set(only) - {nb.stem for nb in chosen})}; known: {known}")
    pages = []
    for nb in chosen:
        start = time.time()
        executed = target / nb.name
        parameters = {"profile": profile, "runs_dir": str(out / "runs" / profile), "out_dir": str(target),
                      **(params or {})}
        pm.execute_notebook(str(nb), str(executed), parameters=parameters, cwd=str(nb.parent),
                            progress_bar=progress, kernel_name="python3")
        body, _ = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                               exclude_output_prompt=True).from_filename(str(executed))
        page = executed.with_suffix(".html")
        page.write_text(body, encoding="utf-8")
        pages.append(page)
        (target / f"{nb.stem}.seconds").write_text(f"{time.time() - start:.1f}\n")
    _index(out)
    return pages


def _index(out: Path) -> None:
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
