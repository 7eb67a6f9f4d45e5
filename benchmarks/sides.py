"""The two sides of each measurement, on the same featurized examples in one process:

- ``engine_*``: xltlib's own code path, the functions ``xlt run`` calls: ``TransferModel`` (encoder from a
  config with random weights, a head per task), ``batches`` / ``collate`` and ``Trainer.step`` for training,
  ``evaluate`` / ``evaluate_retrieval`` for evaluation;
- ``baseline_*``: a typical HF Trainer user: the transformers Auto model for the task (eager attention),
  random batches padded to the shape's width, plain AdamW with the Trainer's gradient clipping at 1.0,
  fp32 (or the Trainer's ``bf16`` flag: autocast); evaluation batch 8, padded alike.
"""
from __future__ import annotations

import gc
import random
import time

import torch

from benchmarks.realdata import SHAPES
from benchmarks.steptimer import StepTimer

MODELS = {  # name -> XLMRobertaConfig kwargs (random weights)
    "toy-base": dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=4, intermediate_size=512, vocab_size=1400),
    "xlm-roberta-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                             vocab_size=250002),
    "xlm-roberta-large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                              vocab_size=250002),
    # facebook/xlm-roberta-xl / -xxl (XLMRobertaXL architecture: pre-layer-norm)
    "xlm-roberta-xl": dict(hidden_size=2560, num_hidden_layers=36, num_attention_heads=32, intermediate_size=10240,
                           vocab_size=250880, xl=True),
    "xlm-roberta-xxl": dict(hidden_size=4096, num_hidden_layers=48, num_attention_heads=32, intermediate_size=16384,
                            vocab_size=250880, xl=True),
}
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12}  # dense bf16 FLOP/s
BASELINE_EVAL_BATCH = 8  # the Trainer's per_device_eval_batch_size default


def config(model_name: str, labels: int = 2, attn: str | None = None):
    """The real-size config of ``model_name`` (no download); ``attn`` None: transformers' default (SDPA)."""
    from transformers import XLMRobertaConfig, XLMRobertaXLConfig

    kwargs = dict(MODELS[model_name])
    cls = XLMRobertaXLConfig if kwargs.pop("xl", False) else XLMRobertaConfig
    if attn:
        kwargs["attn_implementation"] = attn
    return cls(**kwargs, max_position_embeddings=514, num_labels=max(labels, 1))


def vocab(model_name: str) -> int:
    return MODELS[model_name]["vocab_size"]


def fresh(device: str) -> None:
    """Start a side with the memory the other side's model and optimizer held given back."""
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _labels(spec) -> int:
    return len(spec.labels) if spec.labels else 2


def engine_model(model_name: str, spec, device: str, config_=None):
    """What ``TransferModel.from_pretrained(name, random_init=True)`` builds, from a config instead of a
    Hub name: the encoder without pooler, fp32 weights, and the task's head."""
    from transformers import AutoModel

    from xltlib.engine.model import TransferModel
    from xltlib.registry.tasks import Format

    torch.manual_seed(0)
    encoder = AutoModel.from_config(config_ or config(model_name), add_pooling_layer=False)
    model = TransferModel(encoder, pooling="cls")  # the xtreme profile's pooling
    if spec.format is not Format.RETRIEVAL:
        model.add_head(spec)
    return model.to(device)


def baseline_model(model_name: str, shape: str, labels: int, device: str):
    import transformers

    cls = {"sequence": transformers.AutoModelForSequenceClassification, "qa": transformers.AutoModelForQuestionAnswering,
           "token": transformers.AutoModelForTokenClassification, "none": transformers.AutoModel}[SHAPES[shape].hf_head]
    torch.manual_seed(0)
    kwargs = {"add_pooling_layer": False} if cls is transformers.AutoModel else {}
    return cls.from_config(config(model_name, labels, attn="eager"), **kwargs).to(device)


def _rates(name: str, n: int, real: int, padded: int, seconds: float) -> dict:
    return {"side": name, "examples": n, "examples_per_s": n / seconds, "real_tokens_per_s": real / seconds,
            "padding_share": 1 - real / padded, "real_tokens_per_example": real / n, "seconds": seconds}


