"""The benchmark harness runs on CPU (tiny config); the numbers themselves are measured, not asserted."""
import json

from benchmarks.__main__ import lengths, main


def test_harness_runs_both_sides_on_cpu(capsys):
    assert main(["--model", "toy-base", "--shape", "xnli", "--device", "cpu", "--steps", "3", "--examples", "256",
                 "--batch", "16", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["baseline"]["padding_share"] > result["xltlib"]["padding_share"]  # grouping pads less
    assert result["speedup_examples"] > 0


def test_length_distributions_respect_the_caps():
    assert max(lengths("xnli", 5000)) <= 128 and max(lengths("squad", 5000)) <= 384
    assert 35 <= sorted(lengths("xnli", 5000))[2500] <= 55  # median ~45 tokens


def test_evaluation_and_retrieval_throughput_run_on_cpu(capsys):
    for shape in ("xnli", "tatoeba"):
        assert main(["--task", "eval", "--model", "toy-base", "--shape", shape, "--device", "cpu", "--examples", "200",
                     "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["baseline"]["padding_share"] > result["xltlib"]["padding_share"]
        assert result["xltlib"]["examples_per_s"] > 0


def test_memory_estimate_uses_real_size_configs_without_allocating(capsys):
    assert main(["--task", "memory", "--model", "xlm-roberta-xxl", "--lora", "16", "--json"]) == 0
    xxl = json.loads(capsys.readouterr().out)
    assert 10.5e9 < xxl["params"] < 10.9e9  # XLM-R XXL: 10.7B parameters
    assert xxl["trained_params"] == 48 * 3 * 2 * 16 * 4096  # rank-16 adapters on q, k, v
    assert main(["--task", "memory", "--model", "xlm-roberta-xl", "--json"]) == 0
    xl = json.loads(capsys.readouterr().out)
    assert 3.4e9 < xl["params"] < 3.6e9 and xl["weights_and_optimizer_gib"] > 50  # full fine-tuning: 18 bytes/param


def test_one_command_runs_a_whole_suite_as_a_markdown_table(capsys):
    assert main(["--suite", "cpu", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| `")]
    assert len(rows) == 3 and "x |" in rows[0] and "GiB" in rows[2]
