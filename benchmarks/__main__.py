"""Training and evaluation throughput of xltlib's own code path against the step a typical HF Trainer user runs.

    python -m benchmarks --model toy-base --shape xnli --device cpu            # CPU, seconds
    python -m benchmarks --model xlm-roberta-large --shape xnli --baseline-bf16 --device cuda
    python -m benchmarks --model xlm-roberta-large --shape xnli --baseline-bf16 --pad-multiple 32 --compile
    python -m benchmarks --task eval --model xlm-roberta-large --shape xnli --examples 75150   # 15-language XNLI
    python -m benchmarks --task eval --model xlm-roberta-large --shape tatoeba --examples 12000  # retrieval
    python -m benchmarks --task memory --model xlm-roberta-xxl --lora 16      # estimate, no allocation
    python -m benchmarks --suite gpu        # the whole GPU table, as Markdown (one command, one process)

Both sides train a model of the named size (a config with random weights: no download) on the same real
examples (``benchmarks.realdata``: XTREME's files tokenized by XLM-R's tokenizer), in one process, one after
the other (``benchmarks.sides``):

- xltlib: ``TransferModel``, ``batches`` / ``collate`` and ``Trainer.step`` (what ``xlt run`` calls:
  length-grouped batches padded to their longest sequence, SDPA attention, fused AdamW and bf16 autocast
  on CUDA; ``--pad-multiple 32 --compile``: the opt-in static-shape compiled step), ``evaluate`` /
  ``evaluate_retrieval`` for ``--task eval``;
- baseline ("Trainer defaults"): the transformers Auto model of the task, every batch padded to the shape's
  width, random batches, eager attention, plain AdamW, fp32 (``--baseline-bf16`` for the Trainer's bf16
  flag).

Reported: examples/s (QA: windows/s), real (non-pad) tokens/s, padding share, the ratio xltlib / baseline,
the xltlib step's breakdown (host: collate and copies; forward; backward; clip; optimizer; CUDA events on
GPU, wall clock on CPU), and on CUDA the MFU (6 x non-embedding parameters x real tokens / s / the device's
peak bf16 FLOP/s; attention scores not counted) and peak memory.
"""
from __future__ import annotations

import argparse
import json
import platform

import torch

from benchmarks import realdata
from benchmarks.sides import (MODELS, baseline_eval, baseline_train, config, engine_eval, engine_train, vocab)
from benchmarks.steptimer import PHASES

EVAL_SHAPES = ("xnli", "tatoeba")


def memory(model_name: str, lora: int | None) -> dict:
    """Training memory estimate from the parameter count (built on the meta device: nothing allocated):
    bf16 weights, and for the trained parameters fp32 master weights, gradients and two AdamW moments.
    Activations are not included; on CUDA measure them with ``--task train``."""
    from transformers import AutoModel

    with torch.device("meta"):
        model = AutoModel.from_config(config(model_name), add_pooling_layer=False)
    params = sum(p.numel() for p in model.parameters())
    if lora:  # rank-r adapters on query, key, value of every layer
        cfg = model.config
        trained = cfg.num_hidden_layers * 3 * 2 * lora * cfg.hidden_size
    else:
        trained = params
    gib = (2 * params + 16 * trained) / 2**30
    return {"model": model_name, "params": params, "trained_params": trained, "lora": lora,
            "weights_and_optimizer_gib": gib}


