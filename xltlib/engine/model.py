"""One shared encoder (any XLM-R family checkpoint, the toy XLM-R, or a config with random weights) plus
one head per task, chosen by the task's format (``xltlib.engine.formats``; the heads are in ``xltlib.engine.heads``).

    model = TransferModel.from_pretrained("FacebookAI/xlm-roberta-large")
    model.add_head(get_task("xnli"))
    out = model("xnli", batch)                  # {"loss": ..., "logits": ...}
    emb = model.embed(batch, layer=14)          # retrieval: mean-pooled hidden states of one layer
"""
from __future__ import annotations

import torch
from torch import nn

from xltlib.engine.formats import format_of
from xltlib.engine.heads import POOLINGS, mean_pool
from xltlib.hfhub import load_pretrained
from xltlib.registry.tasks import Format, TaskSpec

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
        head = format_of(spec).head(self, spec)
        ref = next(self.encoder.parameters())
        self.heads[name] = head.to(device=ref.device)
        self.formats[name] = spec.format

    # ------------------------------------------------------------------ forward
    def forward(self, task: str, batch: dict) -> dict:
        """The head's logits, and its loss when ``batch`` holds gold (the format's ``forward``)."""
        hidden = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        return format_of(self.formats[task]).forward(self.heads[task], hidden, batch)

    def embed(self, batch: dict, layer: int) -> torch.Tensor:
        """Mean-pooled hidden states of ``layer`` (0 = embeddings) — the retrieval representation."""
        out = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                           output_hidden_states=True)
        return mean_pool(out.hidden_states[layer].float(), batch["attention_mask"])
