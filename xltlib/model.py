"""One shared encoder (any XLM-R family checkpoint, the toy XLM-R, or a config with random weights) plus
one head per task, chosen by the task's format.

    model = TransferModel.from_pretrained("FacebookAI/xlm-roberta-large")
    model.add_head(get_task("xnli"))
    out = model("xnli", batch)                  # {"loss": ..., "logits": ...}
    emb = model.embed(batch, layer=14)          # retrieval: mean-pooled hidden states of one layer
"""
from __future__ import annotations

import torch
from torch import nn

from xltlib.features import IGNORE
from xltlib.hfhub import load_pretrained, pretrained_tensors
from xltlib.tasks import Format, TaskSpec

POOLINGS = ("cls", "mean", "pair")


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


class PooledHead(nn.Module):
    """RoBERTa's classification head (dense-tanh-out) over one vector per sequence:

    - ``cls``: the <s> state (XLM-R's recipe);
    - ``mean``: the mean of all states;
    - ``pair``: [a, b, |a - b|, a * b] of the means over the first and the second text (InferSent-style),
      which lets small encoders compare the two texts of NLI, paraphrase and choice tasks; a single
      text is its own pair.
    """

    def __init__(self, hidden: int, out: int, dropout: float, pooling: str):
        super().__init__()
        self.pooling = pooling
        self.dense = nn.Linear(4 * hidden if pooling == "pair" else hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, out)

    def forward(self, hidden, mask, segments=None):
        if self.pooling == "cls":
            x = hidden[:, 0]
        elif self.pooling == "mean" or segments is None:
            x = mean_pool(hidden, mask)
            if self.pooling == "pair":
                x = torch.cat([x, x, torch.zeros_like(x), x * x], dim=-1)
        else:
            a = mean_pool(hidden, (segments == 0).long())
            b_mask = (segments == 1).long()
            b = torch.where(b_mask.any(1, keepdim=True), mean_pool(hidden, b_mask), a)
            x = torch.cat([a, b, (a - b).abs(), a * b], dim=-1)
        return self.out(self.dropout(torch.tanh(self.dense(self.dropout(x)))))


class TokenHead(nn.Module):
    def __init__(self, hidden: int, out: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, out)

    def forward(self, hidden, mask, segments=None):
        return self.out(self.dropout(hidden))


class MLMHead(nn.Module):
    """RoBERTa's LM head: dense, GELU, LayerNorm, then the decoder tied to the encoder's input embeddings
    (not a parameter of its own); scores only the positions it is given (the masked ones)."""

    def __init__(self, hidden: int, embeddings: nn.Embedding, eps: float):
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.layer_norm = nn.LayerNorm(hidden, eps=eps)
        self.bias = nn.Parameter(torch.zeros(embeddings.num_embeddings))
        self._tied = [embeddings]  # a list: not registered twice

    def forward(self, hidden):
        x = self.layer_norm(nn.functional.gelu(self.dense(hidden)))
        return nn.functional.linear(x, self._tied[0].weight, self.bias)