def _cuda_stats(out: dict, model, real_per_s: float, device: str) -> dict:
    params = sum(p.numel() for p in model.parameters())
    embeddings = model.encoder.embeddings if hasattr(model, "encoder") else model.base_model.embeddings
    # model FLOPs per token ~ 6 x the non-embedding parameters (an embedding lookup is not a matrix product)
    dense = params - sum(p.numel() for p in embeddings.parameters())
    out["params"] = params
    if device == "cuda":
        peak = next((v for k, v in PEAK_BF16.items() if k in torch.cuda.get_device_name()), None)
        out["mfu"] = 6 * dense * real_per_s / peak if peak else None
        out["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return out


# ----------------------------------------------------------------------------------------------- training
def engine_train(model_name: str, feats, tokenizer, batch: int, steps: int, device: str,
                 pad_multiple: int | None = None, compile: bool = False) -> dict:
    """``steps`` optimizer steps of ``Trainer.step`` over ``batches`` / ``collate`` of ``feats`` (as
    ``fine_tune`` draws them, epoch after epoch), twice: an untimed pass first, so that each batch shape's
    one-off costs (kernel selection, allocator growth, compilation) are paid as they are once in a real run
    of thousands of steps, then the timed pass with the per-phase breakdown."""
    from xltlib.engine.features import batches, collate, padded_width
    from xltlib.engine.train import Trainer, TrainConfig, step_budget

    spec = feats.spec
    fresh(device)
    model = engine_model(model_name, spec, device)
    cfg = TrainConfig(batch_size=batch, pad_multiple=pad_multiple, compile=compile)
    micro, _, _ = step_budget([len(feats.items)], cfg)
    trainer = Trainer(model, cfg, total=2 * steps, name=f"benchmark {spec.name}")
    plan, epoch = [], 0
    while len(plan) < steps:
        plan += batches(feats, micro, shuffle=True, seed=cfg.seed * 1000 + epoch)
        epoch += 1
    plan = plan[:steps]
    lengths = [len(it["input_ids"]) for it in feats.items]
    widths = [padded_width(max(lengths[i] for i in idx), pad_multiple, spec.max_length) for idx in plan]
    real = sum(lengths[i] for idx in plan for i in idx)
    padded = sum(w * len(idx) for w, idx in zip(widths, plan))
    pad_id = tokenizer.pad_token_id
    passes = []
    for timed in (False, True):
        timer = trainer.timer = StepTimer(device) if timed else None
        sync(device)
        start = time.perf_counter()
        for idx in plan:
            if timer:
                timer.begin()
            trainer.step(spec.name, [collate(feats, idx, pad_id, cfg.pad_multiple)])
        trainer.flush()  # also: a non-finite loss fails the measurement
        sync(device)
        passes.append(time.perf_counter() - start)
    first, seconds = passes
    out = _rates("xltlib", sum(len(idx) for idx in plan), real, padded, seconds)
    out["step_ms"] = 1000 * seconds / steps
    out["first_pass_s"] = first  # the same steps, untimed pass: one-off costs (compilation) included
    out["breakdown_ms"] = timer.summary()
    out["shapes"] = len({(len(idx), w) for idx, w in zip(plan, widths)})
    out["final_loss"] = trainer.losses[-1]
    return _cuda_stats(out, model, out["real_tokens_per_s"], device)


def _baseline_batch(feats, idx, width: int, pad_id: int, device: str) -> dict:
    """A Trainer user's collator: every sequence padded to ``width``; the Auto model's label names."""
    from xltlib.engine.features import IGNORE

    items = [feats.items[i] for i in idx]
    ids = torch.tensor([it["input_ids"] + [pad_id] * (width - len(it["input_ids"])) for it in items])
    batch = {"input_ids": ids, "attention_mask": (ids != pad_id).long()}
    if "label" in items[0]:
        batch["labels"] = torch.tensor([it["label"] for it in items])
    elif "labels" in items[0]:
        batch["labels"] = torch.tensor([it["labels"] + [IGNORE] * (width - len(it["labels"])) for it in items])
    elif "start" in items[0]:
        batch["start_positions"] = torch.tensor([it["start"] for it in items])
        batch["end_positions"] = torch.tensor([it["end"] for it in items])
    return {k: v.to(device) for k, v in batch.items()}


def _autocast(device: str, bf16: bool):
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16 and device == "cuda")


