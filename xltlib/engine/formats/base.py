"""``TaskFormat``: what the engine does for one format, every method in one class (``xltlib.engine.formats``)."""
from __future__ import annotations

from typing import ClassVar

from torch import nn

from xltlib.registry.tasks import Format, TaskSpec

IGNORE = -100  # the label of a position that is not scored (padding, non-first sub-tokens, unmasked tokens)


class TaskFormat:
    """One task format. Subclasses set the class facts and override what differs:

    - ``featurize``: normalized examples -> one token-id item per model input (``xltlib.engine.features``);
    - ``head`` / ``forward``: the head put on the encoder, and its logits and loss on a batch (``xltlib.engine.model``);
    - ``collect`` / ``decode``: a batch's logits kept per item, then one prediction per example;
      ``score``: the predictions' metrics (``xltlib.engine.evaluation``);
    - ``input_text``: the text an example stands for (task similarity, ``xltlib.report.similarity``);
    - ``oracle``: the scores of an oracle right wherever the inputs let it be (``xlt data audit``);
    - ``made_up``: the rows of a split the rehearsal invents where its sample holds none.
    """

    format: ClassVar[Format]
    shape: ClassVar[str]  # the cost model's input shape (``xlt plan``, ``benchmarks/``)
    trains_head: ClassVar[bool] = True  # False: scored from the encoder's embeddings (retrieval)
    fresh_head: ClassVar[bool] = True  # False: its head is the pretrained model's own (MLM), not a new one
    raw_text: ClassVar[bool] = False  # trains on unlabelled text in any language (MLM)
    capped_by_eval_size: ClassVar[bool] = True  # a study's eval_size cuts its scored sets (not retrieval's)
    picks_one: ClassVar[bool] = False  # one class or choice per example: a majority baseline, a collapse check
    windowed: ClassVar[bool] = False  # long inputs become several windows (QA), never cut

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # ------------------------------------------------------------------ inputs
    def featurize(self, spec: TaskSpec, examples: list, tokenizer, max_length: int) -> list[dict]:
        raise NotImplementedError

    def input_text(self, example) -> str:
        raise NotImplementedError

    # ------------------------------------------------------------------ the head
    def head(self, model, spec: TaskSpec) -> nn.Module:
        raise NotImplementedError

    def forward(self, head: nn.Module, hidden, batch: dict) -> dict:
        """``{"logits"}``, and ``"loss"`` when ``batch`` holds gold labels: cross-entropy over the last axis."""
        logits = self.logits(head(hidden, batch["attention_mask"], batch.get("segments")), batch)
        out = {"logits": logits}
        if "labels" in batch:
            flat = logits.float().reshape(-1, logits.shape[-1])
            out["loss"] = nn.functional.cross_entropy(flat, batch["labels"].reshape(-1), ignore_index=IGNORE)
        return out

    def logits(self, logits, batch: dict):
        return logits

    # ------------------------------------------------------------------ predictions and scores
    def collect(self, logits, indices: list[int], feats, per_item: dict) -> None:
        """Keep what ``decode`` needs of one batch's logits, per item: the best class at each position."""
        best = logits.float().argmax(-1).cpu()
        for row, i in enumerate(indices):
            per_item[i] = best[row]

    def decode(self, spec: TaskSpec, feats, per_item: dict) -> list:
        raise ValueError(f"{spec.name}: {self.format.value} tasks are not predicted one answer per example")

    def score(self, spec: TaskSpec, examples: list, predictions: list, lang: str) -> dict[str, float]:
        raise ValueError(f"{spec.name}: {self.format.value} tasks have no predictions to score")

    def oracle(self, spec: TaskSpec, feats, lang: str) -> dict[str, float]:
        """The audit's oracle scores on featurized gold (none where the gold survives any input: labels)."""
        return {}

    # ------------------------------------------------------------------ the rehearsal
    def made_up(self, spec: TaskSpec, lang: str, i: int, text) -> list:
        """The ``i``-th made-up row(s) of a split in ``lang``; ``text(k)`` gives k made-up words."""
        raise NotImplementedError


def label_index(spec: TaskSpec) -> dict:
    return {label: i for i, label in enumerate(spec.labels)}


def segments(enc, i: int) -> list[int]:
    """0 for tokens of the first text, 1 for the second, 2 for special tokens (for pair pooling)."""
    return [2 if s is None else s for s in enc.sequence_ids(i)]


def percent(k: int, n: int) -> float:
    """``k`` of ``n`` in percent, two decimals (0 of nothing)."""
    return round(100.0 * k / n, 2) if n else 0.0