# one command for the whole table: each entry is the arguments of one measurement
SUITES = {
    "gpu": [
        # the targets, XLM-R Large in bf16: >= 25% MFU on XNLI-length pairs at batch 32, >= 45% on
        # SQuAD windows at batch 16, >= 2x the bf16 Trainer baseline; each row with and without the opt-in
        # static-shape compiled step (TrainConfig.pad_multiple + compile)
        "--model xlm-roberta-large --shape xnli --steps 50",
        "--model xlm-roberta-large --shape xnli --steps 50 --baseline-bf16",
        "--model xlm-roberta-large --shape xnli --steps 50 --baseline-bf16 --pad-multiple 32 --compile",
        "--model xlm-roberta-large --shape xnli --steps 50 --baseline-bf16 --pad-multiple 16 --compile",
        "--model xlm-roberta-large --shape squad --steps 30 --batch 16 --baseline-bf16",
        "--model xlm-roberta-large --shape squad --steps 30 --batch 16 --baseline-bf16 --pad-multiple 32 --compile",
        "--model xlm-roberta-large --shape udpos --steps 50 --baseline-bf16 --pad-multiple 32 --compile",
        "--model xlm-roberta-xl --shape xnli --steps 10 --batch 16",
        "--task eval --model xlm-roberta-large --shape xnli --examples 75150",
        # a sixth of Tatoeba's 36 x 2,000 sentences: the baseline pads each to 512 tokens
        "--task eval --model xlm-roberta-large --shape tatoeba --examples 12000",
        *(f"--task memory --model {m}{lora}" for m in ("xlm-roberta-large", "xlm-roberta-xl", "xlm-roberta-xxl")
          for lora in ("", " --lora 16"))],
    "cpu": ["--model toy-base --shape xnli --steps 4 --batch 16",
            "--model toy-base --shape squad --steps 2 --batch 4",
            "--task eval --model toy-base --shape tatoeba --examples 64",
            "--task memory --model xlm-roberta-xxl --lora 16"],
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--suite", choices=list(SUITES), help="run a whole table (gpu: the issue's; cpu: a quick check) "
                   "and print it as Markdown")
    p.add_argument("--task", default="train", choices=["train", "eval", "memory"],
                   help="train steps, evaluation (--shape xnli: scoring; tatoeba: retrieval), or a memory estimate")
    p.add_argument("--model", default="toy-base", choices=list(MODELS))
    p.add_argument("--shape", default="xnli", choices=list(realdata.SHAPES))
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=None, help="train: 32 both sides (QA: 16 as the task's recipe)")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--examples", type=int, default=None, help="real examples, cycled (tatoeba: sentences); train: "
                   "default steps x batch, so that both sides see each example once; eval: default 4096")
    p.add_argument("--pad-multiple", type=int, default=None, help="xltlib side: TrainConfig.pad_multiple")
    p.add_argument("--compile", action="store_true", help="xltlib side: TrainConfig.compile (needs --pad-multiple)")
    p.add_argument("--lora", type=int, default=None, help="memory: LoRA rank (default: full fine-tuning)")
    p.add_argument("--baseline-bf16", action="store_true", help="the baseline uses the Trainer's bf16 flag")
    p.add_argument("--json", action="store_true")
    return p


def measure(args) -> dict:
    if args.task == "memory":
        return memory(args.model, args.lora)
    tokenizer = realdata.tokenizer_for(vocab(args.model))
    batch = args.batch or realdata.spec(args.shape).batch_size
    n = args.examples or (4096 if args.task == "eval" else args.steps * batch)
    feats = realdata.features(args.shape, n, tokenizer)
    if args.task == "eval":
        if args.shape not in EVAL_SHAPES:
            raise SystemExit(f"--task eval: --shape {args.shape} is not one of {', '.join(EVAL_SHAPES)}")
        base = baseline_eval(args.model, args.shape, feats, tokenizer, args.device, bf16=args.baseline_bf16)
        ours = engine_eval(args.model, args.shape, feats, tokenizer, args.device)
    else:
        if realdata.SHAPES[args.shape].hf_head == "none":
            raise SystemExit(f"--task train: --shape {args.shape} is a retrieval task (no training); use --task eval")
        common = dict(feats=feats, tokenizer=tokenizer, batch=batch, steps=args.steps, device=args.device)
        base = baseline_train(args.model, args.shape, bf16=args.baseline_bf16, **common)
        ours = engine_train(args.model, pad_multiple=args.pad_multiple, compile=args.compile, **common)
    return {"machine": platform.processor() or platform.machine(), "torch": torch.__version__,
            "device": torch.cuda.get_device_name() if args.device == "cuda" else f"cpu x{torch.get_num_threads()}",
            "args": vars(args), "baseline": base, "xltlib": ours,
            "speedup_examples": ours["examples_per_s"] / base["examples_per_s"]}


def breakdown(side: dict) -> str:
    """``host 1.2 ms (4%), forward ...`` and the parts' sum against the measured step."""
    parts = side["breakdown_ms"]
    total = sum(parts.values())
    shown = ", ".join(f"{p} {parts[p]:.1f} ms ({parts[p] / total:.0%})" for p in PHASES)
    return f"{shown}; sum {total:.1f} ms of a {side['step_ms']:.1f} ms step"


