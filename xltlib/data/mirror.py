"""A local Hub mirror (``XLT_HUB_MIRROR``) in the Hub's exact layouts, for rehearsals and tests.

    build_mirror(root, tasks, languages_of, examples_of)   # every Hub repo the tasks' specs read
    write_repo(root, "google/xtreme", {"PAN-X.de": {"test": (features, rows)}})
    write_script_repo(root, "allenai/social_i_qa", {...})  # a loading script on main + refs/convert/parquet

Each repo is laid out as the Hub keeps a parquet dataset: ``<owner>/<name>/README.md`` with the
``configs:`` YAML and ``<config>/<split>-00000-of-00001.parquet``; a repo that still ships a loading
script holds only ``<name>.py`` on main and its parquet conversion beside it as
``<owner>/<name>@refs/convert/parquet/<config>/<split>/0000.parquet``. Rows are written from normalized
examples by the inverse of each schema of ``xltlib.data.schemas`` (``ROW_WRITERS``), with the column
types the Hub's files have (ClassLabel where the Hub has one, strings where it has strings), so that
reading the mirror exercises the real loading path end to end.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from xltlib.data.schemas import COPA_QUESTIONS
from xltlib.spec.languages import language
from xltlib.spec.tasks import HubSource, TaskSpec

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


# ------------------------------------------------------------------------------------------- row writers
def _features(kind: str, spec: TaskSpec, src: HubSource):
    """The Hub's column types for one schema (ClassLabel where the Hub's files have one)."""
    from datasets import ClassLabel, Features, List, Value

    s, i = Value("string"), Value("int32")
    col = lambda name: src.columns.get(name, name)  # noqa: E731
    labels = ClassLabel(names=list(spec.labels)) if spec.labels else s
    table = {
        "pair": lambda: Features({col("text_a"): s, **({col("text_b"): s} if "text_b" in src.columns else {}),
                                  "label": labels, "idx": i}),
        "nli": lambda: Features({"premise": s, "hypothesis": s, "label": labels, "uid": s}),
        "xnli": lambda: Features({"language": s, "sentence1": s, "sentence2": s, "gold_label": s}),
        "pawsx": lambda: Features({"sentence1": s, "sentence2": s, "label": s}),
        "squad": lambda: Features({"id": s, "title": s, "context": s, "question": s,
                                   "answers": {"text": List(s), "answer_start": List(i)}}),
        "tagging": lambda: Features({"tokens": List(s), col("tags"): List(labels), "langs": List(s)}),
        "bitext": lambda: Features({"source_sentence": s, "target_sentence": s, "source_lang": s, "target_lang": s}),
        "commonsense_qa": lambda: Features({"id": s, "question": s, "question_concept": s,
                                            "choices": {"label": List(s), "text": List(s)}, "answerKey": s}),
        "cosmos_qa": lambda: Features({"id": s, "context": s, "question": s, **{f"answer{k}": s for k in range(4)},
                                       "label": i}),
        "hellaswag": lambda: Features({"ind": i, "ctx": s, "endings": List(s), "label": s}),
        "copa": lambda: Features({"premise": s, "choice1": s, "choice2": s, "question": s, "idx": i,
                                  "label": ClassLabel(names=["choice1", "choice2"]) if "super_glue" in src.path else i}),
        "siqa": lambda: Features({"context": s, "question": s, "answerA": s, "answerB": s, "answerC": s, "label": s}),
        "text": lambda: Features({"id": s, "url": s, "title": s, "text": s}),  # wikimedia/wikipedia
    }
    return table[kind]()


_QUESTIONS = {question: field for field, question in COPA_QUESTIONS.items()}  # the reader's, inverted


def _row(kind: str, e, n: int, spec: TaskSpec, src: HubSource) -> dict:
    """One Hub row of schema ``kind`` from normalized example ``e`` (the inverse of xltlib.data.schemas)."""
    col = lambda name: src.columns.get(name, name)  # noqa: E731
    label_index = {l: k for k, l in enumerate(spec.labels)}
    if kind == "pair":
        return {col("text_a"): e.text_a, **({col("text_b"): e.text_b} if "text_b" in src.columns else {}),
                "label": label_index[e.label], "idx": n}
    if kind == "nli":
        return {"premise": e.text_a, "hypothesis": e.text_b, "label": label_index[e.label], "uid": str(n)}
    if kind == "xnli":
        return {"language": e.lang, "sentence1": e.text_a, "sentence2": e.text_b, "gold_label": e.label}
    if kind == "pawsx":
        return {"sentence1": e.text_a, "sentence2": e.text_b, "label": e.label}
    if kind == "squad":
        return {"id": e.id, "title": "t", "context": e.context, "question": e.question,
                "answers": {"text": list(e.answers), "answer_start": list(e.answer_starts)}}
    if kind == "tagging":
        return {"tokens": list(e.tokens), col("tags"): [label_index[t] for t in e.tags], "langs": [e.lang] * len(e.tokens)}
    if kind == "commonsense_qa":
        keys = "ABCDE"[: len(e.choices)]
        return {"id": e.id, "question": e.question, "question_concept": "", "answerKey": keys[e.label],
                "choices": {"label": list(keys), "text": list(e.choices)}}
    if kind == "cosmos_qa":
        return {"id": e.id, "context": e.context, "question": e.question, "label": e.label,
                **{f"answer{k}": c for k, c in enumerate(e.choices)}}
    if kind == "hellaswag":
        return {"ind": n, "ctx": e.context, "endings": list(e.choices), "label": str(e.label)}
    if kind == "copa":
        return {"premise": e.context, "choice1": e.choices[0], "choice2": e.choices[1],
                "question": _QUESTIONS.get(e.question, e.question), "label": e.label, "idx": n}
    if kind == "text":
        return {"id": e.id, "url": "", "title": "", "text": e.text}
    if kind == "siqa":
        return {"context": e.context, "question": e.question, "answerA": e.choices[0], "answerB": e.choices[1],
                "answerC": e.choices[2], "label": str(e.label + 1)}
    raise ValueError(f"no row writer for schema {kind!r}")


def _bitext_rows(examples: list, lang: str) -> list[dict]:
    """Gold pairs (the Hub's bucc18 / tatoeba form): each query with its first positive candidate."""
    candidates = {e.id: e.text for e in examples if e.role == "candidate"}
    return [{"source_sentence": q.text, "target_sentence": candidates[q.positives[0]], "source_lang": lang,
             "target_lang": "en"} for q in examples if q.role == "query" and q.positives and q.positives[0] in candidates]


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
                    examples = examples_of(spec, lang, split)
                    if src.schema == "bitext":
                        rows = _bitext_rows(examples, lang)
                    else:
                        rows = [_apply_filter(_row(src.schema, e, n, spec, src), src, lang)
                                for n, e in enumerate(examples)]
                    config = src.config_for(lang)
                    feats = _features(src.schema, spec, src)
                    parts = repos.setdefault(src.path, {}).setdefault(config, {})
                    if src.split in parts:  # a pooled config (XNLI, TyDiQA): one split, several languages
                        parts[src.split][1].extend(r for r in rows if r not in parts[src.split][1])
                    else:
                        parts[src.split] = (feats, rows)
    for repo_id, configs in repos.items():
        (write_script_repo if repo_id in SCRIPT_ONLY else write_repo)(root, repo_id, configs)
    return Path(root)
