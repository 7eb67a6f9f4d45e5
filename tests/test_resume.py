"""Checkpoints inside a phase (``xltlib.engine.checkpoint``), training curves and live logging
(``xltlib.engine.tracking``): a run stopped at any step and resumed in a fresh model gives, on CPU, the
weights, losses, dev scores and curve of an uninterrupted run, bit for bit.

The model is test_train_step's tiny XLM-R with dropout on (the RNG states must come back too), on real
examples (XTREME's files, XLM-R's tokenizer folded into the toy vocabulary).
"""
import json
import os
import signal
import threading

import pytest
import torch

from benchmarks.realdata import features, tokenizer_for
from test_train_step import VOCAB, tiny_model
from xltlib.engine import checkpoint
from xltlib.engine.checkpoint import Checkpointer, Preempted
from xltlib.engine.multitask import train_multitask
from xltlib.engine.phases import fine_tune_chain, intermediate_training
from xltlib.engine.train import TrainConfig, fine_tune

pytestmark = pytest.mark.usefixtures("one_thread")

# 60 steps, evaluated every 5; dev F1 peaks at step 35, and patience stops training at 45
TUNE = TrainConfig(lr=1e-2, batch_size=8, epochs=3, evals_per_epoch=4, patience=2, log_every=4)
MULTI = TrainConfig(lr=1e-3, batch_size=8, epochs=1, log_every=5)  # 40 steps over two tasks


@pytest.fixture(scope="module")
def tokenizer():
    return tokenizer_for(VOCAB)


@pytest.fixture(scope="module")
def udpos(tokenizer):
    return features("udpos", 160, tokenizer)


@pytest.fixture(scope="module")
def xnli(tokenizer):
    return features("xnli", 160, tokenizer)


@pytest.fixture(autouse=True)
def no_stop_request():
    checkpoint.clear_stop()
    yield
    checkpoint.clear_stop()


def stop_at(monkeypatch, steps):
    """Request a stop at the step boundaries numbered ``steps``, counted over every loop and run of the
    test (a resumed loop goes on counting where the stopped one was): ``due`` is asked once per boundary."""
    real, calls = Checkpointer.due, [0]

    def due(self):
        calls[0] += 1
        if calls[0] in steps:
            checkpoint.request_stop()
        return real(self)

    monkeypatch.setattr(Checkpointer, "due", due)
    return calls


def until_done(train, stops: int):
    """``train()`` again after each ``Preempted`` (a fresh process), ``stops`` times; its last result."""
    for _ in range(stops):
        with pytest.raises(Preempted):
            train()
        checkpoint.clear_stop()
    return train()


def assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    different = [k for k in sa if not torch.equal(sa[k], sb[k])]
    assert not different, different[:5]


def tune(feats, tokenizer, ckpt=None, tracker=None, cfg=TUNE):
    model = tiny_model(feats.spec, dropout=0.1)
    history = fine_tune(model, feats.spec.name, feats, tokenizer, cfg, dev=(feats.examples[:40], "en"), ckpt=ckpt,
                        tracker=tracker)
    return model, history


def test_fine_tune_stopped_three_times_and_resumed_is_bit_identical(udpos, tokenizer, tmp_path, monkeypatch):
    model, history = tune(udpos, tokenizer)
    assert (history["best_step"], history["steps"]) == (35, 45)  # early stopping, the best state restored
    assert len({scores["f1"] for _, scores in history["dev"]}) > 5

    # at an epoch's end and an evaluation (20), with a best state to restore at the end (37), one stale
    # evaluation short of stopping (42)
    calls = stop_at(monkeypatch, {20, 37, 42})
    ckpt = Checkpointer(tmp_path / "ckpt", every_s=1e9)
    resumed_model, resumed = until_done(lambda: tune(udpos, tokenizer, ckpt), stops=3)
    assert calls[0] == 44  # no step trained twice: one boundary after each step but the last
    assert resumed == history
    assert_same_weights(resumed_model, model)
    assert not (tmp_path / "ckpt" / checkpoint.STATE).exists()  # a completed loop deletes its state
    json.dumps(resumed)


