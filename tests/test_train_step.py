"""The opt-in cheaper step trains exactly as the eager step does: ``TrainConfig.pad_multiple`` (a few padded
widths per task) and ``TrainConfig.compile`` (``torch.compile``; CUDA graphs on GPUs) give the eager step's
losses, step after step, on real examples (XTREME's files, XLM-R's tokenizer) of three formats, with a tiny
XLM-R with dropout off (dropout masks are drawn per tensor shape, so with dropout the runs draw different
masks: same distribution, other numbers).

Tolerance: 1e-5 relative per step over 100 steps per format (fp32 on CPU; what differs is the summation
order over the extra, masked positions, and Inductor's fused kernels; the largest difference seen was
2.4e-7). Compiling the tiny model on CPU takes 30-40 s with an empty Inductor cache (2 busy cores), ~5 s with
a warm one.
"""
import pytest
import torch

from benchmarks.realdata import features, tokenizer_for
from xltlib.engine.features import batches, collate, padded_width
from xltlib.engine.model import TransferModel
from xltlib.engine.train import Trainer, TrainConfig

TOLERANCE = 1e-5
VOCAB = 1000


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_model(spec, dropout: float = 0.0) -> TransferModel:
    from transformers import XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    config = XLMRobertaConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                              intermediate_size=64, max_position_embeddings=514, hidden_dropout_prob=dropout,
                              attention_probs_dropout_prob=dropout)
    model = TransferModel(XLMRobertaModel(config, add_pooling_layer=False))
    model.add_head(spec)
    return model


def losses(feats, pad_id, steps: int, dropout: float = 0.0, device: str = "cpu",
           **options) -> tuple[list[float], set[int]]:
    """The training losses of ``steps`` steps of batch 8 (the loop of ``fine_tune``) and the widths seen."""
    cfg = TrainConfig(lr=1e-3, batch_size=8, log_every=1000, **options)
    trainer = Trainer(tiny_model(feats.spec, dropout).to(device), cfg, total=steps, name="test")
    plan = batches(feats, 8, shuffle=True, seed=0)[:steps]
    torch.manual_seed(1)
    widths = set()
    for idx in plan:
        batch = collate(feats, idx, pad_id, cfg.pad_multiple)
        widths.add(batch["input_ids"].shape[1])
        trainer.step(feats.spec.name, [batch])
    return trainer.flush(), widths


@pytest.fixture(scope="module")
def tokenizer():
    return tokenizer_for(VOCAB)


@pytest.mark.parametrize("shape", ["xnli", "squad", "udpos"])  # classification, span QA, tagging
def test_bucketed_step_trains_exactly_as_the_eager_step(shape, tokenizer):
    feats = features(shape, 800, tokenizer)
    eager, eager_widths = losses(feats, tokenizer.pad_token_id, 100)
    bucketed, widths = losses(feats, tokenizer.pad_token_id, 100, pad_multiple=32)
    assert len(eager) == len(bucketed) == 100
    assert widths <= {32 * k for k in range(1, 13)} and len(widths) < len(eager_widths)  # few, static shapes
    assert len(set(eager)) > 50  # the losses move: the comparison is not between constants
    worst = max(abs(a - b) / abs(a) for a, b in zip(eager, bucketed))
    assert worst < TOLERANCE, f"{shape}: bucketed losses differ from eager by {worst:.2e} (relative)"


@pytest.mark.slow  # ~40 s: torch.compile with an empty Inductor cache
def test_compiled_step_trains_exactly_as_the_eager_step(tokenizer):
    feats = features("xnli", 800, tokenizer)
    eager, _ = losses(feats, tokenizer.pad_token_id, 100)
    compiled, widths = losses(feats, tokenizer.pad_token_id, 100, pad_multiple=32, compile=True)
    assert len(widths) > 1  # several widths through one compiled model (a recompilation, not a fallback)
    worst = max(abs(a - b) / abs(a) for a, b in zip(eager, compiled))
    assert worst < TOLERANCE, f"compiled losses differ from eager by {worst:.2e} (relative)"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a GPU")
def test_compiled_step_with_cuda_graphs_trains_as_the_eager_step_on_a_gpu(tokenizer):
    """The GPU path (bf16 autocast, fused AdamW, CUDA graphs): bf16 rounding differs between kernels, so the
    tolerance is bf16's (set before any GPU run: calibrate it on the first one)."""
    feats = features("squad", 400, tokenizer)
    eager, _ = losses(feats, tokenizer.pad_token_id, 30, device="cuda")
    compiled, widths = losses(feats, tokenizer.pad_token_id, 30, device="cuda", pad_multiple=32, compile=True)
    assert len(widths) > 1
    diffs = [abs(a - b) / abs(a) for a, b in zip(eager, compiled)]
    assert max(diffs) < 5e-2 and sum(diffs) / len(diffs) < 1e-2, f"worst {max(diffs):.2e}"


