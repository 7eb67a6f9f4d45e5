"""Training and evaluation throughput: xltlib's step against the step a typical HF Trainer user runs.

    python -m benchmarks --model toy-base --shape xnli            # CPU, minutes
    python -m benchmarks --model xlm-roberta-large --shape xnli --device cuda   # real size, random weights
    python -m benchmarks --task eval --model xlm-roberta-large --shape xnli --examples 75150   # 15-language XNLI
    python -m benchmarks --task eval --model xlm-roberta-large --shape tatoeba --examples 72000  # retrieval
    python -m benchmarks --task memory --model xlm-roberta-xxl --lora 16      # estimate, no allocation
    python -m benchmarks --suite gpu        # the whole GPU table, as Markdown (one command, one process)

Both sides train the same model (a config with random weights: no download) on the same examples, in
one process, one after the other:

- baseline ("Trainer defaults"): every batch padded to the task's max length, random batches, eager
  attention, plain AdamW, fp32 (``--baseline-bf16`` for the Trainer's bf16 flag);
- xltlib: length-grouped batches padded to their own longest sequence, SDPA attention, fused AdamW and
  bf16 autocast on CUDA.

Reported: examples/s, real (non-pad) tokens/s, padding share, the ratio xltlib / baseline, and on CUDA
the MFU (6 x non-embedding parameters x real tokens / s / the device's peak bf16 FLOP/s; attention
scores not counted) and peak memory.

Sequence lengths: the ``xnli`` / ``squad`` / ``tatoeba`` shapes are lognormal approximations of XLM-R
token counts (XNLI/MNLI pairs: median ~45 tokens, capped at 128; SQuAD question + context windows:
median ~180, capped at 384; Tatoeba sentences: median ~14, capped at 512), to be replaced by histograms
of the real tokenized datasets where the Hub is reachable.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import time

import torch

from xltlib.model import mean_pool

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
# median, sigma, max length, labels; tatoeba: single sentences (median ~14 XLM-R tokens), max length 512 as
# XTREME's retrieval scripts allow
SHAPES = {"xnli": (45, 0.45, 128, 3), "squad": (180, 0.5, 384, 2), "tatoeba": (14, 0.5, 512, 0)}
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12}  # dense bf16 FLOP/s


def lengths(shape: str, n: int, seed: int = 0) -> list[int]:
    median, sigma, cap, _ = SHAPES[shape]
    g = torch.Generator().manual_seed(seed)
    raw = torch.exp(math.log(median) + sigma * torch.randn(n, generator=g))
    return [int(min(cap, max(8, x))) for x in raw.tolist()]


def config(model_name: str, labels: int = 3, attn: str = "sdpa"):
    from transformers import XLMRobertaConfig, XLMRobertaXLConfig

    kwargs = dict(MODELS[model_name])
    cls = XLMRobertaXLConfig if kwargs.pop("xl", False) else XLMRobertaConfig
    return cls(**kwargs, max_position_embeddings=514, num_labels=max(labels, 1), attn_implementation=attn)


def build(model_name: str, attn: str, device: str, labels: int):
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_config(config(model_name, labels, attn)).to(device)


def batch_of(idx, lens, width, vocab, g, device):
    ids = torch.randint(5, vocab, (len(idx), width), generator=g)
    mask = torch.zeros(len(idx), width, dtype=torch.long)
    for r, i in enumerate(idx):
        mask[r, :lens[i]] = 1
    return ids.masked_fill(mask == 0, 1).to(device), mask.to(device)


def groups_of(lens, batch, grouped, seed=1):
    order = sorted(range(len(lens)), key=lambda i: lens[i]) if grouped else list(range(len(lens)))
    groups = [order[s:s + batch] for s in range(0, len(lens), batch)]
    g = torch.Generator().manual_seed(seed)
    return [groups[i] for i in torch.randperm(len(groups), generator=g).tolist()]


def fresh(device):
    """Start a side with the memory the other side's model and optimizer held given back."""
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


