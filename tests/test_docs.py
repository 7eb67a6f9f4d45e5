"""The documentation stays true: a short README, links that resolve, and reference tables that name every
study field, every ``xlt`` command and every ``XLT_*`` variable the code reads."""
from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")


def _prose(text: str) -> str:
    """The text without fenced code blocks and inline code, where a bracket is not a link."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", text, flags=re.M)}


def _links(page: Path) -> list[str]:
    return [a or b for a, b in LINK.findall(_prose(page.read_text(encoding="utf-8")))]


def test_the_readme_is_a_short_manual():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; move detail into docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_a_file_that_exists(page):
    broken = []
    for target in _links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no file {file.relative_to(ROOT) if file.is_relative_to(ROOT) else file}")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(f"{target}: no heading with anchor #{anchor} in {file.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def _table_fields(section: str) -> set[str]:
    """The field names in the first column of the table under ``## section`` of docs/study.md."""
    text = (ROOT / "docs" / "study.md").read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(\w+)` \|", body, flags=re.M))


@pytest.mark.parametrize("section,cls", [("Study fields", "Study"), ("Setup fields", "Setup")])
def test_the_field_tables_name_every_field_and_no_other(section, cls):
    from xltlib.experiment import study

    fields = {f.name for f in dataclasses.fields(getattr(study, cls))}
    documented = _table_fields(section)
    assert fields - documented == set(), f"docs/study.md, {section}: fields without a row"
    assert documented - fields == set(), f"docs/study.md, {section}: rows for fields {cls} does not have"


def _commands(parser: argparse.ArgumentParser, prefix: str = "xlt") -> list[str]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = _commands(sub, f"{prefix} {name}")
                out += nested or [f"{prefix} {name}"]
    return out


def test_the_cli_page_names_every_command():
    from xltlib.cli import build_parser

    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = [c for c in _commands(build_parser()) if f"`{c}" not in text]
    assert not missing, f"docs/cli.md does not name {missing}"


def test_the_environment_page_names_every_variable_the_code_reads():
    names = set()
    for path in (ROOT / "xltlib").rglob("*.py"):
        names |= set(re.findall(r"\bXLT_[A-Z][A-Z_]*[A-Z]\b", path.read_text(encoding="utf-8")))
    text = (ROOT / "docs" / "environment.md").read_text(encoding="utf-8")
    missing = sorted(n for n in names if f"`{n}`" not in text)
    assert names and not missing, f"docs/environment.md does not name {missing}"