def test_multitask_stopped_and_resumed_is_bit_identical(xnli, udpos, tokenizer, tmp_path, monkeypatch):
    def train(ckpt=None):
        model = tiny_model(xnli.spec, dropout=0.1)
        model.add_head(udpos.spec)
        return model, train_multitask(model, {"xnli": xnli, "udpos": udpos}, tokenizer, MULTI, ckpt=ckpt)

    model, history = train()
    assert sum(history["steps"].values()) == 40 and min(history["steps"].values()) > 5
    stop_at(monkeypatch, {7, 36})  # the second: after udpos began its second epoch (step 34)
    resumed_model, resumed = until_done(lambda: train(Checkpointer(tmp_path, every_s=1e9)), stops=2)
    assert resumed == history
    assert_same_weights(resumed_model, model)


def test_a_stop_request_saves_the_state_and_raises_preempted(udpos, tokenizer, tmp_path, monkeypatch):
    stop_at(monkeypatch, {9})
    with pytest.raises(Preempted, match=str(tmp_path / "ckpt")) as info:
        tune(udpos, tokenizer, Checkpointer(tmp_path / "ckpt", every_s=1e9))
    assert info.value.directory == tmp_path / "ckpt"
    state = Checkpointer(tmp_path / "ckpt").load()
    assert state["trainer"]["steps"] == 9 and len(state["trainer"]["losses"]) == 9  # pending losses read
    assert (state["epoch"], state["start"]) == (0, 9) and [s for s, _ in state["history"]["dev"]] == [5]
    assert not any(p.name.startswith(".") for p in (tmp_path / "ckpt").iterdir())  # no temporary file left
    other = TrainConfig(lr=3e-3, batch_size=8, epochs=1)
    checkpoint.clear_stop()
    with pytest.raises(ValueError, match="saved training state is for"):  # another loop's state: not resumed
        tune(udpos, tokenizer, Checkpointer(tmp_path / "ckpt"), cfg=other)


