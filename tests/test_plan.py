"""`xlt plan`: what a study costs, counted from the study's own runs and the size/length/throughput tables."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xltlib.cli import main
from xltlib.experiment.plan import Table, format_plan, plan_study
from xltlib.experiment.study import study_from_dict

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "xstilts_xtreme.yaml"


@pytest.fixture(autouse=True)
def no_model_no_data(tmp_path, monkeypatch):
    """Any model load, request to the Hub or data load is an error: a plan reads tables only."""
    monkeypatch.setenv("XLT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("XLT_HUB_MIRROR", raising=False)

    def no_data(*args, **kwargs):
        raise AssertionError(f"plan loaded data: {args[1:]}")

    def no_model(*args, **kwargs):
        raise AssertionError(f"plan loaded a model or asked the Hub: {args}")

    monkeypatch.setattr("xltlib.experiment.profiles.HubProfile.load", no_data)
    import datasets
    monkeypatch.setattr(datasets, "load_dataset", no_data)
    monkeypatch.setattr("xltlib.hfhub.load_pretrained", no_model)
    monkeypatch.setattr("xltlib.hfhub.hub_unreachable", no_model)
    import huggingface_hub.utils
    monkeypatch.setattr(huggingface_hub.utils, "get_session", no_model)


def xtreme(**changes):
    study = {"name": "s", "profile": "xtreme", "targets": ["xquad", "mlqa"], "seeds": [0, 1, 2],
             "intermediate": ["baseline", "mnli"]}
    return study_from_dict({**study, **changes})


def test_the_xtreme_example_plans_from_the_tables_without_the_hub(capsys, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # no model load at all, offline or not
    assert main(["plan", str(EXAMPLE), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"runs", "trainings", "tokens", "gpu_hours", "hours", "assumptions"} <= set(out)
    assert out["runs"] == 10 * 9 * 3  # the paper's 11 setups less CCG (licensed data)
    # 9 setups with intermediate tasks x 3 seeds; 6 distinct chains (XQuAD and MLQA share SQuAD; BUCC and
    # Tatoeba are scored from the phase-1 encoder) x 10 setups x 3 seeds
    assert out["trainings"] == {"phase1": 27, "phase2": 6 * 10 * 3}
    assert set(out["tokens"]) == {"phase1", "phase2", "eval"} and all(v > 0 for v in out["tokens"].values())
    assert out["gpu_hours"] == pytest.approx(sum(out["hours"].values()))
    assert not [n for n in out["notes"] if n.startswith("not counted")]  # the tables cover every split it reads
    assert any("mnli en/train" in a["what"] and a["what"].split(": ")[1].startswith("estimate")
               for a in out["assumptions"])  # an estimated length is flagged
    assert main(["plan", str(EXAMPLE)]) == 0
    table = capsys.readouterr().out
    assert "H100-hours" in table and "assumptions" in table and "squad_v1" in table


def test_shared_trainings_are_counted_once():
    plan = plan_study(xtreme())
    assert plan.runs == 2 * 2 * 3
    assert dict(plan.trainings["phase1"]) == {"mnli": 3}  # the baseline has no phase 1; one per seed
    assert dict(plan.trainings["phase2"]) == {"squad_v1": 6}  # XQuAD and MLQA share SQuAD v1.1 fine-tuning
    one_seed = plan_study(xtreme(seeds=[0]))
    assert plan.tokens("phase1") == pytest.approx(3 * one_seed.tokens("phase1"))
    assert plan.tokens("phase2") == pytest.approx(3 * one_seed.tokens("phase2"))
    alone = plan_study(xtreme(targets=["xquad"]))
    assert alone.tokens("phase2") == pytest.approx(plan.tokens("phase2"))  # MLQA adds no training
    assert alone.tokens("eval") < plan.tokens("eval")  # but its test sets


def test_phase1_tokens_are_examples_times_real_tokens_times_epochs():
    lengths = Table("lengths").find(("mnli", "en", "train"))
    per_example = float(lengths["tokens_per_input"])
    full = plan_study(xtreme(seeds=[0])).tokens("phase1")
    assert full == pytest.approx(392702 * per_example * 2, rel=1e-4)  # MNLI's 2 epochs (jiant's recipe)
    capped = plan_study(xtreme(seeds=[0], intermediate=[{"name": "m", "tasks": ["mnli"], "cap": 1000}]))
    assert capped.tokens("phase1") == pytest.approx(1000 * per_example * 2, rel=1e-2)
    tenth = plan_study(xtreme(seeds=[0], intermediate=[{"name": "m", "tasks": ["mnli"], "size": 0.1}]))
    assert tenth.tokens("phase1") == pytest.approx(full / 10, rel=1e-3)
    three = plan_study(xtreme(seeds=[0], intermediate=[{"name": "m", "tasks": ["mnli"], "epochs": 3}]))
    assert three.tokens("phase1") == pytest.approx(full * 1.5, rel=1e-3)


def test_tokens_scale_with_train_scale():
    full, half = plan_study(xtreme()), plan_study(xtreme(train_scale=0.5))
    for phase in ("phase1", "phase2"):
        assert half.tokens(phase) == pytest.approx(full.tokens(phase) / 2, rel=1e-3)
    assert half.tokens("eval") < full.tokens("eval")  # fewer dev evaluations, the same test sets


def test_sequential_setups_train_each_task_for_its_own_epochs():
    def phase1(mode):
        setup = {"name": "x", "tasks": ["mnli", "udpos"], "mode": mode}
        return plan_study(xtreme(seeds=[0], intermediate=[setup])).tokens("phase1")

    mnli = plan_study(xtreme(seeds=[0])).tokens("phase1")
    udpos = 21253 * float(Table("lengths").find(("udpos", "en", "train"))["tokens_per_input"])
    assert phase1("sequential") == pytest.approx(mnli + 10 * udpos, rel=1e-3)  # UD-POS: 10 epochs
    assert phase1("multitask") == pytest.approx(mnli + 2 * udpos, rel=1e-3)  # one loop, the first task's 2


def test_gpu_hours_come_from_the_throughput_table():
    h100, a100 = plan_study(xtreme(), "H100"), plan_study(xtreme(), "A100")
    assert a100.gpu_hours() == pytest.approx(2 * h100.gpu_hours())  # the table's A100 rows: H100 x 0.5
    rate = Table("throughput").rate("H100", "xlm-roberta-large", "pair", "train")[0]
    one = plan_study(xtreme(seeds=[0], targets=["xquad"]))
    assert one.gpu_hours("phase1") == pytest.approx(one.tokens("phase1") / rate / 3600)


def test_toy_studies_count_generated_data_and_have_no_gpu_hours():
    study = study_from_dict({"name": "small", "profile": "smoke", "seeds": [0, 1], "targets": ["udpos", "xnli"],
                             "languages": ["en", "nh"], "intermediate": [{"name": "baseline"},
                                                                         {"name": "mnli", "tasks": ["mnli"]}]})
    plan = plan_study(study)
    out = plan.to_json()
    assert out["runs"] == 8 and out["trainings"] == {"phase1": 2, "phase2": 8}
    assert all(v > 0 for v in out["tokens"].values())
    assert out["gpu_hours"] is None and "GPU-hours do not apply" in out["notes"][0]



def test_splits_the_tables_lack_are_named_not_guessed():
    plan = plan_study(xtreme(benchmark="xtreme-r", targets=["mewslix", "xquad"], intermediate=["baseline"]))
    assert any(n.startswith("not counted: mewslix test in ar de en") for n in plan.notes)
    assert plan.gpu_hours() > 0  # the rest is counted


@pytest.mark.parametrize("name", ["sizes", "lengths", "throughput", "models"])
def test_every_table_row_says_where_its_number_comes_from(name):
    from xltlib.experiment.plan import table

    statuses = {r["source"].split(":")[0] for r in table(name)}
    assert statuses <= {"measured", "verified", "stand-in", "derived", "estimate", "recalled"}
    assert all(len(r["source"]) > len("estimate: ") + 10 for r in table(name))


def test_plan_offline_with_an_empty_hub_cache(tmp_path):
    """The issue's check, as a user runs it: HF_HUB_OFFLINE=1, an empty HF_HOME, no mirror."""
    env = {k: v for k, v in os.environ.items() if k != "XLT_HUB_MIRROR"}
    env.update(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), PYTHONPATH=str(EXAMPLE.parents[1]))
    done = subprocess.run([sys.executable, "-m", "xltlib.cli", "plan", str(EXAMPLE), "--json"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["runs"] == 270 and out["trainings"]["phase1"] == 27 and out["tokens"]["phase1"] > 0
    assert out["gpu_hours"] > 0 and out["model_size"]["layers"] == 24


def test_the_plan_reads_the_model_sizes_from_the_table_or_a_directory(tmp_path):
    plan = plan_study(xtreme())
    assert plan.size.parameters == 558_840_832 and "model: xlm-roberta, 24 layers" in format_plan(plan)
    # a directory holding XLM-R Large under another name: its config.json, and Large's throughput rows
    from transformers import XLMRobertaConfig

    XLMRobertaConfig(vocab_size=250002, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                     intermediate_size=4096, max_position_embeddings=514, type_vocab_size=1
                     ).save_pretrained(tmp_path / "my-encoder")
    local = plan_study(xtreme(model=str(tmp_path / "my-encoder")))
    assert local.size.parameters == plan.size.parameters and local.gpu_hours() == pytest.approx(plan.gpu_hours())
    assert any("FacebookAI/xlm-roberta-large's rows" in n for n in local.notes)
    # an unknown Hub id is counted, with a note, not refused
    unknown = plan_study(xtreme(model="someone/some-encoder"))
    assert unknown.tokens() == pytest.approx(plan.tokens()) and unknown.gpu_hours() is None
    assert any("someone/some-encoder is not in xltlib/tables/models.tsv" in n for n in unknown.notes)
    assert "sizes unknown" in format_plan(unknown)