def test_the_comparison_sees_a_change_of_math(tokenizer):
    """With dropout on, the padded shape changes the dropout masks: the same check must then fail."""
    feats = features("xnli", 160, tokenizer)
    eager, _ = losses(feats, tokenizer.pad_token_id, 20, dropout=0.1)
    bucketed, _ = losses(feats, tokenizer.pad_token_id, 20, dropout=0.1, pad_multiple=32)
    assert max(abs(a - b) / abs(a) for a, b in zip(eager, bucketed)) > 100 * TOLERANCE


def test_fine_tune_and_phase_1_pad_to_the_configured_multiple(tokenizer, monkeypatch):
    """What ``xlt run`` calls: ``fine_tune`` and ``train_multitask`` collate with ``cfg.pad_multiple``, and
    train as they do without it."""
    import xltlib.engine.multitask
    import xltlib.engine.train
    from xltlib.engine.multitask import train_multitask
    from xltlib.engine.train import fine_tune

    widths = []

    def recording(collate_):
        def wrapped(*args, **kwargs):
            batch = collate_(*args, **kwargs)
            widths.append(batch["input_ids"].shape[1])
            return batch
        return wrapped

    monkeypatch.setattr(xltlib.engine.train, "collate", recording(collate))
    monkeypatch.setattr(xltlib.engine.multitask, "collate", recording(collate))
    xnli, udpos = features("xnli", 160, tokenizer), features("udpos", 160, tokenizer)
    runs = {}
    for multiple in (None, 32):
        cfg = TrainConfig(lr=1e-3, batch_size=8, max_steps=20, pad_multiple=multiple)
        widths.clear()
        single = fine_tune(tiny_model(xnli.spec), "xnli", xnli, tokenizer, cfg)["losses"]
        model = tiny_model(xnli.spec)
        model.add_head(udpos.spec)
        multi = train_multitask(model, {"xnli": xnli, "udpos": udpos}, tokenizer, cfg)["losses"]
        runs[multiple] = (single, multi, set(widths))
    assert all(w % 32 == 0 for w in runs[32][2]) and not all(w % 32 == 0 for w in runs[None][2])
    for eager, bucketed in zip(runs[None][:2], runs[32][:2]):
        assert len(eager) == len(bucketed) == 20
        assert max(abs(a - b) / abs(a) for a, b in zip(eager, bucketed)) < TOLERANCE


def test_padded_widths_stay_under_the_task_length():
    assert padded_width(370, 32, 384) == 384 and padded_width(384, 32, 384) == 384
    assert padded_width(400, 32, 384) == 400  # longer than the task allows: never cut


def test_compile_needs_a_pad_multiple_and_a_bad_multiple_is_named():
    with pytest.raises(ValueError, match="compile=True needs pad_multiple"):
        TrainConfig(compile=True)
    with pytest.raises(ValueError, match="pad_multiple=0"):
        TrainConfig(pad_multiple=0)


def test_train_config_is_frozen_and_changed_by_replace():
    import dataclasses

    cfg = TrainConfig(lr=1e-3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 5e-4
    assert dataclasses.replace(cfg, lr=5e-4).lr == 5e-4 and cfg.lr == 1e-3


def test_fresh_heads_train_at_head_lr_and_the_encoder_at_lr(tokenizer):
    feats = features("xnli", 16, tokenizer)
    model = tiny_model(feats.spec)
    trainer = Trainer(model, TrainConfig(lr=1e-5, head_lr=1e-3, warmup=0.0), total=10, name="test")
    rate = {id(p): g["lr"] for g in trainer.opt.param_groups for p in g["params"]}
    heads = [id(p) for n, p in model.named_parameters() if n.startswith("heads.")]
    assert heads and all(rate[i] == 1e-3 for i in heads)
    assert all(rate[id(p)] == 1e-5 for n, p in model.named_parameters() if not n.startswith("heads."))
    plain = Trainer(tiny_model(feats.spec), TrainConfig(lr=1e-5, warmup=0.0), total=10, name="test")
    assert {g["lr"] for g in plain.opt.param_groups} == {1e-5}  # head_lr None: jiant's one rate
