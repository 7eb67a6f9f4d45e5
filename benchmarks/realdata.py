"""Real examples and the real tokenizer for the benchmarks: XTREME's own files (xltlib/assets/xtreme, excerpts of
its download folder) tokenized by XLM-R's sentencepiece model (xltlib/assets/xlmr-sentencepiece.bpe.model.xz),
so that sequence lengths, padding and batch widths are those of the real data.

    tok = real_tokenizer()                         # or tokenizer_for(vocab): ids folded for toy sizes
    feats = features("xnli", 4096, tok)            # 4,096 XNLI pairs (the 240 dev pairs, cycled), tokenized

Shapes (the task, the files, the width a Trainer user pads to):

- ``xnli``: XNLI dev pairs (de, en, es, zh), MNLI-like sentence pairs; padded to 128 by the baseline
  (XTREME's and HF's run_xnli ``max_seq_length``);
- ``squad``: XQuAD questions and paragraphs (de, en, zh; SQuAD v1.1 dev paragraphs and their translations),
  cut into windows of 384 tokens with stride 128 as the engine does;
- ``udpos``: UD-POS sentences (English train and dev, Chinese dev), tagging, 128;
- ``tatoeba``: Tatoeba sentences (de-en, zh-en), retrieval, padded to 512 by the baseline as XTREME's
  retrieval scripts allow. XTREME sorts Tatoeba's English side (it hides the alignment), so the files are
  read without the loader's blanked-labels check: lengths are real, accuracies are meaningless (random
  weights anyway).

The excerpts hold the first rows of each file (60 XNLI pairs per language, 60 XQuAD questions over 5
paragraphs per language, ...): real lengths, a small sample of them. Examples are cycled to the requested
count, each copy with its own id.
"""
from __future__ import annotations

import dataclasses
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

XTREME = Path(__file__).resolve().parent.parent / "xltlib" / "assets" / "xtreme"
from xltlib.data.tokenizer import REAL_MODEL_XZ as SPM  # noqa: E402


class Shape(NamedTuple):
    task: str  # the registry task whose spec featurizes and scores it
    sources: tuple[tuple[str, str], ...]  # (lang, split) read from XTREME's folder
    width: int  # the length a Trainer user pads every batch to (the engine truncates there too)
    hf_head: str  # the transformers Auto class a Trainer user trains: sequence / token / qa / none


SHAPES = {
    "xnli": Shape("xnli", (("de", "dev"), ("en", "dev"), ("es", "dev"), ("zh", "dev")), 128, "sequence"),
    "squad": Shape("xquad", (("de", "test"), ("en", "test"), ("zh", "test")), 384, "qa"),
    "udpos": Shape("udpos", (("en", "train"), ("en", "dev"), ("zh", "dev")), 128, "token"),
    "tatoeba": Shape("tatoeba", (("de", "test"), ("zh", "test")), 512, "none"),
}


@lru_cache(maxsize=1)
def real_tokenizer():
    """XLM-R's tokenizer from the sentencepiece model in tests/data (no download): "Hello world" ->
    ``[0, 35378, 8999, 2]``."""
    from xltlib.data.tokenizer import load_tokenizer, real_tokenizer_dir

    return load_tokenizer(real_tokenizer_dir(tempfile.mkdtemp(prefix="xlmr-spm-"), SPM))


def spec(shape: str):
    from xltlib.registry.tasks import get_task

    return get_task(SHAPES[shape].task)


def _read(shape: str) -> list:
    from xltlib.data import load_examples
    from xltlib.data.local import _tatoeba

    s = SHAPES[shape]
    out = []
    for lang, split in s.sources:
        if shape == "tatoeba":  # blanked alignment: read the lines, not the (refused) split
            path = XTREME / "tatoeba" / f"{lang}-en.{lang}"
            out += [e for _, e in _tatoeba(path, spec(shape), lang, split)]
        else:
            out += load_examples(s.task, lang, split, source=str(XTREME), on_error="raise").examples
    return out


def _copy(e, k: int):
    """The ``k``-th copy of an example under its own id (retrieval: its positives renamed alike)."""
    if k == 0:
        return e
    changes = {"id": f"{e.id}#{k}"}
    if hasattr(e, "positives"):
        changes["positives"] = tuple(f"{p}#{k}" for p in e.positives)
    return dataclasses.replace(e, **changes)


def examples(shape: str, n: int) -> list:
    """``n`` real examples of ``shape`` (retrieval: sentences, queries and candidates in turn), cycled."""
    base = _read(shape)
    return [_copy(base[i % len(base)], i // len(base)) for i in range(n)]


class Folded:
    """The real tokenizer with its ids folded into a toy vocabulary of ``vocab`` (< XLM-R's 250,002): special
    tokens (0-3: <s>, <pad>, </s>, <unk>) kept, the rest mapped to 4 + id mod (vocab - 4). Lengths, word
    and sequence ids, padding and masks are the real tokenizer's; only toy-size models need it (their
    embedding tables are small)."""

    def __init__(self, tokenizer, vocab: int):
        self.tokenizer, self.vocab = tokenizer, vocab

    def __call__(self, *args, **kwargs):
        enc = self.tokenizer(*args, **kwargs)
        ids = enc["input_ids"]
        if hasattr(ids, "remainder"):  # return_tensors="pt"
            enc["input_ids"] = ids.where(ids < 4, 4 + ids.remainder(self.vocab - 4))
        else:
            enc["input_ids"] = self.fold(ids) if not ids or isinstance(ids[0], int) else [self.fold(r) for r in ids]
        return enc

    def fold(self, ids: list[int]) -> list[int]:
        return [i if i < 4 else 4 + i % (self.vocab - 4) for i in ids]

    def __len__(self) -> int:
        return self.vocab

    def __getattr__(self, name):
        return getattr(self.tokenizer, name)


def tokenizer_for(vocab: int):
    """The real tokenizer, folded into ``vocab`` when the model's vocabulary is smaller than XLM-R's."""
    tok = real_tokenizer()
    return Folded(tok, vocab) if vocab < len(tok) else tok


def features(shape: str, n: int, tokenizer):
    """``n`` examples of ``shape`` featurized by the engine (``xltlib.engine.features.featurize``) at the shape's
    width."""
    from xltlib.engine.features import featurize

    return featurize(spec(shape), examples(shape, n), tokenizer, max_length=SHAPES[shape].width)
