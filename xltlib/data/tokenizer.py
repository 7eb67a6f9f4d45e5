"""XLM-R's tokenizer from a Hub id or a directory, and the real sentencepiece model this package ships.

    from xltlib.data.tokenizer import load_tokenizer, real_tokenizer_dir
    tok = load_tokenizer("FacebookAI/xlm-roberta-large")   # Hub id (or cache / XLT_HUB_MIRROR) or model dir
    tok = load_tokenizer(real_tokenizer_dir("xlmr-tokenizer"))   # a directory holding only sentencepiece.bpe.model

A directory with only ``sentencepiece.bpe.model`` (what fairseq ships) has no config for ``AutoTokenizer``
to read the tokenizer's class from, so it is loaded as ``XLMRobertaTokenizer``, which converts the model
to a fast tokenizer (``sentencepiece`` and ``protobuf`` do the conversion). ``featurize`` needs a fast
tokenizer (word ids, character offsets).

>>> import tempfile
>>> tok = load_tokenizer(real_tokenizer_dir(tempfile.mkdtemp()))
>>> len(tok), tok("Hello world")["input_ids"]
(250002, [0, 35378, 8999, 2])
"""
from __future__ import annotations

import lzma
import os
from pathlib import Path

from xltlib.errors import DataUnavailableError

SENTENCEPIECE = "sentencepiece.bpe.model"
# XLM-R's sentencepiece model, xz-compressed, shipped with the package (xltlib/assets/README.md: source, license)
REAL_MODEL_XZ = Path(__file__).resolve().parents[1] / "assets" / "xlmr-sentencepiece.bpe.model.xz"


def real_tokenizer_dir(dest, source=REAL_MODEL_XZ) -> Path:
    """``dest`` holding XLM-R's real ``sentencepiece.bpe.model``, from ``source`` (xz-compressed or not)
    unless it is there already."""
    dest = Path(dest).expanduser()
    target = dest / SENTENCEPIECE
    if target.is_file():
        return dest
    source = Path(source)
    if not source.is_file():
        raise DataUnavailableError(f"{source}: XLM-R's sentencepiece model is not there (it ships in the "
                                   f"package's assets/); pass source= or a tokenizer directory instead")
    dest.mkdir(parents=True, exist_ok=True)
    partial = dest / f".{SENTENCEPIECE}.{os.getpid()}"
    try:
        data = source.read_bytes()
        partial.write_bytes(lzma.decompress(data) if source.suffix == ".xz" else data)
    except lzma.LZMAError as exc:
        partial.unlink(missing_ok=True)
        raise DataUnavailableError(f"{source}: not an xz archive ({exc})") from None
    partial.replace(target)  # atomic: a concurrent caller sees the whole file or none
    return dest


def load_tokenizer(name_or_dir):
    """A fast tokenizer from a Hub id or a directory (with only ``sentencepiece.bpe.model``, as XLM-R's)."""
    from transformers import AutoTokenizer, XLMRobertaTokenizer

    from xltlib.hfhub import load_pretrained, quiet

    path = Path(name_or_dir).expanduser()
    if str(name_or_dir).startswith(("/", ".", "~")) and not path.exists():
        raise DataUnavailableError(f"tokenizer directory {path} does not exist")
    if path.is_dir() and not (path / "config.json").exists() and not (path / "tokenizer_config.json").exists():
        if not (path / SENTENCEPIECE).is_file() and not (path / "tokenizer.json").is_file():
            raise DataUnavailableError(f"tokenizer directory {path} holds neither config.json, tokenizer.json nor "
                                       f"{SENTENCEPIECE}")
        with quiet():
            tokenizer = XLMRobertaTokenizer.from_pretrained(str(path))
    else:
        tokenizer = load_pretrained(AutoTokenizer, str(name_or_dir))
    if not tokenizer.is_fast:
        raise DataUnavailableError(f"tokenizer {name_or_dir}: {type(tokenizer).__name__} is not a fast tokenizer; "
                                   f"featurize needs word ids and character offsets")
    return tokenizer
