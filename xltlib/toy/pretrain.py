"""The toy XLM-R: a tokenizer trained on the toy corpus and a tiny ``XLMRobertaForMaskedLM`` pretrained by MLM.

    $ xlt toy build --size base        # ~7 min on 2 CPU cores, then cached
    >>> model_dir = toy_model("smoke")  # doctest: +SKIP

The corpus mixes every kind of sentence the tasks use (events, stories, questions, sentiment, scripts
told with "then" and "because") in every toy language, each language sampled by its resource share;
non-English documents borrow a tenth of their words from English (``CODE_SWITCH``), and 30% of them are
bilingual pages, each sentence beside its English translation (``BILINGUAL``). Every size sees
the same corpus: 3000 steps of about 2,000 tokens, whole documents grouped by length.

The tokenizer is a SentencePiece-style subword model (BPE over ▁-marked words, as SentencePiece marks
them) loaded through ``XLMRobertaTokenizer``; the model is ``XLMRobertaForMaskedLM``. Both are saved
with ``save_pretrained`` under ``$XLT_CACHE/toy/<hash>``, where the hash covers the world version, the
languages and the size's config, so a second call loads instead of training.

Pretraining is deterministic (CPU, one seed): the models the notebooks use (``SHIPPED``: ``base`` and
``small`` of the default world, ``base`` of notebook 01's sixteen-language world) ship with the package,
so a first ``make reports`` copies them instead of pretraining them (26 min on 2 cores).
``xlt toy build --rebuild`` pretrains one from scratch and compares it with the shipped bytes;
``--ship`` writes it into the package (after a change of the world, whose version is in the key).
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

from xltlib.engine.formats.base import IGNORE
from xltlib.engine.formats.mlm import masked_batch
from xltlib.errors import ConfigError
from xltlib.cache import cache_root, sha256
from xltlib.locking import file_lock
from xltlib.toy import semantics as W
from xltlib.toy.language import LANGUAGES, Token
from xltlib.toy.tasks import _contradict, _entail, _neutral, text_of

log = logging.getLogger(__name__)
WORLD_VERSION = 6  # bump when generation changes: cached models are keyed by it


@dataclass(frozen=True)
class ToyModelSize:
    hidden: int
    layers: int
    heads: int
    ffn: int
    steps: int = 3000  # MLM steps of about `batch` x `seq_len` tokens (the same corpus for every size)
    batch: int = 16
    seq_len: int = 128
    lr: float = 1e-3
    vocab: int = 1400


SIZES = {
    "smoke": ToyModelSize(hidden=32, layers=2, heads=2, ffn=64, steps=40, batch=16, seq_len=64),  # seconds: tests
    "small": ToyModelSize(hidden=64, layers=2, heads=2, ffn=256),
    "base": ToyModelSize(hidden=128, layers=4, heads=4, ffn=512),  # the default toy XLM-R
    "large": ToyModelSize(hidden=192, layers=6, heads=6, ffn=768),
}


# threads of a pretraining run: its floating-point sums, hence its bytes, depend on them (the shipped
# checkpoints were pretrained with 2, torch's default on the 2-core machines that built them)
THREADS = 2
# pretrained toy models shipped with the package, one directory per model_key (xltlib/assets/README.md)
SHIPPED = Path(__file__).resolve().parent.parent / "assets" / "toy"
# the files a rebuild must reproduce byte for byte (xlt_toy.json also holds the build's wall time)
MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


def model_key(size: str, seed: int = 0, languages: dict = LANGUAGES) -> str:
    """The pretrained model's cache key: the world version, the size, the seed and every language of the
    world (what decides the corpus and the tokenizer)."""
    spec = {"world": WORLD_VERSION, "size": dataclasses.asdict(SIZES[size]), "seed": seed,
            "languages": [dataclasses.asdict(l) for l in languages.values()]}
    return f"{size}-{hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]}"


# -------------------------------------------------------------------------------------------- corpus
# share of words that a non-English document borrows from English, as web text does ("we took the
# bus", "ok then"): the corpus's anchors for word meanings, the same for every language so that distance
# and resource stay independent. With them (and PAWS-X as entity swaps) PAWS-X transfers.
CODE_SWITCH = 0.1
# share of non-English documents that are bilingual pages (each sentence beside its English translation),
# as the web has them; the same rate for every language. Measured on toy-base, rate 0 (world v5) -> 0.1
# -> 0.3: Tatoeba near-high 15.5 -> 26.5 -> 42, BUCC 8.7 -> 16.4 -> 33.8, PAWS-X 72 -> 82 -> 81; the nearest
# English verb of a near-high verb is right for 6 of 12 (was 1-2).
BILINGUAL = 0.3


def code_switch(tokens: list, lang, rng: random.Random, rate: float = CODE_SWITCH) -> list:
    """``tokens`` with each word of the lexicon, at ``rate``, replaced by the English word of the same
    meaning (names, punctuation and suffixed forms stay)."""
    if lang.code == "en" or rate <= 0:
        return tokens
    en = LANGUAGES["en"]
    out = []
    for t in tokens:
        meaning = lang.meaning_of(t.form)
        if meaning and rng.random() < rate:
            t = dataclasses.replace(t, form=rng.choice(en.lexicon[meaning]))
        out.append(t)
    return out


def sentence(rng: random.Random, lang) -> list:
    """One corpus sentence of ``lang``: an event, a question, an event restated, a sentiment, or two
    steps of an event script told with "then" or "because". What it says depends only on the draws
    from ``rng``, so the same draws render the same meaning in another language."""
    r = rng.random()
    if r < 0.4:
        f = W.sample_frame(rng, p_neg=0.15)
        return lang.render(f, rng.randrange(2), front_time=rng.random() < 0.2)
    if r < 0.55:
        f = W.sample_frame(rng, p_place=0.6, p_time=0.6)
        ask = rng.choice(["agent", "obj"] + (["place"] if f.place else []) + (["time"] if f.time else []))
        return lang.render(f, rng.randrange(2), ask=ask)
    if r < 0.75:  # discourse: an event, then the same event restated (entities recur, as in text)
        f = W.sample_frame(rng, p_neg=0.1)
        g = rng.choice((lambda: _entail(rng, f), lambda: _neutral(rng, f, False)[0],
                        lambda: _contradict(rng, f, False)))()
        return lang.render(f) + lang.render(g, rng.randrange(2))
    if r < 0.85:
        np = W.sample_np(rng, {"food", "thing", "animal", "vehicle"}, 1)
        return lang.render_sentiment(np, rng.choice(sorted(W.SENTIMENT)), rng.random() < 0.3)
    # two steps of an event script, told forwards ("A . then B .") or backwards ("B . because A .")
    steps = W.script_frames(rng, rng.randrange(len(W.SCRIPTS)))
    k = rng.randrange(len(steps) - 1)
    first, second = lang.render(steps[k]), lang.render(steps[k + 1])
    if rng.random() < 0.5:
        return first + [Token(lang.word("then"), "ADV")] + second
    return second + [Token(lang.word("because"), "SCONJ")] + first


def corpus(rng: random.Random, bilingual: float = BILINGUAL, languages: dict = LANGUAGES):
    """An endless stream of toy documents (1-6 sentences of one language), languages by resource share.
    A non-English document is, at rate ``bilingual``, a bilingual page instead: 1-3 sentences, each
    followed or preceded by its English translation."""
    codes = list(languages)
    weights = [languages[c].resource for c in codes]
    en = languages["en"]
    while True:
        lang = languages[rng.choices(codes, weights)[0]]
        pairs = lang is not en and rng.random() < bilingual
        sentences = []
        for _ in range(rng.randint(1, 3) if pairs else rng.randint(1, 6)):
            same_draws = random.Random()
            same_draws.setstate(rng.getstate())
            text = text_of(code_switch(sentence(rng, lang), lang, rng))
            if pairs:
                translation = text_of(sentence(same_draws, en))
                sentences.extend([text, translation][::rng.choice((1, -1))])
            else:
                sentences.append(text)
        yield " ".join(sentences)


def train_tokenizer(size: ToyModelSize, seed: int = 0, n_docs: int = 20000, languages: dict = LANGUAGES):
    """XLM-R's own tokenizer class (a SentencePiece-style Unigram model) over a vocabulary learned here.

    BPE training picks the pieces (frequent words whole, rare ones in parts); each piece is then scored
    by its log frequency in the corpus, which is what a Unigram model's Viterbi segmentation needs.
    ``size.vocab`` pieces for the default world's seven languages, as many per language for a larger world.
    """
    from collections import Counter

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import XLMRobertaTokenizer

    stream = corpus(random.Random(seed), languages=languages)
    docs = [next(stream) for _ in range(n_docs)]
    vocab_size = round(size.vocab * len(languages) / len(LANGUAGES))
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.Metaspace()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's order
    bpe.train_from_iterator(docs, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
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


def length_batches(tokenizer, documents, max_tokens: int, max_len: int, rng: random.Random, pool: int = 64):
    """Batches of whole documents, each row ``<s> document </s>`` (truncated to ``max_len``), grouped by
    length so that a batch holds about ``max_tokens`` tokens with little padding (fairseq's
    ``--max-tokens`` batching). Documents are not packed together: each starts at the first position,
    as every task's input does -- a tiny model with absolute positions learned word order far more
    slowly from packed rows (measured, 1000 steps of ~4,000 tokens: MLM loss 4.27 packed, 3.79 not).
    The number of steps matters more than their size: the loss drops from ~3.8 to ~2.2 only after
    ~1,500 steps, hence 3000 steps of ~2,000 tokens.

    Yields ``(input_ids, attention_mask)``."""
    while True:
        enc = tokenizer([next(documents) for _ in range(pool * max_tokens // max_len)], truncation=True,
                        max_length=max_len)["input_ids"]
        enc.sort(key=len)
        batches, rows = [], []
        for ids in enc:
            if rows and (len(rows) + 1) * len(ids) > max_tokens:
                batches.append(rows)
                rows = []
            rows.append(ids)
        batches.append(rows)
        rng.shuffle(batches)
        for rows in batches:
            width = len(rows[-1])
            ids = torch.full((len(rows), width), tokenizer.pad_token_id)
            for i, r in enumerate(rows):
                ids[i, :len(r)] = torch.tensor(r)
            yield ids, (ids != tokenizer.pad_token_id).long()


def pretrain(size_name: str, out: Path, seed: int = 0, progress: bool = True, languages: dict = LANGUAGES) -> dict:
    """Pretrain a toy model into ``out``, with ``THREADS`` threads whatever the machine has (the result depends
    on them; measured: toy-base after 60 steps, 1 thread and 2 threads differ), so that a rebuild on any
    machine with the same torch reproduces the shipped checkpoints byte for byte."""
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        return _pretrain(size_name, out, seed, progress, languages)
    finally:
        torch.set_num_threads(threads)


def _pretrain(size_name: str, out: Path, seed: int, progress: bool, languages: dict) -> dict:
    from transformers import XLMRobertaForMaskedLM

    size = SIZES[size_name]
    torch.manual_seed(seed)
    t0 = time.time()
    tokenizer = train_tokenizer(size, seed, languages=languages)
    model = XLMRobertaForMaskedLM(model_config(size, tokenizer))
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=size.lr, betas=(0.9, 0.98), eps=1e-6)
    from xltlib.engine.train import linear_schedule, optimizer_step

    sched = linear_schedule(opt, size.steps, 0.05)
    documents = corpus(random.Random(seed + 1), languages=languages)
    batches = length_batches(tokenizer, documents, size.batch * size.seq_len, size.seq_len, random.Random(seed + 2))
    gen = torch.Generator().manual_seed(seed)
    losses, tokens = [], 0
    model.train()
    from tqdm import tqdm

    bar = tqdm(range(size.steps), desc=f"MLM pretraining toy-{size_name}", disable=not progress, mininterval=2)
    for step in bar:
        input_ids, attention_mask = next(batches)
        special = (input_ids == tokenizer.bos_token_id) | (input_ids == tokenizer.eos_token_id) | (attention_mask == 0)
        inputs, labels = masked_batch(input_ids, special, tokenizer.mask_token_id, len(tokenizer), gen)
        targets = labels != IGNORE  # the vocabulary projection only where there is something to predict
        hidden = model.roberta(input_ids=inputs, attention_mask=attention_mask).last_hidden_state
        loss = torch.nn.functional.cross_entropy(model.lm_head(hidden[targets]), labels[targets])
        loss.backward()
        optimizer_step(model, opt, sched, 1.0)
        tokens += int((~special).sum())
        losses.append(loss.item())
        if step % 50 == 0:
            bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.3f}")
    meta = {"size": size_name, "config": dataclasses.asdict(size), "seed": seed, "world_version": WORLD_VERSION,
            "languages": list(languages), "threads": THREADS, "torch": torch.__version__,
            "seconds": round(time.time() - t0, 1), "tokens": tokens, "final_loss": sum(losses[-50:]) / len(losses[-50:]),
            "loss_curve": [round(sum(losses[i:i + 50]) / len(losses[i:i + 50]), 4) for i in range(0, len(losses), 50)],
            "parameters": sum(p.numel() for p in model.parameters())}
    tokenizer.save_pretrained(out)
    model.save_pretrained(out)
    (out / "xlt_toy.json").write_text(json.dumps(meta, indent=1))
    return meta


def toy_model(size: str = "base", seed: int = 0, progress: bool = True, languages: dict = LANGUAGES) -> Path:
    """The directory of the pretrained toy XLM-R of ``size`` for a world's ``languages`` (default: the default
    world's): on first use copied from the package's shipped checkpoint (``SHIPPED``) or, where none is
    shipped, pretrained (atomic, cached; made once under a file lock when several processes ask at once)."""
    if size not in SIZES:
        raise ConfigError(f"toy model size {size!r} is not one of {', '.join(SIZES)}")
    final = cache_root() / "toy" / model_key(size, seed, languages)
    if (final / "xlt_toy.json").exists():
        return final
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"XLT_CACHE: {cache_root()} is not writable ({exc.strerror or exc})") from None
    with file_lock(final.with_name(final.name + ".lock")):
        if (final / "xlt_toy.json").exists():  # another process built it while this one waited
            return final
        tmp = final.with_name(final.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        if (SHIPPED / final.name / "xlt_toy.json").exists():
            shutil.copytree(SHIPPED / final.name, tmp)
            log.info("toy-%s: the shipped checkpoint %s (xlt toy build --rebuild pretrains it again)", size, final.name)
        else:
            tmp.mkdir(parents=True)
            meta = pretrain(size, tmp, seed, progress, languages)
            log.info("pretrained toy-%s in %.0fs (%d tokens, final MLM loss %.3f)", size, meta["seconds"],
                     meta["tokens"], meta["final_loss"])
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
    return final


def fingerprint(model_dir: Path) -> dict:
    """SHA-256 of each of a model directory's ``MODEL_FILES``."""
    return {name: sha256(Path(model_dir) / name) for name in MODEL_FILES}