def report(args, result: dict) -> str:
    if args.task == "memory":
        return (f"{args.model}: {result['params'] / 1e9:.2f}B parameters, {result['trained_params'] / 1e6:.1f}M trained; "
                f"weights + optimizer state {result['weights_and_optimizer_gib']:.1f} GiB (activations not included)")
    what = (f"{args.steps} training steps" if args.task == "train"
            else f"evaluation of {result['xltlib']['examples']} examples")
    lines = [f"{args.model} on {result['device']}, {args.shape} (real lengths), {what}"]
    base, ours = result["baseline"], result["xltlib"]
    for side in (base, ours):
        extra = f"  MFU {side['mfu']:.1%}" if side.get("mfu") else ""
        extra += f"  peak {side['peak_memory_gib']:.1f} GiB" if side.get("peak_memory_gib") else ""
        lines.append(f"  {side['side']:<9} {side['examples_per_s']:8.1f} ex/s  {side['real_tokens_per_s']:10.0f} real tok/s  "
                     f"padding {side['padding_share']:.0%}{extra}")
    lines.append(f"  speed-up (examples/s): {result['speedup_examples']:.2f}x")
    if "breakdown_ms" in ours:
        lines.append(f"  xltlib step ({ours['shapes']} batch shapes): {breakdown(ours)}")
        lines.append(f"  xltlib first pass over the same steps (one-off costs, compilation included): "
                     f"{ours['first_pass_s']:.1f} s; timed pass {ours['seconds']:.1f} s")
    if args.task == "eval" and args.shape == "xnli":
        lines.append(f"  15-language XNLI test (75,150 pairs) at this rate: {75150 / ours['examples_per_s']:.0f} s "
                     f"(baseline {75150 / base['examples_per_s']:.0f} s)")
    return "\n".join(lines)


def suite_rows(name: str, device: str):
    """Every measurement of a suite, one process, as Markdown table lines (ratios from the same run), each
    yielded as soon as it is measured, so that a run cut short keeps the rows it finished."""
    device_name = torch.cuda.get_device_name() if device == "cuda" else f"cpu x{torch.get_num_threads()}"
    yield f"{device_name}, torch {torch.__version__}: `python -m benchmarks --suite {name}`\n"
    yield ("| arguments | baseline ex/s | xltlib ex/s | speed-up | padding | xltlib MFU | xltlib peak GiB | "
           "xltlib step: host / fwd / bwd / clip / opt ms | xltlib first pass s | memory estimate |")
    yield "|---|---|---|---|---|---|---|---|---|---|"
    for line in SUITES[name]:
        args = parser().parse_args(line.split() + ["--device", device])
        try:
            r = measure(args)
        except torch.OutOfMemoryError as exc:  # a size that does not fit is a result, not the end of the table
            yield f"| `{line}` | out of memory: {str(exc).splitlines()[0][:80]} | | | | | | | | |"
            torch.cuda.empty_cache()
            continue
        if args.task == "memory":
            yield (f"| `{line}` | | | | | | | | | {r['params'] / 1e9:.2f}B params, {r['trained_params'] / 1e6:.1f}M "
                   f"trained: {r['weights_and_optimizer_gib']:.1f} GiB |")
            continue
        b, o = r["baseline"], r["xltlib"]
        mfu = f"{o['mfu']:.1%}" if o.get("mfu") else ""
        peak = f"{o['peak_memory_gib']:.1f}" if o.get("peak_memory_gib") else ""
        parts = " / ".join(f"{o['breakdown_ms'][p]:.1f}" for p in PHASES) if "breakdown_ms" in o else ""
        first = f"{o['first_pass_s']:.1f}" if "first_pass_s" in o else ""
        yield (f"| `{line}` | {b['examples_per_s']:.1f} | {o['examples_per_s']:.1f} | {r['speedup_examples']:.2f}x | "
               f"{b['padding_share']:.0%} -> {o['padding_share']:.0%} | {mfu} | {peak} | {parts} | {first} | |")


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.suite:
        for row in suite_rows(args.suite, args.device):
            print(row, flush=True)
        return 0
    result = measure(args)
    print(json.dumps(result, indent=1) if args.json else report(args, result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