@torch.no_grad()
def eval_side(name, model_name, shape, n, batch, device, grouped, attn, bf16) -> dict:
    """Zero-shot scoring (``xnli``: classify every pair) or retrieval (``tatoeba``: embed every sentence,
    mean-pooled, then nearest neighbours of each query among the candidates)."""
    _, _, cap, labels = SHAPES[shape]
    lens = lengths(shape, n)
    fresh(device)
    model = build(model_name, attn, device, labels).eval()
    vocab = MODELS[model_name]["vocab_size"]
    g = torch.Generator().manual_seed(2)
    ctx = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if (bf16 and device == "cuda") else \
        (lambda: torch.autocast("cpu", enabled=False))
    groups = groups_of(lens, batch, grouped)
    ids, mask = batch_of(groups[0], lens, cap, vocab, g, device)
    with ctx():
        model(input_ids=ids, attention_mask=mask)  # warm-up
    sync(device)
    start = time.perf_counter()
    real = padded = 0
    embeddings = []
    for idx in groups:
        width = max(lens[i] for i in idx) if grouped else cap
        ids, mask = batch_of(idx, lens, width, vocab, g, device)
        with ctx():
            if shape == "tatoeba":
                hidden = model.base_model(input_ids=ids, attention_mask=mask).last_hidden_state
                embeddings.append(mean_pool(hidden, mask).float())
            else:
                model(input_ids=ids, attention_mask=mask).logits.argmax(-1)
        real += int(mask.sum())
        padded += mask.numel()
    if embeddings:  # queries = first half, candidates = second half
        e = torch.nn.functional.normalize(torch.cat(embeddings), dim=-1)
        half = len(e) // 2
        (e[:half] @ e[half:].T).topk(1, dim=-1)
    sync(device)
    seconds = time.perf_counter() - start
    return {"side": name, "examples_per_s": n / seconds, "real_tokens_per_s": real / seconds,
            "padding_share": 1 - real / padded, "seconds": seconds}


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