def rebuild(size: str, seed: int = 0, languages: dict = LANGUAGES, ship: bool = False,
            progress: bool = True) -> tuple[Path, list[str] | None]:
    """Pretrain the toy model from scratch (never from the cache or the shipped copy) and compare it with
    the shipped checkpoint: its directory (the shipped one when ``ship``, written there) and the files that
    differ from the shipped bytes ([] when identical; None when none is shipped, or with ``ship``)."""
    import tempfile

    shipped = SHIPPED / model_key(size, seed, languages)
    with tempfile.TemporaryDirectory() as tmp:
        pretrain(size, Path(tmp), seed, progress, languages)
        if ship:  # never leaves a half-written checkpoint: copy beside it, then swap
            new_dir, old_dir = shipped.with_name(shipped.name + ".new"), shipped.with_name(shipped.name + ".old")
            for stale in (new_dir, old_dir):
                shutil.rmtree(stale, ignore_errors=True)
            shutil.copytree(tmp, new_dir)
            if shipped.exists():
                shipped.rename(old_dir)
            new_dir.rename(shipped)
            shutil.rmtree(old_dir, ignore_errors=True)
            return shipped, None
        if not (shipped / "xlt_toy.json").exists():
            return shipped, None
        new, old = fingerprint(Path(tmp)), fingerprint(shipped)
        return shipped, [name for name in MODEL_FILES if new[name] != old[name]]
