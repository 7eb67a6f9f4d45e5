"""Training and evaluation throughput: xltlib's step against the step a typical HF Trainer user runs.

    python -m benchmarks --model toy-base --shape xnli            # CPU, minutes
    python -m benchmarks --model xlm-roberta-large --shape xnli --device cuda   # real size, random weights

Both sides train the same model (a config with random weights: no download) on the same examples, in
one process, one after the other:

- baseline ("Trainer defaults"): every batch padded to the task's max length, random batches, eager
  attention, plain AdamW, fp32 (``--baseline-bf16`` for the Trainer's bf16 flag);
- xltlib: length-grouped batches padded to their own longest sequence, SDPA attention, fused AdamW and
  bf16 autocast on CUDA.

Reported: examples/s, real (non-pad) tokens/s, padding share, the ratio xltlib / baseline, and on CUDA
the MFU (6 x parameters x real tokens / s / the device's peak bf16 FLOP/s) and peak memory.

Sequence lengths: ``toy`` shapes come from the toy world's own data; ``xnli`` / ``squad`` shapes are
lognormal approximations of XLM-R token counts (XNLI/MNLI pairs: median ~45 tokens, capped at 128;
SQuAD question + context windows: median ~180, capped at 384), to be replaced by histograms of the
real tokenized datasets where the Hub is reachable.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import time

import torch

MODELS = {  # name -> XLMRobertaConfig kwargs (random weights)
    "toy-base": dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=4, intermediate_size=512, vocab_size=1400),
    "xlm-roberta-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                             vocab_size=250002),
    "xlm-roberta-large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                              vocab_size=250002),
}
SHAPES = {"xnli": (45, 0.45, 128, 3), "squad": (180, 0.5, 384, 2)}  # median, sigma, max length, labels
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12}  # dense bf16 FLOP/s


def lengths(shape: str, n: int, seed: int = 0) -> list[int]:
    median, sigma, cap, _ = SHAPES[shape]
    g = torch.Generator().manual_seed(seed)
    raw = torch.exp(math.log(median) + sigma * torch.randn(n, generator=g))
    return [int(min(cap, max(8, x))) for x in raw.tolist()]


def build(model_name: str, attn: str, device: str, labels: int):
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

    cfg = XLMRobertaConfig(**MODELS[model_name], max_position_embeddings=514, num_labels=labels,
                           attn_implementation=attn)
    torch.manual_seed(0)
    return XLMRobertaForSequenceClassification(cfg).to(device)


def run_side(name, model_name, shape, n, batch, steps, device, grouped, attn, bf16, fused) -> dict:
    _, _, cap, labels = SHAPES[shape]
    lens = lengths(shape, n)
    model = build(model_name, attn, device, labels)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=fused and device == "cuda")
    order = sorted(range(n), key=lambda i: lens[i]) if grouped else list(range(n))
    groups = [order[s:s + batch] for s in range(0, n - batch + 1, batch)]
    g = torch.Generator().manual_seed(1)
    groups = [groups[i] for i in torch.randperm(len(groups), generator=g).tolist()]
    vocab = MODELS[model_name]["vocab_size"]
    real = padded = done = 0
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = None
    for step in range(steps + 2):  # two warm-up steps
        idx = groups[step % len(groups)]
        width = max(lens[i] for i in idx) if grouped else cap
        ids = torch.randint(5, vocab, (len(idx), width), generator=g)
        mask = torch.zeros(len(idx), width, dtype=torch.long)
        for r, i in enumerate(idx):
            mask[r, :lens[i]] = 1
        ids = ids.masked_fill(mask == 0, 1).to(device)
        mask = mask.to(device)
        y = torch.randint(0, labels, (len(idx),), generator=g).to(device)
        ctx = torch.autocast("cuda", dtype=torch.bfloat16) if (bf16 and device == "cuda") else torch.autocast("cpu", enabled=False)
        with ctx:
            loss = model(input_ids=ids, attention_mask=mask, labels=y).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step == 1:
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        elif step > 1:
            real += int(mask.sum())
            padded += mask.numel()
            done += len(idx)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    params = sum(p.numel() for p in model.parameters())
    out = {"side": name, "examples_per_s": done / seconds, "real_tokens_per_s": real / seconds,
           "padding_share": 1 - real / padded, "params": params}
    if device == "cuda":
        peak = next((v for k, v in PEAK_BF16.items() if k in torch.cuda.get_device_name()), None)
        out["mfu"] = 6 * params * real / seconds / peak if peak else None
        out["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="toy-base", choices=list(MODELS))
    p.add_argument("--shape", default="xnli", choices=list(SHAPES))
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--examples", type=int, default=4096)
    p.add_argument("--baseline-bf16", action="store_true", help="the baseline uses the Trainer's bf16 flag")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    common = dict(model_name=args.model, shape=args.shape, n=args.examples, batch=args.batch, steps=args.steps,
                  device=args.device)
    base = run_side("baseline", grouped=False, attn="eager", bf16=args.baseline_bf16, fused=False, **common)
    ours = run_side("xltlib", grouped=True, attn="sdpa", bf16=True, fused=True, **common)
    result = {"machine": platform.processor() or platform.machine(), "torch": torch.__version__,
              "device": torch.cuda.get_device_name() if args.device == "cuda" else f"cpu x{torch.get_num_threads()}",
              "args": vars(args), "baseline": base, "xltlib": ours,
              "speedup_examples": ours["examples_per_s"] / base["examples_per_s"]}
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(f"{args.model} on {result['device']}, {args.shape}-shaped batches of {args.batch}, {args.steps} steps")
        for side in (base, ours):
            extra = f"  MFU {side['mfu']:.1%}" if side.get("mfu") else ""
            print(f"  {side['side']:<9} {side['examples_per_s']:8.1f} ex/s  {side['real_tokens_per_s']:10.0f} real tok/s  "
                  f"padding {side['padding_share']:.0%}{extra}")
        print(f"  speed-up (examples/s): {result['speedup_examples']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