def test_checkpoints_are_due_every_so_often_and_at_a_stop_request(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(checkpoint, "_now", lambda: now[0])
    monkeypatch.setenv("XLT_CHECKPOINT_MINUTES", "0.5")
    ckpt = Checkpointer("unused")
    child = ckpt.sub("attempt0").sub("step1")
    assert ckpt.every_s == child.every_s == 30.0 and child.directory.as_posix() == "unused/attempt0/step1"
    now[0] += 29
    assert not ckpt.due() and not child.due()
    now[0] += 1
    assert child.due() and not child.stopping
    monkeypatch.setattr(checkpoint.distributed, "is_main", lambda: False)  # writes nothing, restarts the clock
    child.save({})
    assert not ckpt.due()  # one clock for a checkpointer and its children
    checkpoint.request_stop()
    assert ckpt.due() and ckpt.stopping
    with pytest.raises(Preempted):
        ckpt.stop_if_requested()
    monkeypatch.delenv("XLT_CHECKPOINT_MINUTES")
    assert Checkpointer("unused").every_s == 600.0


def test_signals_request_a_stop_in_the_main_thread_only():
    previous = checkpoint.install_signal_handlers()
    try:
        assert set(previous) == {signal.SIGUSR2, signal.SIGTERM}
        assert not checkpoint.stop_requested()
        os.kill(os.getpid(), signal.SIGUSR2)
        assert checkpoint.stop_requested()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    elsewhere = []
    thread = threading.Thread(target=lambda: elsewhere.append(checkpoint.install_signal_handlers()))
    thread.start()
    thread.join()
    assert elsewhere == [{}]


def test_a_resumed_chain_loads_its_finished_steps_instead_of_training_them(udpos, tokenizer, tmp_path,
                                                                            monkeypatch):
    import xltlib.engine.phases as phases

    data = {"train": udpos.examples, "dev": udpos.examples[:40]}

    class Split:
        def __init__(self, examples):
            self.examples = examples

    def load(task, lang, split):
        return Split(data[split])

    cfg = TrainConfig(lr=3e-3, batch_size=8, epochs=1, evals_per_epoch=2, log_every=4)  # 20 steps a step

    def chain(ckpt=None):
        model = tiny_model(udpos.spec, dropout=0.1)
        return model, fine_tune_chain(model, [udpos.spec, udpos.spec], tokenizer, lambda spec: cfg, load, seed=3,
                                      ckpt=ckpt)

    model, history = chain()
    trained = []
    real = phases.fine_tune
    monkeypatch.setattr(phases, "fine_tune", lambda *a, **k: trained.append(k["ckpt"].directory.name) or real(*a, **k))
    stop_at(monkeypatch, {19 + 5})  # the second step's 5th boundary (the first step asks 19 times)
    ckpt = Checkpointer(tmp_path, every_s=1e9)
    resumed_model, resumed = until_done(lambda: chain(ckpt), stops=1)
    assert trained == ["step0", "step1", "step1"]  # step 0 trained once, then loaded
    assert (tmp_path / "step0" / checkpoint.DONE).exists() and (tmp_path / "step1" / checkpoint.DONE).exists()
    assert resumed == history
    assert_same_weights(resumed_model, model)
    ckpt.clear()
    assert not tmp_path.exists()


def test_phase1_groups_resume_after_a_finished_group_and_return_curves(xnli, udpos, tokenizer, tmp_path,
                                                                      monkeypatch):
    import xltlib.engine.phases as phases

    feats = {"xnli": xnli, "udpos": udpos}
    cfg = TrainConfig(lr=1e-3, batch_size=8, epochs=0.5, log_every=5)  # 10 steps a group

    def phase1(ckpt=None):
        model = tiny_model(xnli.spec, dropout=0.1)
        model.add_head(udpos.spec)
        return model, intermediate_training(model, feats, [["xnli"], ["udpos"]], tokenizer, lambda t: cfg,
                                            "proportional", 2.0, ckpt=ckpt)

    model, history = phase1()
    assert [[r["step"] for r in group["curve"]] for group in history] == [[5, 10], [5, 10]]
    trained = []
    real = phases.train_multitask
    monkeypatch.setattr(phases, "train_multitask", lambda *a, **k: trained.append(k["ckpt"].directory.name)
                        or real(*a, **k))
    stop_at(monkeypatch, {9 + 3})
    resumed_model, resumed = until_done(lambda: phase1(Checkpointer(tmp_path, every_s=1e9)), stops=1)
    assert trained == ["group0", "group1", "group1"]
    assert resumed == history
    assert_same_weights(resumed_model, model)
    json.dumps(resumed)


def test_histories_hold_the_training_curve(udpos, tokenizer):
    _, history = tune(udpos, tokenizer, cfg=TrainConfig(lr=3e-3, batch_size=8, epochs=1, evals_per_epoch=3,
                                                        log_every=4, warmup=0.0))
    curve, losses = history["curve"], history["losses"]
    # every 4 steps, at each evaluation (every 6 steps) and at the end (20)
    assert [r["step"] for r in curve] == [4, 6, 8, 12, 16, 18, 20]
    previous = 0
    for r in curve:
        assert r["loss"] == pytest.approx(sum(losses[previous:r["step"]]) / (r["step"] - previous))
        assert r["lr"] == pytest.approx(3e-3 * (20 - r["step"]) / 19)  # the rate of the next step
        previous = r["step"]
    assert [(r["step"], r["dev"]) for r in curve if "dev" in r] == history["dev"]
    assert set(history) >= {"losses", "dev", "best", "best_scores", "best_step", "steps"}
    json.dumps(history)


def test_the_tensorboard_tracker_writes_the_curves_scalars(udpos, tokenizer, tmp_path):
    accumulator = pytest.importorskip("tensorboard.profile_impl.event_processing.event_accumulator",
                                      reason="tensorboard is not installed (pip install 'xltlib[track]')")
    from xltlib.engine.tracking import make_tracker

    cfg = TrainConfig(lr=3e-3, batch_size=8, epochs=1, evals_per_epoch=2, log_every=5)
    with make_tracker(["tensorboard"], tmp_path, "run1", config={"lr": 3e-3}) as tracker:
        _, history = tune(udpos, tokenizer, tracker=tracker, cfg=cfg)
    assert list((tmp_path / "run1").glob("events.out.tfevents.*"))
    events = accumulator.EventAccumulator(str(tmp_path / "run1"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"phase2/udpos/loss", "phase2/udpos/lr", "phase2/udpos/dev/f1"} <= tags
    assert [e.step for e in events.Scalars("phase2/udpos/loss")] == [r["step"] for r in history["curve"]]
    assert [e.step for e in events.Scalars("phase2/udpos/dev/f1")] == [s for s, _ in history["dev"]]
    assert events.Scalars("phase2/udpos/dev/f1")[-1].value == pytest.approx(history["dev"][-1][1]["f1"])


def test_trackers_by_name():
    from xltlib.engine.tracking import Tracker, make_tracker

    assert type(make_tracker([], "unused", "run")) is Tracker
    assert type(make_tracker(["none"], "unused", "run")) is Tracker
    with pytest.raises(ValueError, match="report_to 'mlflow' is not one of tensorboard, wandb, none"):
        make_tracker(["mlflow"], "unused", "run")
    try:
        import wandb  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install wandb"):
            make_tracker(["wandb"], "unused", "run")
