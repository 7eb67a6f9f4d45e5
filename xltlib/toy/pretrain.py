"""The toy XLM-R: a tokenizer trained on the toy corpus and a tiny ``XLMRobertaForMaskedLM`` pretrained by MLM.

    $ xlt toy build --size base        # ~6 min on 2 CPU cores, then cached
    >>> model_dir = toy_model("smoke")  # doctest: +SKIP

The corpus mixes every kind of sentence the tasks use (events, stories, questions, sentiment, scripts)
in every toy language, each language sampled by its resource share. The tokenizer is a SentencePiece-
style subword model (BPE over ▁-marked words, as SentencePiece marks them) loaded through ``XLMRobertaTokenizerFast``; the model is ``XLMRobertaForMaskedLM``.
Both are saved with ``save_pretrained`` under ``$XLT_CACHE/toy/<hash>``, where the hash covers the
world version, the languages and the size's config, so a second call loads instead of training.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from xltlib.toy import world as W
from xltlib.toy.language import LANGUAGES
from xltlib.toy.tasks import text_of

log = logging.getLogger(__name__)
WORLD_VERSION = 4  # bump when generation changes: cached models are keyed by it


@dataclass(frozen=True)
class ToyModelSize:
    hidden: int
    layers: int
    heads: int
    ffn: int
    steps: int  # MLM steps of `batch` sequences of up to `seq_len` tokens
    batch: int = 64
    seq_len: int = 64
    lr: float = 1e-3
    vocab: int = 1400


SIZES = {
    "smoke": ToyModelSize(hidden=32, layers=2, heads=2, ffn=64, steps=40, batch=32),  # seconds: tests
    "small": ToyModelSize(hidden=64, layers=2, heads=2, ffn=256, steps=1200),
    "base": ToyModelSize(hidden=128, layers=4, heads=4, ffn=512, steps=2000),  # the default toy XLM-R
    "large": ToyModelSize(hidden=192, layers=6, heads=6, ffn=768, steps=1500),
}


def cache_root() -> Path:
    return Path(os.environ.get("XLT_CACHE", Path.home() / ".cache" / "xltlib"))


def model_key(size: str, seed: int = 0) -> str:
    spec = {"world": WORLD_VERSION, "size": dataclasses.asdict(SIZES[size]), "seed": seed,
            "languages": [dataclasses.asdict(l) for l in LANGUAGES.values()]}
    return f"{size}-{hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]}"


# -------------------------------------------------------------------------------------------- corpus
def corpus(rng: random.Random):
    """An endless stream of toy documents (1-4 sentences of one language), languages by resource share."""
    codes = list(LANGUAGES)
    weights = [LANGUAGES[c].resource for c in codes]
    while True:
        lang = LANGUAGES[rng.choices(codes, weights)[0]]
        sentences = []
        for _ in range(rng.randint(1, 4)):
            r = rng.random()
            if r < 0.45:
                f = W.sample_frame(rng, p_neg=0.15)
                sentences.append(text_of(lang.render(f, rng.randrange(2), front_time=rng.random() < 0.2)))
            elif r < 0.6:
                f = W.sample_frame(rng, p_place=0.6, p_time=0.6)
                ask = rng.choice(["agent", "obj"] + (["place"] if f.place else []) + (["time"] if f.time else []))
                sentences.append(text_of(lang.render(f, rng.randrange(2), ask=ask)))
            elif r < 0.8:  # discourse: an event, then the same event restated (entities recur, as in text)
                from xltlib.toy.tasks import _contradict, _entail, _neutral

                f = W.sample_frame(rng, p_neg=0.1)
                g = rng.choice((lambda: _entail(rng, f), lambda: _neutral(rng, f, False)[0],
                                lambda: _contradict(rng, f, False)))()
                sentences.append(text_of(lang.render(f)) + " " + text_of(lang.render(g, rng.randrange(2))))
            elif r < 0.9:
                np = W.sample_np(rng, {"food", "thing", "animal", "vehicle"}, 1)
                sentences.append(text_of(lang.render_sentiment(np, rng.choice(sorted(W.SENTIMENT)), rng.random() < 0.3)))
            else:
                steps = W.script_frames(rng, rng.randrange(len(W.SCRIPTS)))
                k = rng.randrange(len(steps) - 1)
                sentences.append(" ".join(text_of(lang.render(s)) for s in steps[k:k + 2]))
        yield " ".join(sentences)


def train_tokenizer(size: ToyModelSize, seed: int = 0, n_docs: int = 20000):
    """XLM-R's own tokenizer class (a SentencePiece-style Unigram model) over a vocabulary learned here.

    BPE training picks the pieces (frequent words whole, rare ones in parts); each piece is then scored
    by its log frequency in the corpus, which is what a Unigram model's Viterbi segmentation needs.
    """
    from collections import Counter

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import XLMRobertaTokenizer

    stream = corpus(random.Random(seed))
    docs = [next(stream) for _ in range(n_docs)]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.Metaspace()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's order
    bpe.train_from_iterator(docs, trainers.BpeTrainer(vocab_size=size.vocab, special_tokens=specials,
                                                      show_progress=False))
    counts = Counter(piece for enc in bpe.encode_batch(docs) for piece in enc.tokens)
    total = sum(counts.values())
    pieces = sorted((p for p in bpe.get_vocab() if p not in specials), key=lambda p: (-counts[p], p))
    vocab = [(p, 0.0) for p in specials] + [(p, math.log(max(counts[p], 0.5) / total)) for p in pieces]
    return XLMRobertaTokenizer(vocab=vocab)


def model_config(size: ToyModelSize, tokenizer, max_len: int = 512):
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=size.hidden, num_hidden_layers=size.layers,
        num_attention_heads=size.heads, intermediate_size=size.ffn, max_position_embeddings=max_len + 2,
        type_vocab_size=1, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
    )


def mask_tokens(input_ids: torch.Tensor, tokenizer, special: torch.Tensor, gen: torch.Generator, p: float = 0.15):
    """BERT masking: p of the non-special tokens are targets; 80% -> <mask>, 10% random, 10% kept."""
    labels = input_ids.clone()
    probs = torch.full(input_ids.shape, p)
    probs[special] = 0.0
    targets = torch.bernoulli(probs, generator=gen).bool()
    labels[~targets] = -100
    inputs = input_ids.clone()
    replace = torch.bernoulli(torch.full(input_ids.shape, 0.8), generator=gen).bool() & targets
    inputs[replace] = tokenizer.mask_token_id
    rand = torch.bernoulli(torch.full(input_ids.shape, 0.5), generator=gen).bool() & targets & ~replace
    inputs[rand] = torch.randint(5, len(tokenizer), input_ids.shape, generator=gen)[rand]
    return inputs, labels


def pretrain(size_name: str, out: Path, seed: int = 0, progress: bool = True) -> dict:
    from transformers import XLMRobertaForMaskedLM

    size = SIZES[size_name]
    torch.manual_seed(seed)
    t0 = time.time()
    tokenizer = train_tokenizer(size, seed)
    model = XLMRobertaForMaskedLM(model_config(size, tokenizer))
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=size.lr, betas=(0.9, 0.98), eps=1e-6)
    from xltlib.train import linear_schedule, optimizer_step

    sched = linear_schedule(opt, size.steps, 0.05)
    stream = corpus(random.Random(seed + 1))
    gen = torch.Generator().manual_seed(seed)
    losses, tokens = [], 0
    model.train()
    from tqdm import tqdm

    bar = tqdm(range(size.steps), desc=f"MLM pretraining toy-{size_name}", disable=not progress, mininterval=2)
    for step in bar:
        docs = [next(stream) for _ in range(size.batch)]
        enc = tokenizer(docs, truncation=True, max_length=size.seq_len, padding=True, return_tensors="pt",
                        return_special_tokens_mask=True)
        special = enc["special_tokens_mask"].bool() | (enc["attention_mask"] == 0)
        inputs, labels = mask_tokens(enc["input_ids"], tokenizer, special, gen)
        loss = model(input_ids=inputs, attention_mask=enc["attention_mask"], labels=labels).loss
        loss.backward()
        optimizer_step(model, opt, sched, 1.0)
        tokens += int(enc["attention_mask"].sum())
        losses.append(loss.item())
        if step % 50 == 0:
            bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.3f}")
    meta = {"size": size_name, "config": dataclasses.asdict(size), "seed": seed, "world_version": WORLD_VERSION,
            "seconds": round(time.time() - t0, 1), "tokens": tokens, "final_loss": sum(losses[-50:]) / len(losses[-50:]),
            "loss_curve": [round(sum(losses[i:i + 50]) / len(losses[i:i + 50]), 4) for i in range(0, len(losses), 50)],
            "parameters": sum(p.numel() for p in model.parameters())}
    tokenizer.save_pretrained(out)
    model.save_pretrained(out)
    (out / "xlt_toy.json").write_text(json.dumps(meta, indent=1))
    return meta


def toy_model(size: str = "base", seed: int = 0, progress: bool = True) -> Path:
    """The directory of the pretrained toy XLM-R of ``size``, training it on first use (atomic, cached)."""
    if size not in SIZES:
        from xltlib.errors import ConfigError

        raise ConfigError(f"toy model size {size!r} is not one of {', '.join(SIZES)}")
    final = cache_root() / "toy" / model_key(size, seed)
    if (final / "xlt_toy.json").exists():
        return final
    tmp = final.with_name(final.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    meta = pretrain(size, tmp, seed, progress)
    log.info("pretrained toy-%s in %.0fs (%d tokens, final MLM loss %.3f)", size, meta["seconds"], meta["tokens"],
             meta["final_loss"])
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final
