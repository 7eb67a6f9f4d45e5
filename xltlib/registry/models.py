"""The model registry: sizes of pretrained encoders without loading them (no weights, no network, no torch).

    size = model_size("FacebookAI/xlm-roberta-large")   # a row of tables/models.tsv
    size = model_size("/models/my-xlmr")                # a directory (or a mirrored repo): its config.json
    size.layers, size.hidden, size.parameters, size.architecture, size.source, size.note

Studies are validated with it (``Profile.model_size``) and ``xlt plan`` reads a model's sizes from it;
only ``xlt run`` (``Profile.check_model``) makes sure the model itself can be had. A Hub id the table
does not know is not refused: its sizes are unknown (``known`` is False and ``note`` says so), and
whatever needs them says so in turn. A directory is read from its ``config.json``, whose absence is an
error: nothing could load such a model.

>>> model_size("FacebookAI/xlm-roberta-large").parameters
558840832
>>> model_size("no-such-org/no-such-model").note  # doctest: +ELLIPSIS
'model no-such-org/no-such-model is not in xltlib/tables/models.tsv: its sizes are unknown ...'
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from xltlib.errors import ConfigError

SIZE_FIELDS = ("layers", "hidden", "heads", "ffn", "vocab", "positions", "token_types")
CONFIG_KEYS = {"layers": "num_hidden_layers", "hidden": "hidden_size", "heads": "num_attention_heads",
               "ffn": "intermediate_size", "vocab": "vocab_size", "positions": "max_position_embeddings",
               "token_types": "type_vocab_size"}  # config.json of the bert and xlm-roberta families
ARCHITECTURES = ("bert", "xlm-roberta", "xlm-roberta-xl")


@dataclass(frozen=True)
class ModelSize:
    """A model's sizes (None where unknown) and where they come from."""

    model: str
    architecture: str | None = None
    layers: int | None = None
    hidden: int | None = None
    heads: int | None = None
    ffn: int | None = None
    vocab: int | None = None
    positions: int | None = None
    token_types: int | None = None
    parameters: int | None = None  # the encoder's, without pooler
    source: str = ""
    note: str = ""  # why sizes are unknown, if they are

    @property
    def known(self) -> bool:
        return self.layers is not None

    def same_as(self) -> str | None:
        """The first model of the table with this one's architecture and sizes (a directory holding XLM-R
        Large is ``FacebookAI/xlm-roberta-large``), or None."""
        if not self.known:
            return None
        mine = (self.architecture, *(getattr(self, f) for f in SIZE_FIELDS))
        return next((m for m, s in known_models().items()
                     if (s.architecture, *(getattr(s, f) for f in SIZE_FIELDS)) == mine), None)


def encoder_parameters(vocab: int, hidden: int, layers: int, ffn: int, positions: int, token_types: int) -> int:
    """Parameters of a BERT / XLM-R encoder without pooler: embeddings (words, positions, token types, one
    layer norm) and per layer attention (four projections), feed-forward (two) and two layer norms. XLM-R
    XL's pre-layer-norm encoder moves the embeddings' layer norm after the last layer: the same count."""
    embeddings = (vocab + positions + token_types) * hidden + 2 * hidden
    layer = 4 * (hidden * hidden + hidden) + 2 * hidden * ffn + ffn + hidden + 4 * hidden
    return embeddings + layers * layer


@lru_cache(maxsize=1)
def known_models() -> dict[str, ModelSize]:
    """Every model of ``xltlib/tables/models.tsv`` by its id, in table order."""
    text = resources.files("xltlib").joinpath("tables/models.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader((line for line in text.splitlines() if line and not line.startswith("#")), delimiter="\t")
    return {r["model"]: ModelSize(r["model"], r["architecture"], **{f: int(r[f]) for f in SIZE_FIELDS},
                                  parameters=int(r["parameters"]), source=f"tables/models.tsv: {r['source']}")
            for r in rows}


def _from_config(model: str, folder: Path) -> ModelSize:
    path = folder / "config.json"
    if not path.is_file():
        raise ConfigError(f"model: directory {folder} has no config.json (a model directory holds the config "
                          f"and the weights save_pretrained writes)")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"model: {path} is not readable JSON ({exc})") from None
    kind = config.get("model_type")
    sizes = {f: config.get(key) for f, key in CONFIG_KEYS.items()}
    if kind not in ARCHITECTURES or not all(isinstance(v, int) for v in sizes.values()):
        return ModelSize(model, kind, source=str(path), note=f"model {model}: {path} is of model_type {kind!r}, "
                         f"whose sizes xltlib does not read (it reads {', '.join(ARCHITECTURES)}): sizes unknown")
    parameters = encoder_parameters(sizes["vocab"], sizes["hidden"], sizes["layers"], sizes["ffn"],
                                    sizes["positions"], sizes["token_types"])
    return ModelSize(model, kind, **sizes, parameters=parameters, source=str(path))


def model_size(model: str) -> ModelSize:
    """The sizes of ``model``: a directory's (or a mirrored repo's, ``XLT_HUB_MIRROR``) ``config.json``, else
    the table's row; an unknown Hub id has unknown sizes, with a note. A path that does not exist is an error."""
    from xltlib.hfhub import mirrored

    folder = Path(mirrored(model) or model).expanduser()
    if folder.is_dir():
        return _from_config(model, folder)
    if model.startswith(("/", ".", "~")):
        raise ConfigError(f"model: directory {folder} does not exist")
    table = known_models()
    row = table.get(model) or next((s for m, s in table.items() if m.lower() == model.lower()), None)
    if row is not None:
        return row
    return ModelSize(model, note=f"model {model} is not in xltlib/tables/models.tsv: its sizes are unknown "
                                 f"(a plan counts its runs and tokens; add a row, or pass a local directory)")