def baseline_train(model_name: str, shape: str, feats, tokenizer, batch: int, steps: int, device: str,
                   bf16: bool = False) -> dict:
    """The same number of steps, the same examples, as a Trainer user runs them (module docstring)."""
    width = SHAPES[shape].width
    fresh(device)
    model = baseline_model(model_name, shape, _labels(feats.spec), device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    rng = random.Random(1)
    plan = []
    while len(plan) < steps:  # the Trainer's random sampler, epoch after epoch
        order = list(range(len(feats.items)))
        rng.shuffle(order)
        plan += [order[s:s + batch] for s in range(0, len(order), batch)]
    plan = plan[:steps]
    real = sum(len(feats.items[i]["input_ids"]) for idx in plan for i in idx)
    for _ in range(2):  # untimed pass, timed pass (as the engine side)
        sync(device)
        start = time.perf_counter()
        for idx in plan:
            inputs = _baseline_batch(feats, idx, width, tokenizer.pad_token_id, device)
            with _autocast(device, bf16):
                loss = model(**inputs).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
        sync(device)
        seconds = time.perf_counter() - start
    n = sum(len(idx) for idx in plan)
    out = _rates("baseline", n, real, n * width, seconds)
    out["step_ms"] = 1000 * seconds / steps
    return _cuda_stats(out, model, out["real_tokens_per_s"], device)


# ----------------------------------------------------------------------------------------------- evaluation
def engine_eval(model_name: str, shape: str, feats, tokenizer, device: str) -> dict:
    """``evaluate`` (scoring: predictions and the task's metric) or ``evaluate_retrieval`` (embedding every
    sentence, tokenization included, and nearest neighbours), timed after one warm-up batch."""
    from xltlib.engine.evaluation import embed, evaluate, evaluate_retrieval
    from xltlib.engine.features import batches, collate, featurize
    from xltlib.registry.tasks import Format

    spec = feats.spec
    fresh(device)
    model = engine_model(model_name, spec, device)
    retrieval = spec.format is Format.RETRIEVAL
    examples = feats.examples
    if retrieval:  # the padding of embed's batches (queries and candidates apart, 256 a batch)
        sides = [[e for e in examples if e.role == role] for role in ("query", "candidate")]
        shaped = [(featurize(spec, side, tokenizer, max_length=SHAPES[shape].width), 256) for side in sides]
        embed(model, examples[:8], tokenizer, spec)  # warm-up
    else:
        shaped = [(feats, 128)]  # evaluate's default batch
        evaluate(model, spec.name, spec, examples[:8], tokenizer, "en", feats=_head(feats, 8))  # warm-up
    real = padded = 0
    for f, size in shaped:
        for idx in batches(f, size, shuffle=False):
            mask = collate(f, idx, tokenizer.pad_token_id)["attention_mask"]
            real, padded = real + int(mask.sum()), padded + mask.numel()
    sync(device)
    start = time.perf_counter()
    if retrieval:
        scores = evaluate_retrieval(model, spec, examples, tokenizer, examples[0].lang)
    else:
        scores = evaluate(model, spec.name, spec, examples, tokenizer, "en", feats=feats)
    sync(device)
    out = _rates("xltlib", len(feats.items), real, padded, time.perf_counter() - start)
    out["scores"] = scores
    return out


def _head(feats, n: int):
    from xltlib.engine.features import Features

    return Features(feats.spec, feats.items[:n], feats.examples[:n])


@torch.no_grad()
def baseline_eval(model_name: str, shape: str, feats, tokenizer, device: str, bf16: bool = False) -> dict:
    """Scoring (argmax of every padded batch of 8, then accuracy) or retrieval (tokenize padded to 512, mean
    of the hidden states of XTREME's layer, nearest candidate of each query)."""
    from xltlib.engine.heads import mean_pool
    from xltlib.registry.tasks import Format

    spec = feats.spec
    width = SHAPES[shape].width
    retrieval = spec.format is Format.RETRIEVAL
    fresh(device)
    model = baseline_model(model_name, shape, _labels(spec), device).eval()
    layer = spec.retrieval.layer_for(model.config.num_hidden_layers) if retrieval else None

    def run(idx):
        if retrieval:
            texts = [feats.examples[i].text for i in idx]
            enc = tokenizer(texts, padding="max_length", truncation=True, max_length=width, return_tensors="pt")
            inputs = {k: enc[k].to(device) for k in ("input_ids", "attention_mask")}
            with _autocast(device, bf16):
                hidden = model(**inputs, output_hidden_states=True).hidden_states[layer]
            return mean_pool(hidden.float(), inputs["attention_mask"]), inputs["attention_mask"]
        inputs = _baseline_batch(feats, idx, width, tokenizer.pad_token_id, device)
        inputs = {k: v for k, v in inputs.items() if k in ("input_ids", "attention_mask")}
        with _autocast(device, bf16):
            return model(**inputs).logits.float().argmax(-1), inputs["attention_mask"]

    order = list(range(len(feats.items)))
    groups = [order[s:s + BASELINE_EVAL_BATCH] for s in range(0, len(order), BASELINE_EVAL_BATCH)]
    run(groups[0])  # warm-up
    sync(device)
    start = time.perf_counter()
    outputs, real, padded = [], 0, 0
    for idx in groups:
        out, mask = run(idx)
        outputs.append(out)
        real, padded = real + int(mask.sum()), padded + mask.numel()
    result = torch.cat(outputs)
    if retrieval:
        roles = [e.role for e in feats.examples]
        q = torch.nn.functional.normalize(result[[r == "query" for r in roles]], dim=-1)
        c = torch.nn.functional.normalize(result[[r == "candidate" for r in roles]], dim=-1)
        (q @ c.T).argmax(-1).tolist()
    else:
        gold = torch.tensor([it["label"] for it in feats.items], device=result.device)
        float((result == gold).float().mean())
    sync(device)
    return _rates("baseline", len(feats.items), real, padded, time.perf_counter() - start)