def run_side(name, model_name, shape, n, batch, steps, device, grouped, attn, bf16, fused) -> dict:
    _, _, cap, labels = SHAPES[shape]
    lens = lengths(shape, n)
    fresh(device)
    model = build(model_name, attn, device, labels)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=fused and device == "cuda")
    groups = [grp for grp in groups_of(lens, batch, grouped) if len(grp) == batch]
    g = torch.Generator().manual_seed(1)
    vocab = MODELS[model_name]["vocab_size"]
    plan = [groups[step % len(groups)] for step in range(steps)]
    real = padded = done = 0
    # the same batches twice: an untimed pass first, so that each batch shape's one-off costs (kernel
    # loading and selection, allocator growth) are paid as they are once in a real run of thousands of steps
    for timed in (False, True):
        sync(device)
        start = time.perf_counter()
        for idx in plan:
            width = max(lens[i] for i in idx) if grouped else cap
            ids, mask = batch_of(idx, lens, width, vocab, g, device)
            y = torch.randint(0, labels, (len(idx),), generator=g).to(device)
            ctx = torch.autocast("cuda", dtype=torch.bfloat16) if (bf16 and device == "cuda") else torch.autocast("cpu", enabled=False)
            with ctx:
                loss = model(input_ids=ids, attention_mask=mask, labels=y).loss
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            if timed:
                real += int(mask.sum())
                padded += mask.numel()
                done += len(idx)
    sync(device)
    seconds = time.perf_counter() - start
    params = sum(p.numel() for p in model.parameters())
    # model FLOPs per token ~ 6 x the non-embedding parameters (an embedding lookup is not a matrix product)
    dense = params - sum(p.numel() for p in model.base_model.embeddings.parameters())
    out = {"side": name, "examples_per_s": done / seconds, "real_tokens_per_s": real / seconds,
           "padding_share": 1 - real / padded, "params": params}
    if device == "cuda":
        peak = next((v for k, v in PEAK_BF16.items() if k in torch.cuda.get_device_name()), None)
        out["mfu"] = 6 * dense * real / seconds / peak if peak else None
        out["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return out


# one command for the whole table: each entry is the arguments of one measurement
SUITES = {
    "gpu": ["--model xlm-roberta-large --shape xnli --steps 50",
            "--model xlm-roberta-large --shape xnli --steps 50 --baseline-bf16",
            "--model xlm-roberta-large --shape squad --steps 30 --batch 16",
            "--task eval --model xlm-roberta-large --shape xnli --examples 75150",
            "--model xlm-roberta-xl --shape xnli --steps 10 --batch 16",
            # a sixth of Tatoeba's 36 x 2,000 sentences: the baseline pads each to 512 tokens
            "--task eval --model xlm-roberta-large --shape tatoeba --examples 12000",
            *(f"--task memory --model {m}{lora}" for m in ("xlm-roberta-large", "xlm-roberta-xl", "xlm-roberta-xxl")
              for lora in ("", " --lora 16"))],
    "cpu": ["--model toy-base --shape xnli --steps 3 --examples 256 --batch 16",
            "--task eval --model toy-base --shape tatoeba --examples 256",
            "--task memory --model xlm-roberta-xxl --lora 16"],
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--suite", choices=list(SUITES), help="run a whole table (gpu: the issue's; cpu: a quick check) "
                   "and print it as Markdown")
    p.add_argument("--task", default="train", choices=["train", "eval", "memory"],
                   help="train steps, evaluation (--shape xnli: scoring; tatoeba: retrieval), or a memory estimate")
    p.add_argument("--model", default="toy-base", choices=list(MODELS))
    p.add_argument("--shape", default="xnli", choices=list(SHAPES))
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=None, help="train: 32 both sides; eval: 8 (Trainer) vs 128")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--examples", type=int, default=4096)
    p.add_argument("--lora", type=int, default=None, help="memory: LoRA rank (default: full fine-tuning)")
    p.add_argument("--baseline-bf16", action="store_true", help="the baseline uses the Trainer's bf16 flag")
    p.add_argument("--json", action="store_true")
    return p


def measure(args) -> dict:
    if args.task == "memory":
        return memory(args.model, args.lora)
    if args.task == "eval":
        common = dict(model_name=args.model, shape=args.shape, n=args.examples, device=args.device)
        base = eval_side("baseline", batch=args.batch or 8, grouped=False, attn="eager", bf16=args.baseline_bf16, **common)
        ours = eval_side("xltlib", batch=args.batch or 128, grouped=True, attn="sdpa", bf16=True, **common)
    else:
        common = dict(model_name=args.model, shape=args.shape, n=args.examples, batch=args.batch or 32,
                      steps=args.steps, device=args.device)
        base = run_side("baseline", grouped=False, attn="eager", bf16=args.baseline_bf16, fused=False, **common)
        ours = run_side("xltlib", grouped=True, attn="sdpa", bf16=True, fused=True, **common)
    return {"machine": platform.processor() or platform.machine(), "torch": torch.__version__,
            "device": torch.cuda.get_device_name() if args.device == "cuda" else f"cpu x{torch.get_num_threads()}",
            "args": vars(args), "baseline": base, "xltlib": ours,
            "speedup_examples": ours["examples_per_s"] / base["examples_per_s"]}


def report(args, result: dict) -> str:
    if args.task == "memory":
        return (f"{args.model}: {result['params'] / 1e9:.2f}B parameters, {result['trained_params'] / 1e6:.1f}M trained; "
                f"weights + optimizer state {result['weights_and_optimizer_gib']:.1f} GiB (activations not included)")
    what = f"{args.steps} training steps" if args.task == "train" else f"evaluation of {args.examples} examples"
    lines = [f"{args.model} on {result['device']}, {args.shape}-shaped data, {what}"]
    base, ours = result["baseline"], result["xltlib"]
    for side in (base, ours):
        extra = f"  MFU {side['mfu']:.1%}" if side.get("mfu") else ""
        extra += f"  peak {side['peak_memory_gib']:.1f} GiB" if side.get("peak_memory_gib") else ""
        lines.append(f"  {side['side']:<9} {side['examples_per_s']:8.1f} ex/s  {side['real_tokens_per_s']:10.0f} real tok/s  "
                     f"padding {side['padding_share']:.0%}{extra}")
    lines.append(f"  speed-up (examples/s): {result['speedup_examples']:.2f}x")
    if args.task == "eval" and args.shape == "xnli":
        lines.append(f"  15-language XNLI test (75,150 pairs) at this rate: {75150 / ours['examples_per_s']:.0f} s "
                     f"(baseline {75150 / base['examples_per_s']:.0f} s)")
    return "\n".join(lines)


def suite_rows(name: str, device: str):
    """Every measurement of a suite, one process, as Markdown table lines (ratios from the same run), each
    yielded as soon as it is measured, so that a run cut short keeps the rows it finished."""
    device_name = torch.cuda.get_device_name() if device == "cuda" else f"cpu x{torch.get_num_threads()}"
    yield f"{device_name}, torch {torch.__version__}: `python -m benchmarks --suite {name}`\n"
    yield "| arguments | baseline ex/s | xltlib ex/s | speed-up | padding | xltlib MFU | xltlib peak GiB | memory estimate |"
    yield "|---|---|---|---|---|---|---|---|"
    for line in SUITES[name]:
        args = parser().parse_args(line.split() + ["--device", device])
        try:
            r = measure(args)
        except torch.OutOfMemoryError as exc:  # a size that does not fit is a result, not the end of the table
            yield f"| `{line}` | out of memory: {str(exc).splitlines()[0][:80]} | | | | | | |"
            torch.cuda.empty_cache()
            continue
        if args.task == "memory":
            yield (f"| `{line}` | | | | | | | {r['params'] / 1e9:.2f}B params, {r['trained_params'] / 1e6:.1f}M "
                   f"trained: {r['weights_and_optimizer_gib']:.1f} GiB |")
            continue
        b, o = r["baseline"], r["xltlib"]
        mfu = f"{o['mfu']:.1%}" if o.get("mfu") else ""
        peak = f"{o['peak_memory_gib']:.1f}" if o.get("peak_memory_gib") else ""
        yield (f"| `{line}` | {b['examples_per_s']:.1f} | {o['examples_per_s']:.1f} | {r['speedup_examples']:.2f}x | "
               f"{b['padding_share']:.0%} -> {o['padding_share']:.0%} | {mfu} | {peak} | |")


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
