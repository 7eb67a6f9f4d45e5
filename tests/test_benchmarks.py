"""The benchmark harness measures the engine's own code path on real lengths; it runs on CPU (toy sizes)."""
import json
import statistics

import pytest

from benchmarks.__main__ import SUITES, main
from benchmarks.realdata import SHAPES, features, real_tokenizer, tokenizer_for
from benchmarks.steptimer import PHASES


pytestmark = pytest.mark.usefixtures("one_thread")


def run(capsys, *args) -> dict:
    assert main([*args, "--device", "cpu", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_lengths_are_those_of_xtremes_files_under_xlmrs_tokenizer():
    assert real_tokenizer()("Hello world")["input_ids"] == [0, 35378, 8999, 2]
    xnli = [len(it["input_ids"]) for it in features("xnli", 240, real_tokenizer()).items]
    assert 25 <= statistics.median(xnli) <= 50 and max(xnli) <= SHAPES["xnli"].width  # short pairs
    squad = [len(it["input_ids"]) for it in features("squad", 180, real_tokenizer()).items]
    assert len(squad) >= 180 and max(squad) <= 384 and statistics.median(squad) > 2 * statistics.median(xnli)
    folded = features("xnli", 240, tokenizer_for(1400)).items
    assert [len(it["input_ids"]) for it in folded] == xnli and max(max(it["input_ids"]) for it in folded) < 1400


def test_the_engine_side_runs_trainer_step_and_pads_less_on_the_same_examples(capsys, monkeypatch):
    from xltlib.engine.train import Trainer

    calls = []
    step = Trainer.step
    monkeypatch.setattr(Trainer, "step", lambda self, head, mb: calls.append(head) or step(self, head, mb))
    result = run(capsys, "--model", "toy-base", "--shape", "xnli", "--steps", "4", "--batch", "8")
    base, ours = result["baseline"], result["xltlib"]
    assert calls == ["xnli"] * 8  # an untimed pass and a timed pass of 4 steps, through the product's step
    assert base["examples"] == ours["examples"] == 32
    assert base["real_tokens_per_example"] == ours["real_tokens_per_example"]  # the same examples, once each
    assert base["padding_share"] == pytest.approx(1 - base["real_tokens_per_example"] / 128)  # padded to 128
    assert ours["padding_share"] < base["padding_share"] / 2


def test_the_step_breakdown_adds_up_to_the_step(capsys):
    ours = run(capsys, "--model", "toy-base", "--shape", "udpos", "--steps", "4", "--batch", "8",
               "--pad-multiple", "32")["xltlib"]
    parts = ours["breakdown_ms"]
    assert set(parts) == set(PHASES) and all(ms > 0 for ms in parts.values())
    assert sum(parts.values()) == pytest.approx(ours["step_ms"], rel=0.10)
    assert parts["forward"] + parts["backward"] > parts["host"]
    assert ours["shapes"] <= 4  # widths 32, 64, 96, 128


def test_evaluation_goes_through_evaluate_and_pads_less(capsys):
    for shape, metric in (("xnli", "accuracy"), ("tatoeba", "accuracy")):
        result = run(capsys, "--task", "eval", "--model", "toy-base", "--shape", shape, "--examples", "64")
        base, ours = result["baseline"], result["xltlib"]
        assert metric in ours["scores"] and base["examples"] == ours["examples"] == 64
        assert ours["padding_share"] < base["padding_share"]


def test_memory_estimate_uses_real_size_configs_without_allocating(capsys):
    assert main(["--task", "memory", "--model", "xlm-roberta-xxl", "--lora", "16", "--json"]) == 0
    xxl = json.loads(capsys.readouterr().out)
    assert 10.5e9 < xxl["params"] < 10.9e9  # XLM-R XXL: 10.7B parameters
    assert xxl["trained_params"] == 48 * 3 * 2 * 16 * 4096  # rank-16 adapters on q, k, v
    assert main(["--task", "memory", "--model", "xlm-roberta-xl", "--json"]) == 0
    xl = json.loads(capsys.readouterr().out)
    assert 3.4e9 < xl["params"] < 3.6e9 and xl["weights_and_optimizer_gib"] > 50  # full fine-tuning: 18 bytes/param


@pytest.mark.slow  # ~11 s: a whole benchmark suite
def test_one_command_runs_a_whole_suite_as_a_markdown_table(capsys):
    assert main(["--suite", "cpu", "--device", "cpu"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == SUITES["cpu"]  # a row per requested configuration, in order
    train = [row for row, line in zip(rows, SUITES["cpu"]) if "--task" not in line]
    assert train and all(row.split(" | ")[3].endswith("x") and " / " in row.split(" | ")[7] for row in train)
    assert "GiB" in rows[-1]


def test_a_gpu_suite_row_asks_for_what_the_harness_knows():
    from benchmarks.__main__ import parser

    for line in SUITES["gpu"]:
        args = parser().parse_args(line.split())
        assert not args.compile or args.pad_multiple  # TrainConfig refuses compile without widths
