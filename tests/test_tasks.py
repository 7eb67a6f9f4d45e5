"""The task registry, as `xlt tasks` shows it."""
from __future__ import annotations

import json

import pytest

from xltlib.cli import main
from xltlib.registry.languages import is_language
from xltlib.registry.tasks import BENCHMARKS, Format, get_task, list_tasks

XTREME_SIZES = {"xnli": 15, "pawsx": 7, "udpos": 33, "panx": 40, "xquad": 11, "mlqa": 7, "tydiqa": 9,
                "bucc2018": 4, "tatoeba": 36}


def test_xtreme_targets_and_language_counts():
    specs = list_tasks(benchmark="xtreme")
    assert {s.name: len(s.languages) for s in specs} == XTREME_SIZES
    assert len(set().union(*(s.languages for s in specs))) == 40  # "9 tasks, 40 languages"


def test_xtreme_r_changes():
    specs = {s.name: s for s in list_tasks(benchmark="xtreme-r")}
    assert set(specs) == {"xnli", "xcopa", "udpos", "panx", "xquad", "mlqa", "tydiqa", "mewslix", "lareqa", "tatoeba"}
    assert len(specs["udpos"].languages) == 38 and len(specs["panx"].languages) == 48
    assert "ro" in specs["xquad"].languages and "ro" not in get_task("xquad").languages
    assert specs["tatoeba"].encoder_from == "squad_v1" and get_task("tatoeba").encoder_from == "intermediate"
    assert len(set().union(*(s.languages for s in specs.values()))) == 50  # "10 tasks, 50 languages"


def test_intermediate_tasks():
    names = [s.name for s in list_tasks(role="intermediate")]
    assert names == ["anli_plus", "ccg", "commonsenseqa", "cosmosqa", "hellaswag", "mnli", "qqp", "squad_v1",
                     "squad_v2", "sst2", "mlm"]  # mlm: the paper's continued multilingual MLM
    anli = get_task("anli_plus")
    assert [s.path for s in anli.hub["train"]] == ["stanfordnlp/snli", "nyu-mll/glue"] + ["facebook/anli"] * 3
    assert get_task("cosmosqa").hub["train"][0].path == "allenai/cosmos_qa"  # read at refs/convert/parquet
    assert all(s.languages == ("en",) for s in list_tasks(role="intermediate") if s.name != "mlm")  # English tasks


@pytest.mark.parametrize("spec", list_tasks(), ids=lambda s: s.name)
def test_every_spec_is_consistent(spec):
    assert all(is_language(l) for l in spec.languages + spec.train_languages)
    assert spec.role in ("target", "intermediate", "auxiliary")
    if spec.train_task:
        assert get_task(spec.train_task).format is spec.format
    if spec.format is Format.RETRIEVAL:
        assert spec.retrieval is not None and spec.retrieval.layer == 14 and spec.retrieval.of_layers == 24
    if spec.format in (Format.CLASSIFICATION,) or spec.name in ("udpos", "panx"):
        assert spec.labels
    if spec.format is Format.MULTIPLE_CHOICE:
        assert spec.num_choices
    for sources in spec.hub.values():
        for src in sources:
            for lang in src.languages or spec.languages:
                src.config_for(lang)  # every template resolves for every language it serves
    for bench in spec.benchmarks:
        assert spec.category and spec.name in BENCHMARKS[bench].tasks


def test_hyperparameter_defaults_follow_jiant_recipe():
    assert get_task("xquad").max_length == 384 and get_task("xquad").batch_size == 16
    assert get_task("xnli").max_length == 256 and get_task("tatoeba").max_length == 512
    assert (get_task("xnli").epochs, get_task("pawsx").epochs, get_task("udpos").epochs) == (2, 5, 10)


def test_unknown_names_list_valid_choices():
    with pytest.raises(KeyError, match="known tasks: xnli, pawsx"):
        get_task("nope")
    with pytest.raises(KeyError, match="task 'pawsx' is not part of xtreme-r"):
        get_task("pawsx", benchmark="xtreme-r")
    with pytest.raises(KeyError, match="known formats: classification"):
        list_tasks(format="ranking")


def test_cli_tasks_table(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    for spec in list_tasks():
        assert spec.name in out
    assert "en ar bg de el es fr hi ru sw th tr ur vi zh" in out  # languages are listed


def test_cli_tasks_json_filters(capsys):
    assert main(["tasks", "--benchmark", "xtreme-r", "--format", "retrieval", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["mewslix", "lareqa", "tatoeba"]
    assert rows[0]["languages"][:2] == ["ar", "de"] and rows[0]["metrics"] == ["map@20"]


def test_cli_one_task_gathers_everything_about_it(capsys):
    assert main(["tasks", "udpos", "--benchmark", "xtreme-r", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["languages"] == list(get_task("udpos", "xtreme-r").languages) and r["toy"]["generator"] == "tagging"
    assert {s["schema"] for s in r["hub"]["train"]} == {"tagging"} and r["hub"]["train"][0]["columns"] == {"tags": "pos_tags"}
    assert r["local"]["train"] == ["udpos/<lang>/train.jsonl", "udpos/train-{lang}.tsv"]  # normalized, then XTREME's
    assert {row["task"] for row in r["sizes"] + r["lengths"]} == {"udpos"} and r["sizes"] and r["lengths"]
    assert main(["tasks", "ccg"]) == 0
    out = capsys.readouterr().out
    assert "local directory train: ccg/<lang>/train.jsonl or ccg/train.tsv" in out and "toy world: generated" in out
    assert main(["tasks", "nope"]) == 2 and "unknown task 'nope'" in capsys.readouterr().err
