"""The package's shape: no import cycles (module-level or inside functions), profile logic in one place,
imports without side effects."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "xltlib"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(top_level_only: bool = False) -> dict[str, set[str]]:
    """Every xltlib module -> the xltlib modules it imports anywhere in its source (functions included), or
    at its top level only (``top_level_only``: outside functions and classes)."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        edges = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = ast.walk(tree) if not top_level_only else \
            (n for stmt in tree.body if not isinstance(stmt, (ast.FunctionDef, ast.ClassDef)) for n in ast.walk(stmt))
        for node in nodes:
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                base = node.module
                if node.level:  # relative imports
                    base = ".".join(name.split(".")[: -node.level] + [node.module])
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for t in targets:
                if t in modules and t != name:
                    edges.add(t)
        graph[name] = edges
    return graph


def test_no_import_cycle_among_xltlib_modules():
    graph = import_graph()
    state: dict[str, int] = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


# The layers, lowest first: a module imports at its top only from its own layer or lower ones. Imports inside
# functions may reach up (the few lazy ones: a data source named in a study is resolved by the profiles, the
# CLI loads what a command needs); the cycle test above covers them.
LAYERS = ("base", "registry", "metrics", "data", "engine", "toy", "experiment", "report", "tools")
BASE = ("errors", "version", "hfhub", "locking", "cache", "distributed", "paths")  # infrastructure every layer may use
TOOLS = ("cli", "rehearsal", "audit", "toy.check", "toy.alignment")  # commands that span the layers


def layer(module: str) -> str:
    name = module.removeprefix("xltlib").lstrip(".")
    if not name or any(name == t or name.startswith(t + ".") for t in TOOLS):
        return "tools"
    top = name.split(".")[0]
    return "base" if top in BASE else top


def test_modules_import_only_from_their_layer_or_below():
    graph = import_graph(top_level_only=True)
    assert {layer(m) for m in graph} <= set(LAYERS), {m: layer(m) for m in graph if layer(m) not in LAYERS}
    upward = [f"{a} ({layer(a)}) imports {b} ({layer(b)})" for a, targets in sorted(graph.items()) for b in sorted(targets)
              if b != "xltlib" and LAYERS.index(layer(b)) > LAYERS.index(layer(a))]
    assert not upward, upward


def test_importing_a_study_loads_neither_the_runner_nor_the_toy_world():
    code = ("import sys, xltlib.experiment.study; bad = [m for m in sys.modules if m.startswith(('xltlib.experiment.runner', 'xltlib.toy'))];"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_profile_names_are_compared_only_in_the_profiles_module():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "profiles.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                names = [n for n in [node.left, *node.comparators] if isinstance(n, ast.Attribute) and n.attr == "profile"
                         or isinstance(n, ast.Name) and n.id == "profile"]
                consts = [n for n in [node.left, *node.comparators]
                          if isinstance(n, ast.Constant) and n.value in ("smoke", "toy", "xtreme")]
                if names and consts:
                    offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, offenders


def test_no_decision_compares_a_format_outside_the_format_classes():
    """Every per-format decision is asked of ``format_of(spec)`` (``TaskFormat``'s traits: trains_head,
    fresh_head, raw_text, capped_by_eval_size, ...) or of a field of the task's record (threshold_on_dev,
    open_labels): no comparison with a ``Format`` member or value outside ``xltlib/engine/formats/``."""
    compare = re.compile(r"(\bis|==|\bis not|!=|\bin)\s+\(?Format\.|Format\.\w+\s+(is|==|!=|in)\b|format\.value\s*(==|!=|in)")
    offenders = [f"{path.relative_to(PACKAGE)}:{i}" for path in PACKAGE.rglob("*.py") if "formats" not in path.parts
                 for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if compare.search(line)]
    assert not offenders, offenders


def test_the_trained_formats_are_named_only_by_their_classes():
    """A format's behaviour is its class in ``xltlib/engine/formats/``: the generic code never branches on the
    formats that train a head (retrieval and MLM, which train none or only in phase 1, remain facts that a
    few places ask about)."""
    named = ("Format.CLASSIFICATION", "Format.MULTIPLE_CHOICE", "Format.SPAN_QA", "Format.TAGGING")
    allowed = {"formats", "tasks.py", "examples.py",
               "profiles.py",  # the toy recipe's epochs per format
               "register.py"}  # the example record in register_task's docstring
    offenders = [f"{path.relative_to(PACKAGE)}: {name}" for path in PACKAGE.rglob("*.py")
                 if not allowed & {path.name, *path.relative_to(PACKAGE).parts[:-1]}
                 for name in named if name in path.read_text(encoding="utf-8")]
    assert not offenders, offenders


def test_every_format_has_its_class():
    from xltlib.engine.formats import FORMATS, TaskFormat
    from xltlib.registry.tasks import Format

    assert set(FORMATS) == set(Format)
    for fmt, obj in FORMATS.items():
        assert obj.format is fmt and isinstance(obj.shape, str)
        for method in ("featurize", "input_text", "made_up") + (("head", "decode", "score") if fmt.value not in
                                                                  ("retrieval", "mlm") else ()):
            assert getattr(type(obj), method) is not getattr(TaskFormat, method), (fmt, method)


def test_importing_xltlib_changes_nothing_in_the_process():
    code = ("import os, logging; before = dict(os.environ); import xltlib, xltlib.engine.model, xltlib.experiment.runner;"
            "from transformers.utils import logging as hf; assert dict(os.environ) == before, "
            "set(os.environ.items()) ^ set(before.items()); print(hf.get_verbosity())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    default = subprocess.run([sys.executable, "-c", "from transformers.utils import logging as hf; print(hf.get_verbosity())"],
                             capture_output=True, text=True).stdout
    assert result.stdout.strip().splitlines()[-1] == default.strip()


def test_loading_a_model_leaves_the_logging_level_as_it_was(tmp_path):
    from transformers import XLMRobertaConfig, XLMRobertaModel
    from transformers.utils import logging as hf

    from xltlib.engine.model import TransferModel

    XLMRobertaModel(XLMRobertaConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=16)).save_pretrained(tmp_path)
    hf.set_verbosity_info()
    try:
        TransferModel.from_pretrained(str(tmp_path))
        assert hf.get_verbosity() == hf.INFO
    finally:
        hf.set_verbosity_warning()


@pytest.mark.slow  # ~12 s: processes pretraining the smoke model
def test_the_toy_model_is_built_once_when_processes_ask_at_the_same_time(tmp_path):
    code = ("import logging, sys; logging.basicConfig(level=logging.INFO, stream=sys.stderr);"
            "from xltlib.toy.pretrain import toy_model; print(toy_model('smoke', progress=False))")
    env = {**__import__("os").environ, "XLT_CACHE": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert outs[0][0] == outs[1][0]  # the same directory
    assert sum("pretrained toy-smoke" in err for _, err in outs) == 1  # trained by one process only


def test_reports_without_the_notebooks_say_where_they_are_looked_for(tmp_path):
    import pytest

    from xltlib.errors import ConfigError
    from xltlib.report.reports import notebooks

    with pytest.raises(ConfigError, match=r"no research notebooks in .*: xlt reports runs the notebooks of an xltlib checkout"):
        notebooks(tmp_path)
    assert [nb.stem[:2] for nb in notebooks()] == ["00", "01", "02", "03", "04", "05"]
