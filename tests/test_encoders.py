"""Any multilingual encoder on the real path, and the study fields real CPU runs need.

BERT-family encoders (mBERT, multilingual E5 / MiniLM, LaBSE) and XLM-R family ones run the same study on
XTREME's real files with XLM-R's real tokenizer; the fields (retrieval layer and prefix, frozen embeddings,
random weights, per-target training data, scored split and budgets) each change what they should and
nothing else, and run keys made before they existed stay valid."""
from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

import pytest
import torch

from xltlib.errors import ConfigError
from xltlib.experiment.results import load_results
from xltlib.experiment.study import load_study, study_from_dict
from xltlib.paths import shown
from xltlib.rehearsal import SAMPLE

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).parent.parent / "examples"


def _model(path: Path, family: str) -> str:
    """A tiny random-weight encoder of ``family`` with XLM-R's real tokenizer (as mBERT-style checkpoints of
    multilingual E5 / MiniLM have): BERT positions and token types, or RoBERTa's padding-offset positions."""
    from transformers import BertConfig, BertModel, XLMRobertaConfig, XLMRobertaModel

    from xltlib.data.tokenizer import load_tokenizer, real_tokenizer_dir

    sizes = dict(vocab_size=250002, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=32, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    torch.manual_seed(1234)  # not a seed the runs draw random weights with
    if family == "bert":
        model = BertModel(BertConfig(max_position_embeddings=512, type_vocab_size=2, **sizes), add_pooling_layer=False)
    else:
        model = XLMRobertaModel(XLMRobertaConfig(max_position_embeddings=514, **sizes), add_pooling_layer=False)
    model.save_pretrained(path)
    load_tokenizer(real_tokenizer_dir(path.parent / "spm")).save_pretrained(path)
    return str(path)


def _study(model: str, **fields) -> dict:
    return {"name": "enc", "profile": "xtreme", "model": model, "local_data": str(SAMPLE),
            "targets": ["udpos", "xquad"], "languages": ["en", "de", "zh"], "train_on": {"xquad": "tydiqa"},
            "eval_split": {"udpos": "dev"}, "target_size": {"udpos": 24, "tydiqa": 16}, "eval_size": 12,
            "train_scale": 0.2, "learning_rate": 1e-3, **fields}


@pytest.mark.parametrize("family,fields", [("bert", {"pooling": "mean", "freeze_embeddings": True}),
                                           ("bert", {"lora": 2}),
                                           ("xlm-roberta", {"pooling": "cls"})])
def test_either_family_runs_the_study_on_real_files(tmp_path, family, fields, one_thread):
    from xltlib.experiment.runner import run_study

    study = study_from_dict(_study(_model(tmp_path / "model", family), **fields))
    run_study(study, tmp_path / "out", progress=False)
    table = load_results(tmp_path / "out")
    scored = table[table.phase == "zero-shot"]
    assert set(zip(scored.target, scored.language, scored.split)) == {
        ("udpos", "en", "dev"), ("udpos", "zh", "dev"), ("udpos", "de", "dev"),
        ("xquad", "en", "test"), ("xquad", "de", "test"), ("xquad", "zh", "test")}
    udpos_de = scored[(scored.target == "udpos") & (scored.language == "de")]
    assert udpos_de.metric.tolist() == ["missing"]  # no German UD dev file here: listed, not fatal
    values = scored[scored.metric != "missing"].value
    assert values.notna().all() and ((values >= 0) & (values <= 100)).all()
    notes = set(scored[scored.target == "xquad"].note)
    assert notes == {"fine-tuned on tydiqa, not on the benchmark's training data"}
    assert not scored[scored.target == "xquad"].comparable.any()


def test_provenance_gives_every_reason_a_score_is_not_comparable():
    from xltlib.registry.tasks import get_task

    backend = study_from_dict(_study("xlm-roberta-base")).profile_impl
    xquad = get_task("xquad")
    assert backend.provenance(xquad, "de") == (shown(SAMPLE), True, "")  # as outputs show it: in the checkout
    source, comparable, note = backend.provenance(dataclasses.replace(xquad, train_task="tydiqa"), "de", "dev")
    assert not comparable and note == ("scored on the dev split, not the test split published numbers use; "
                                       "fine-tuned on tydiqa, not on the benchmark's training data")


def test_the_real_study_and_its_control_validate_and_plan_without_the_model(monkeypatch, tmp_path):
    from xltlib.experiment.plan import plan_study

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # a clean clone has no data/real (it is gitignored): copy the studies beside a stand-in for it
    (tmp_path / "data" / "real").mkdir(parents=True)
    (tmp_path / "examples").mkdir()
    for name in ("real_cpu.yaml", "real_cpu_random.yaml"):
        shutil.copy(EXAMPLES / name, tmp_path / "examples" / name)
    study = load_study(tmp_path / "examples" / "real_cpu.yaml")
    control = load_study(tmp_path / "examples" / "real_cpu_random.yaml")
    assert Path(study.local_data).resolve() == (tmp_path / "data" / "real").resolve()  # relative to the study file
    assert control.random_weights and not study.random_weights
    # the control differs in what it controls for only: everything else (data, budgets, recipe, seeds) is the same
    differ = {f.name for f in dataclasses.fields(study) if getattr(study, f.name) != getattr(control, f.name)}
    assert differ == {"name", "random_weights", "intermediate", "phase1_seed"}
    plan = plan_study(study)
    assert plan.runs == 3 * 3 * 3 and plan.size.layers == 12 and plan.size.architecture == "bert"


def test_retrieval_layer_and_prefix_reach_the_spec_the_features_and_the_run_key(tmp_path):
    from xltlib.data.tokenizer import load_tokenizer
    from xltlib.engine.features import featurize

    model = _model(tmp_path / "model", "bert")
    base = {"name": "r", "profile": "xtreme", "model": model, "targets": ["tatoeba"], "languages": ["de"]}
    default, last = study_from_dict(base), study_from_dict({**base, "retrieval_layer": "last"})
    third = study_from_dict({**base, "retrieval_layer": 1, "retrieval_prefix": "query: "})
    assert default.target_spec("tatoeba").retrieval.layer_for(12) == 7  # XTREME's 14 of 24
    assert last.target_spec("tatoeba").retrieval.layer_for(12) == 12
    assert third.target_spec("tatoeba").retrieval.layer_for(12) == 1
    ids = {s.runs()[0].id for s in (default, last, third)}
    assert len(ids) == 3
    with pytest.raises(ConfigError, match="retrieval_layer: 3 is deeper than .* 2 layers"):
        study_from_dict({**base, "retrieval_layer": 3})
    tok = load_tokenizer(model)
    from xltlib.registry.examples import RetrievalExample

    ex = [RetrievalExample("q1", "Hallo Welt", "query", ("c1",), "de")]
    plain = featurize(default.target_spec("tatoeba"), ex, tok).items[0]["input_ids"]
    prefixed = featurize(third.target_spec("tatoeba"), ex, tok).items[0]["input_ids"]
    assert prefixed == tok("query: Hallo Welt")["input_ids"] and prefixed[-len(plain) + 1:] == plain[1:]


def test_frozen_embeddings_stay_as_pretrained_and_random_weights_are_drawn_per_seed(tmp_path, one_thread):
    from xltlib.experiment.runner import _load_encoder, guarded_fine_tune, load_tokenizer, loader

    model = _model(tmp_path / "model", "bert")
    pretrained = _load_encoder(study_from_dict(_study(model)), model).encoder.get_input_embeddings().weight.clone()
    frozen = study_from_dict(_study(model, freeze_embeddings=True))
    run = [r for r in frozen.runs() if r.target == "udpos"][0]
    tuned, _, _ = guarded_fine_tune(frozen, model, run.chain(), load_tokenizer(model), loader(frozen), 0)
    emb = tuned.encoder.get_input_embeddings().weight
    assert not emb.requires_grad and torch.equal(emb, pretrained)
    assert any(not torch.equal(p, q) for p, q in zip(tuned.encoder.encoder.parameters(),
                                                      _load_encoder(frozen, model).encoder.encoder.parameters()))
    rand = study_from_dict(_study(model, random_weights=True))
    a, b = (_load_encoder(rand, model, seed).encoder.get_input_embeddings().weight for seed in (0, 1))
    assert not torch.equal(a, pretrained) and not torch.equal(a, b)
    assert torch.equal(_load_encoder(rand, model, 0).encoder.get_input_embeddings().weight, a)  # reproducible
    assert {r.id for r in rand.runs()}.isdisjoint(r.id for r in study_from_dict(_study(model)).runs())


def test_budgets_cut_training_and_scored_sets_the_same_way_for_every_setup(tmp_path):
    from xltlib.experiment.runner import loader

    study = study_from_dict(_study(_model(tmp_path / "model", "bert")))
    a, b = loader(study, seed=0), loader(study, seed=1)
    assert len(a("udpos", "en", "train").examples) == 24 and len(a("tydiqa", "en", "train").examples) == 16
    assert [e.id for e in a("udpos", "en", "train").examples] == [e.id for e in loader(study, 0)("udpos", "en", "train").examples]
    assert [e.id for e in a("udpos", "en", "train").examples] != [e.id for e in b("udpos", "en", "train").examples]
    assert len(a("xquad", "de", "test").examples) == 12 and len(a("udpos", "zh", "dev").examples) == 12
    whole = study_from_dict({**_study(str(tmp_path / "model")), "target_size": None, "eval_size": None})
    assert len(loader(whole)("udpos", "zh", "dev").examples) > 12


def test_train_on_and_eval_split_are_checked_against_the_tasks():
    base = {"name": "x", "profile": "xtreme", "model": "FacebookAI/xlm-roberta-large", "targets": ["xquad", "udpos"]}
    with pytest.raises(ConfigError, match="train_on.xquad: udpos .* cannot train xquad"):
        study_from_dict({**base, "train_on": {"xquad": "udpos"}})
    with pytest.raises(ConfigError, match="eval_split: xnli not among the study's targets"):
        study_from_dict({**base, "eval_split": {"xnli": "dev"}})
    with pytest.raises(ConfigError, match="target_size: mnli is no target's English training task"):
        study_from_dict({**base, "target_size": {"mnli": 100}})
    shared = study_from_dict({**base, "targets": ["xquad", "tydiqa"], "train_on": {"xquad": "tydiqa"}})
    assert len({r.phase2_key for r in shared.runs()}) == 1  # XQuAD fine-tuned on TyDiQA shares TyDiQA's


def test_train_on_a_list_is_the_whole_chain():
    base = {"name": "x", "profile": "xtreme", "model": "FacebookAI/xlm-roberta-large", "targets": ["xcopa"]}
    default, alone = study_from_dict(base), study_from_dict({**base, "train_on": {"xcopa": ["copa"]}})
    assert [s.name for s in default.runs()[0].chain()] == ["siqa", "copa"]  # XTREME-R's: SIQA, then COPA
    assert [s.name for s in alone.runs()[0].chain()] == ["copa"]
    assert alone.runs()[0].id != default.runs()[0].id
    assert [s.name for s in study_from_dict({**base, "train_on": {"xcopa": ["siqa", "copa"]}}).runs()[0].chain()] \
        == ["siqa", "copa"]
    with pytest.raises(ConfigError, match="train_on.xcopa: udpos .* cannot train xcopa"):
        study_from_dict({**base, "train_on": {"xcopa": ["udpos", "copa"]}})
    with pytest.raises(ConfigError, match="train_on: expected a mapping"):
        study_from_dict({**base, "train_on": {"xcopa": []}})
    assert "fine-tuned on copa, not on the benchmark's" in alone.profile_impl.provenance(alone.target_spec("xcopa"), "it")[2]
    assert "fine-tuned" not in default.profile_impl.provenance(default.target_spec("xcopa"), "it")[2]
    bucc = study_from_dict({**base, "targets": ["bucc2018"]})
    assert "threshold tuned on the same dev gold" in bucc.profile_impl.provenance(bucc.target_spec("bucc2018"), "zh", "dev")[2]


def test_runs_scored_straight_from_one_encoder_are_scored_once(tmp_path, monkeypatch, one_thread):
    from xltlib.experiment import runner

    model = _model(tmp_path / "model", "bert")
    study = study_from_dict({"name": "t", "profile": "xtreme", "model": model, "targets": ["tatoeba"],
                             "languages": ["de"], "seeds": [0, 1, 2], "local_data": str(DATA / "laser-tatoeba")})
    assert len(runner.groups(study.runs())) == 1  # the baseline encoder is the same for every seed
    calls = []
    real = runner.zero_shot
    monkeypatch.setattr(runner, "zero_shot", lambda *a, **k: calls.append(1) or real(*a, **k))
    runner.run_study(study, tmp_path / "out", progress=False)
    table = load_results(tmp_path / "out")
    assert len(calls) == 1 and sorted(table.seed) == [0, 1, 2] and table.value.nunique() == 1
    random = study_from_dict({**{k: getattr(study, k) for k in ("name", "profile", "model", "targets", "languages",
                                                                 "seeds", "local_data")}, "random_weights": True})
    assert len(runner.groups(random.runs())) == 3  # random weights are drawn per seed: three encoders


def test_schema_1_keys_are_the_keys_the_code_made_before_schema_2():
    """The migration computes each run's schema-1 keys as that code did (the toy studies' run, phase-1 and
    phase-2 keys, hashed together), so that it finds the files a directory of schema 1 holds."""
    from xltlib.experiment.migrate import keys_v1

    for name, expected in (("toy_small.yaml", "f4d98237cacb62db"), ("toy_regime.yaml", "f64666362634b9ce")):
        runs = load_study(EXAMPLES / name).runs()
        keys = sorted(keys_v1(r)[0] for r in runs) + sorted({keys_v1(r)[1] or "" for r in runs}) + \
            sorted({keys_v1(r)[2] or "" for r in runs})
        assert hashlib.sha256(" ".join(keys).encode()).hexdigest()[:16] == expected, name


def test_run_keys_change_only_with_the_schema():
    """The current schema's keys of the toy studies: a change to what a key holds shows here (and needs a
    new schema and its migration, xltlib.experiment.migrate)."""
    for name, expected in (("toy_small.yaml", "6c6ca8e61b5c39b7"), ("toy_regime.yaml", "ce233711b1badfb4")):
        runs = load_study(EXAMPLES / name).runs()
        keys = sorted(r.id for r in runs) + sorted({r.phase1_key or "" for r in runs}) + \
            sorted({r.phase2_key or "" for r in runs})
        assert hashlib.sha256(" ".join(keys).encode()).hexdigest()[:16] == expected, name


def test_laser_tatoeba_is_read_in_every_layout_and_xtremes_sorted_copy_stays_refused(tmp_path):
    from xltlib.data import BlankedLabelsError, load_examples

    for where in ("tatoeba/v1", "tatoeba", "v1"):
        root = tmp_path / where.replace("/", "_")
        (root / where).mkdir(parents=True)
        for ext in ("deu", "eng"):
            (root / where / f"tatoeba.deu-eng.{ext}").write_text(
                (DATA / "laser-tatoeba" / "v1" / f"tatoeba.deu-eng.{ext}").read_text(encoding="utf-8"), encoding="utf-8")
        data = load_examples("tatoeba", "de", "test", source=root)
        queries = [e for e in data.examples if e.role == "query"]
        assert len(queries) == 1000 and queries[0].positives == ("c1",), where
    with pytest.raises(BlankedLabelsError, match="English side is sorted"):
        load_examples("tatoeba", "de", "test", source=SAMPLE)


def test_glue_sst2_tsv_is_read_by_name_and_bad_rows_are_named(tmp_path):
    import warnings

    from xltlib.data import MalformedRowWarning, load_examples

    (tmp_path / "SST-2").mkdir()
    (tmp_path / "SST-2" / "train.tsv").write_text('sentence\tlabel\na fine film \t1\n" dull " , she said \t0\nbroken\t7\n')
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", MalformedRowWarning)
        data = load_examples("sst2", "en", "train", source=tmp_path)
    assert [(e.text_a, e.label) for e in data.examples] == [("a fine film", "positive"), ('" dull " , she said', "negative")]
    assert sum(data.skipped.values()) == 1 and any("label index below 2" in str(w.message) for w in seen)


def test_a_local_file_edited_in_a_long_lived_process_is_read_again(tmp_path):
    from xltlib.experiment.profiles import make_profile

    (tmp_path / "SST-2").mkdir()
    path = tmp_path / "SST-2" / "dev.tsv"
    path.write_text("sentence\tlabel\ngood .\t1\n")
    profile = make_profile("xtreme", "FacebookAI/xlm-roberta-large", local_data=str(tmp_path))
    assert len(profile.load("sst2", "en", "dev").examples) == 1
    path.write_text("sentence\tlabel\ngood .\t1\nbad .\t0\n")
    assert len(profile.load("sst2", "en", "dev").examples) == 2


def test_a_result_reused_after_its_data_moved_says_where_the_data_is_now(tmp_path, one_thread):
    import shutil

    from xltlib.experiment import runner

    model = _model(tmp_path / "model", "bert")
    first, second = tmp_path / "here", tmp_path / "there"
    shutil.copytree(DATA / "laser-tatoeba", first)
    study = {"name": "t", "profile": "xtreme", "model": model, "targets": ["tatoeba"], "languages": ["de"]}
    runner.run_study(study_from_dict({**study, "local_data": str(first)}), tmp_path / "out", progress=False)
    assert set(load_results(tmp_path / "out").data) == {str(first)}
    first.rename(second)  # the same files elsewhere: the same run (its key holds the data's contents)
    counts = runner.run_study(study_from_dict({**study, "local_data": str(second)}), tmp_path / "out", progress=False)
    assert counts["ran"] == 0 and set(load_results(tmp_path / "out").data) == {str(second)}


def test_a_targets_english_training_texts_are_those_its_study_fine_tunes_on():
    # notebook 05 compares a target's inputs with the intermediate tasks': with train_on, XQuAD's are TyDiQA's
    from xltlib.report.notebook import english_train

    study = study_from_dict(_study("FacebookAI/xlm-roberta-base"))
    tydiqa = english_train(study, "tydiqa")
    assert tydiqa and english_train(study, "xquad") == tydiqa
