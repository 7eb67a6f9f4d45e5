"""Committed outputs hold no absolute path of the machine that made them (reports, tables, docs, examples),
and the code that writes outputs shows paths relative to the checkout (xltlib.paths)."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from xltlib.paths import CHECKOUT, shown, shown_in

ROOT = Path(__file__).resolve().parent.parent
# a home, a work or temporary folder, a cluster scratch: where a machine's own files are
MACHINE_PATH = re.compile(r"(?<![\w./~-])/(?:home|root|work|Users|tmp|scratch|mnt|private|var/folders)/[\w.+-]+")


def _committed() -> list[Path]:
    try:
        names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / n for n in names.splitlines() if not n.startswith("tests/")]


def test_no_committed_output_holds_a_machine_path():
    found = []
    for path in _committed():
        if path.suffix not in (".csv", ".ipynb", ".html", ".json", ".md", ".yaml", ".tsv", ".txt", ".py", ".sh") \
                or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{path.relative_to(ROOT).as_posix()}: {m.group(0)}" for m in MACHINE_PATH.finditer(text)]
    assert not found, "\n".join(found[:20])


def test_paths_are_shown_relative_to_the_checkout(tmp_path):
    assert shown(CHECKOUT / "data" / "real") == os.path.join("data", "real")
    assert shown(CHECKOUT / "reports" / "runs", start=CHECKOUT / "notebooks") == os.path.join("..", "reports", "runs")
    assert shown(tmp_path) == str(tmp_path)  # outside the checkout: as given


def test_a_note_naming_a_file_in_the_checkout_is_shown_relative(tmp_path):
    from xltlib.experiment.results import load_results, write_rows

    note = f"not in local_data ({CHECKOUT / 'data' / 'real'} has no tatoeba test file for ja)"
    write_rows(tmp_path, "r1", [{"run_id": "r1", "note": note}, {"run_id": "r1", "note": None}])
    notes = load_results(tmp_path)["note"].tolist()
    assert notes[0] == f"not in local_data ({os.path.join('data', 'real')} has no tatoeba test file for ja)"
    assert pd.isna(notes[1])
    assert shown_in(f"{tmp_path}/x.jsonl: bad") == f"{tmp_path}/x.jsonl: bad"  # outside the checkout: as given


def test_why_a_local_directory_lacks_a_split_names_it_relative_to_the_checkout():
    from xltlib.data.local import LocalData

    assert LocalData(CHECKOUT / "tests").lacks("xnli", "de", "test") == "tests has no xnli test file for de"
