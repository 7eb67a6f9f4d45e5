"""Tagging: words -> one tag per word (UD-POS, PAN-X, CCG)."""
from __future__ import annotations

from xltlib import metrics
from xltlib.engine.formats.base import IGNORE, TaskFormat, label_index
from xltlib.engine.heads import TokenHead
from xltlib.registry.examples import TaggingExample
from xltlib.registry.tasks import Format


class Tagging(TaskFormat):
    """Words -> sub-tokens; the first sub-token of each word carries its tag, the rest ``IGNORE``; a word the
    tokenizer normalizes away (U+200E, U+FFFD) is read as ``<unk>``, as XTREME does, so it is scored like
    others. A token head; span F1 (seqeval), or per-token accuracy where that is the task's metric (CCG)."""

    format = Format.TAGGING
    shape = "tagging"

    def featurize(self, spec, examples, tokenizer, max_length):
        index = label_index(spec)
        empty = _empty_words(tokenizer, {w for e in examples for w in e.tokens})
        words = [[tokenizer.unk_token if w in empty else w for w in e.tokens] for e in examples]
        enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
        items = []
        for i, e in enumerate(examples):
            word_ids = enc.word_ids(i)
            labels, previous = [], None
            for w in word_ids:
                labels.append(IGNORE if w is None or w == previous else index[e.tags[w]])
                previous = w
            items.append({"input_ids": enc["input_ids"][i], "labels": labels, "word_ids": word_ids})
        return items

    def input_text(self, example):
        return " ".join(example.tokens)

    def head(self, model, spec):
        return TokenHead(model.hidden_size, len(spec.labels), model.encoder.config.hidden_dropout_prob)

    def decode(self, spec, feats, per_item):
        return [words(spec, feats.items[i], per_item[i], len(e.tokens)) for i, e in enumerate(feats.examples)]

    def score(self, spec, examples, predictions, lang):
        gold = [list(e.tags) for e in examples]
        if spec.metrics[0] == "accuracy":  # CCG: per-token accuracy
            flat_p = [t for seq in predictions for t in seq]
            return {"accuracy": metrics.accuracy(flat_p, [t for seq in gold for t in seq])}
        return metrics.tagging_f1(predictions, gold)

    def oracle(self, spec, feats, lang):
        """The gold tag on each word's first sub-token, decoded as predictions are."""
        tags = [words(spec, it, [0 if t == IGNORE else t for t in it["labels"]], len(e.tokens))
                for it, e in zip(feats.items, feats.examples)]
        scores = self.score(spec, feats.examples, tags, lang)
        return {m: round(scores[m], 2) for m in spec.primary_metrics}

    def made_up(self, spec, lang, i, text):
        tokens = text(9).split()
        labels = spec.labels or ("N", "V", "NP", r"(S\NP)/NP")
        return [TaggingExample(f"{lang}-{i}", tuple(tokens), tuple(labels[(i + j) % len(labels)]
                                                                   for j in range(len(tokens))), lang)]


def words(spec, item, best, n_words) -> list[str]:
    """Tags of the words from their first sub-token; words cut off by truncation get "O" (or label 0)."""
    fallback = "O" if "O" in spec.labels else spec.labels[0]
    tags = [fallback] * n_words
    previous = None
    for pos, w in enumerate(item["word_ids"]):
        if w is not None and w != previous:
            tags[w] = spec.labels[int(best[pos])]
        previous = w
    return tags


def _empty_words(tokenizer, words: set) -> set:
    """The words the tokenizer turns into no sub-token at all (they are read as ``<unk>``)."""
    words = sorted(words)
    ids = tokenizer(words, add_special_tokens=False)["input_ids"] if words else []
    return {w for w, i in zip(words, ids) if not i}
