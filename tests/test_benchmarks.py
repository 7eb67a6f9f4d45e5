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
