"""A local Hub mirror (``XLT_HUB_MIRROR``) in the Hub's exact layouts, for rehearsals and tests.

    build_mirror(root, tasks, languages_of, examples_of)   # every Hub repo the tasks' specs read
    write_repo(root, "google/xtreme", {"PAN-X.de": {"test": (features, rows)}})
    write_script_repo(root, "allenai/social_i_qa", {...})  # a loading script on main + refs/convert/parquet

Each repo is laid out as the Hub keeps a parquet dataset: ``<owner>/<name>/README.md`` with the
``configs:`` YAML and ``<config>/<split>-00000-of-00001.parquet``; a repo that still ships a loading
script holds only ``<name>.py`` on main and its parquet conversion beside it as
``<owner>/<name>@refs/convert/parquet/<config>/<split>/0000.parquet``. Rows are written from normalized
examples by each schema's writer (``xltlib.data.schemas.SCHEMAS``, beside its reader), with the column
types the Hub's files have (ClassLabel where the Hub has one, strings where it has strings), so that
reading the mirror exercises the real loading path end to end.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from xltlib.data.schemas import SCHEMAS
from xltlib.registry.languages import language
from xltlib.registry.tasks import HubSource, TaskSpec

SCRIPT_ONLY = {"allenai/social_i_qa", "allenai/cosmos_qa"}  # main holds a loading script (docs/reference.md)


def _write_parquet(path: Path, features, rows: list[dict]) -> None:
    import datasets

    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # a bar per file written: not our progress
    try:
        datasets.Dataset.from_dict({k: [r[k] for r in rows] for k in features}, features=features).to_parquet(str(path))
    finally:
        if bars:
            datasets.enable_progress_bars()


def write_repo(root: Path, repo_id: str, configs: dict) -> Path:
    """A parquet dataset repo. ``configs``: {config name or None: {split: (features, rows)}}."""
    repo = Path(root) / repo_id
    yaml = ["---", "configs:"]
    for config, splits in configs.items():
        name = config or "default"
        yaml += [f"- config_name: {name}", "  data_files:"]
        for split, (features, rows) in splits.items():
            path = repo / name / f"{split}-00000-of-00001.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_parquet(path, features, rows)
            yaml += [f"  - split: {split}", f"    path: {name}/{split}-*.parquet"]
    yaml.append("---")
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "README.md").write_text("\n".join(yaml) + "\n", encoding="utf-8")
    return repo


def write_script_repo(root: Path, repo_id: str, configs: dict) -> Path:
    """A repo that still ships a loading script: ``<name>.py`` on main (datasets >= 4 refuses it) and the
    Hub's parquet conversion at ``<owner>/<name>@refs/convert/parquet`` (one folder per config, no README,
    so its only config is "default")."""
    repo = Path(root) / repo_id
    repo.mkdir(parents=True, exist_ok=True)
    (repo / f"{repo_id.split('/')[-1]}.py").write_text("import datasets  # a loading script\n", encoding="utf-8")
    (repo / "README.md").write_text("---\nlicense: cc-by-4.0\n---\n", encoding="utf-8")
    for config, splits in configs.items():
        for split, (features, rows) in splits.items():
            path = Path(root) / f"{repo_id}@refs/convert/parquet" / (config or "default") / split / "0000.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_parquet(path, features, rows)
    return repo


def _apply_filter(row: dict, src: HubSource, lang: str) -> dict:
    """Configs that pool languages carry the language in a column or in the id (TyDiQA: "english-...")."""
    if src.language_filter == "id_prefix":
        return {**row, "id": f"{language(lang).name.lower()}-{row['id']}"}
    return row  # "column:language": the xnli writer fills it


# ------------------------------------------------------------------------------------------- the mirror
def build_mirror(root: Path, specs: list[TaskSpec], languages_of: Callable[[TaskSpec, str], list[str]],
                 examples_of: Callable[[TaskSpec, str, str], list]) -> Path:
    """Every Hub repo that ``specs`` read, for the splits they have and the languages
    ``languages_of(spec, split)`` names, with rows from ``examples_of(spec, lang, split)`` (normalized
    examples). Returns ``root``."""
    repos: dict[str, dict] = {}  # repo id -> {config: {split: (features, rows)}}
    for spec in specs:
        for split, sources in spec.hub.items():
            for src in sources:
                for lang in languages_of(spec, split):
                    if src.languages is not None and lang not in src.languages:
                        continue
                    schema = SCHEMAS[src.schema]
                    written = schema.write(examples_of(spec, lang, split), spec, src, lang)
                    rows = [_apply_filter(r, src, lang) for r in written]
                    config = src.config_for(lang)
                    feats = schema.features(spec, src)
                    parts = repos.setdefault(src.path, {}).setdefault(config, {})
                    if src.split in parts:  # a pooled config (XNLI, TyDiQA): one split, several languages
                        parts[src.split][1].extend(r for r in rows if r not in parts[src.split][1])
                    else:
                        parts[src.split] = (feats, rows)
    for repo_id, configs in repos.items():
        (write_script_repo if repo_id in SCRIPT_ONLY else write_repo)(root, repo_id, configs)
    return Path(root)