class TransferModel(nn.Module):
    def __init__(self, encoder: nn.Module, pooling: str = "cls"):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling={pooling!r} is not one of {', '.join(POOLINGS)}")
        self.encoder = encoder
        self.heads = nn.ModuleDict()
        self.formats: dict[str, Format] = {}
        self.pooling = pooling

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_pretrained(cls, name_or_dir: str, pooling: str = "cls", random_init: bool = False, seed: int = 0,
                        lora: int | None = None, **kwargs) -> "TransferModel":
        """The encoder of ``name_or_dir``; ``random_init`` keeps its config and tokenizer but not its weights
        (the no-pretraining control, or real-size speed/memory work without a download); ``lora=r`` trains
        rank-r LoRA adapters on the attention projections instead of all encoder weights (XLM-R XL/XXL).

        Weights load in fp32 (master weights for bf16 autocast), except the frozen base of a LoRA model on a
        GPU, which loads in bf16: XLM-R XL / XXL checkpoints are fp32 on the Hub (13.9 / 43 GB a copy), and
        transformers' ``dtype="auto"`` would keep them so."""
        from transformers import AutoConfig, AutoModel

        dtype = torch.bfloat16 if lora and torch.cuda.is_available() else torch.float32
        kwargs.setdefault("dtype", dtype)
        if random_init:
            config = load_pretrained(AutoConfig, name_or_dir)
            torch.manual_seed(seed)
            encoder = AutoModel.from_config(config, add_pooling_layer=False, **kwargs)
        else:
            encoder = load_pretrained(AutoModel, name_or_dir, add_pooling_layer=False, **kwargs)
        if lora:
            from peft import LoraConfig, get_peft_model

            config = LoraConfig(r=lora, lora_alpha=2 * lora, lora_dropout=0.1, target_modules=["query", "key", "value"])
            encoder = get_peft_model(encoder, config)
            for p in encoder.parameters():  # the adapters train in fp32 beside a bf16 base
                if p.requires_grad:
                    p.data = p.data.float()
        model = cls(encoder, pooling)
        model.source = None if random_init else name_or_dir
        return model

    def save_encoder(self, path) -> None:
        """Save the encoder as a plain checkpoint (LoRA adapters merged into the weights)."""
        encoder = self.encoder
        if hasattr(encoder, "merge_and_unload"):
            encoder = encoder.merge_and_unload()
        encoder.save_pretrained(path)

    @property
    def hidden_size(self) -> int:
        return self.encoder.config.hidden_size

    @property
    def num_layers(self) -> int:
        return self.encoder.config.num_hidden_layers

    def add_head(self, spec: TaskSpec, name: str | None = None, seed: int = 0) -> None:
        """A fresh head for ``spec`` under ``name`` (default: the task's name); replaces an existing one.

        Its initialization depends only on ``seed`` and the name, never on what ran before in the process,
        so a resumed study reproduces an uninterrupted one."""
        name = name or spec.name
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed * 1_000_003 + sum(map(ord, name)))
            self._add_head(spec, name)

    def _add_head(self, spec: TaskSpec, name: str) -> None:
        h, p = self.hidden_size, self.encoder.config.hidden_dropout_prob
        fmt = spec.format
        if fmt is Format.CLASSIFICATION:
            head = PooledHead(h, len(spec.labels), p, self.pooling)
        elif fmt is Format.MULTIPLE_CHOICE:
            head = PooledHead(h, 1, p, self.pooling)
        elif fmt is Format.SPAN_QA:
            head = TokenHead(h, 2, p)
        elif fmt is Format.TAGGING:
            head = TokenHead(h, len(spec.labels), p)
        elif fmt is Format.MLM:
            head = MLMHead(h, self.encoder.get_input_embeddings(), self.encoder.config.layer_norm_eps)
            self._pretrained_lm_head(head)
        else:
            raise ValueError(f"{spec.name}: retrieval tasks use the encoder's embeddings, not a head")
        ref = next(self.encoder.parameters())
        self.heads[name] = head.to(device=ref.device)
        self.formats[name] = fmt

    def _pretrained_lm_head(self, head: MLMHead) -> None:
        """The checkpoint's own LM head where it has one (XLM-R's, the toy model's): continued MLM then
        starts where pretraining stopped, not from a random head."""
        state = pretrained_tensors(getattr(self, "source", None), "lm_head.")
        keep = {k: v for k, v in state.items() if k in ("dense.weight", "dense.bias", "layer_norm.weight",
                                                          "layer_norm.bias", "bias")}
        if keep and keep.get("bias", head.bias).shape == head.bias.shape:
            head.load_state_dict(keep, strict=False)

    # ------------------------------------------------------------------ forward
    def forward(self, task: str, batch: dict) -> dict:
        hidden = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        mask = batch["attention_mask"]
        if self.formats[task] is Format.MLM:  # the vocabulary is scored at the masked positions only
            targets = batch["labels"] != IGNORE
            logits = self.heads[task](hidden[targets])
            return {"logits": logits, "loss": nn.functional.cross_entropy(logits.float(), batch["labels"][targets])}
        logits = self.heads[task](hidden, mask, batch.get("segments"))
        fmt = self.formats[task]
        out = {}
        if fmt is Format.MULTIPLE_CHOICE:
            logits = logits.view(-1, batch["num_choices"])
        if fmt is Format.SPAN_QA:
            start, end = logits.float().masked_fill(mask.unsqueeze(-1) == 0, -1e4).unbind(-1)
            out["logits"] = (start, end)
            if "start" in batch:
                loss_fn = nn.CrossEntropyLoss()
                out["loss"] = (loss_fn(start, batch["start"]) + loss_fn(end, batch["end"])) / 2
            return out
        out["logits"] = logits
        if "labels" in batch:
            flat = logits.float().reshape(-1, logits.shape[-1]) if fmt is Format.TAGGING else logits.float()
            out["loss"] = nn.functional.cross_entropy(flat, batch["labels"].reshape(-1), ignore_index=IGNORE)
        return out

    def embed(self, batch: dict, layer: int) -> torch.Tensor:
        """Mean-pooled hidden states of ``layer`` (0 = embeddings) — the retrieval representation."""
        out = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                           output_hidden_states=True)
        return mean_pool(out.hidden_states[layer].float(), batch["attention_mask"])
