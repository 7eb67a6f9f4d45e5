"""Extractive QA scoring: exact match and token F1 as the official SQuAD v1.1 and MLQA scripts compute them.

Normalization: lowercase, remove punctuation, remove articles, re-tokenize.

- SQuAD v1.1 rules (XQuAD, TyDiQA-GoldP, SQuAD, and any language without MLQA rules): ASCII punctuation,
  English articles, whitespace tokens.
- MLQA rules (``lang`` in ar, de, en, es, hi, vi, zh): all Unicode punctuation (category P*) plus ASCII
  punctuation; per-language articles; Arabic: every occurrence of the substring "ال" becomes a space,
  as the official regex does; Chinese: each CJK character (U+4E00..U+9FA5) and each punctuation mark is
  a token of its own.
- EM and F1 take the max over the gold answers; a question without a prediction scores 0.
- An unanswerable question (empty gold list, SQuAD v2) counts as answered correctly only by an empty
  prediction (SQuAD v2's rule: gold [""]; F1 = EM when either side is empty).
"""
from __future__ import annotations

import re
import string
import sys
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Mapping, Sequence

MLQA_LANGS = ("ar", "de", "en", "es", "hi", "vi", "zh")

_ARTICLES = {
    "en": r"\b(a|an|the)\b",
    "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
    "vi": r"\b(của|là|cái|chiếc|những)\b",
    "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
    "ar": r"\sال^|ال",  # the official script's regex: in effect, every "ال" becomes a space
}
_SQUAD_PUNCT = frozenset(string.punctuation)
_CJK = re.compile(r"[\u4e00-\u9fa5]")


@lru_cache(maxsize=1)
def _unicode_punct() -> frozenset[str]:
    return frozenset(
        chr(i) for i in range(sys.maxunicode + 1) if unicodedata.category(chr(i)).startswith("P")
    ) | _SQUAD_PUNCT


def _mixed_segmentation(text: str) -> list[str]:
    """Chinese: CJK characters and punctuation marks are single tokens; the rest splits on whitespace."""
    punct = _unicode_punct()
    tokens, run = [], ""
    for ch in text:
        if _CJK.match(ch) or ch in punct:
            tokens += run.split()
            run = ""
            tokens.append(ch)
        else:
            run += ch
    return tokens + run.split()


RULES = ("auto", "squad", "mlqa")


def _rules(lang: str, rules: str) -> str:
    if rules not in RULES:
        raise ValueError(f"rules={rules!r} is not one of {', '.join(RULES)}")
    if rules == "mlqa" and lang not in MLQA_LANGS:
        raise ValueError(f"MLQA normalization is defined for {', '.join(MLQA_LANGS)}, not {lang!r}")
    if rules == "auto":
        return "mlqa" if lang in MLQA_LANGS else "squad"
    return rules


def normalize_answer(text: str, lang: str = "en", rules: str = "auto") -> str:
    """The normalized form both EM and F1 compare.

    >>> normalize_answer("The  Eiffel Tower!")
    'eiffel tower'
    >>> normalize_answer("Die Katze.", "de")
    'katze'
    >>> normalize_answer("Die Katze.", "xx")      # no MLQA rules: SQuAD's English articles only
    'die katze'
    >>> normalize_answer("北京大学。", "zh")
    '北 京 大 学'
    >>> normalize_answer("«Hola», dijo el niño", "es")
    'hola dijo niño'
    >>> normalize_answer("«Hola», dijo el niño", "es", rules="squad")   # as XTREME scores XQuAD
    '«hola» dijo el niño'
    """
    mlqa = _rules(lang, rules) == "mlqa"
    punct = _unicode_punct() if mlqa else _SQUAD_PUNCT
    article = _ARTICLES.get(lang) if mlqa else _ARTICLES["en"]
    text = "".join(ch for ch in text.lower() if ch not in punct)
    if article:
        text = re.sub(article, " ", text)
    tokens = _mixed_segmentation(text) if mlqa and lang == "zh" else text.split()
    return " ".join(t for t in tokens if t.strip())


def _exact(prediction: str, gold: str, lang: str, rules: str) -> float:
    return float(normalize_answer(prediction, lang, rules) == normalize_answer(gold, lang, rules))


def _f1(prediction: str, gold: str, lang: str, rules: str, unanswerable: bool) -> float:
    pred, ref = normalize_answer(prediction, lang, rules).split(), normalize_answer(gold, lang, rules).split()
    if unanswerable and (not pred or not ref):
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def squad_scores(
    predictions: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    lang: str = "en",
    rules: str = "auto",
) -> dict[str, float]:
    """Exact match and F1 (0-100) over the questions of ``references``.

    Args:
        predictions: question id -> predicted answer text.
        references: question id -> gold answer texts (several for dev/test sets; empty = unanswerable).
        lang: answer language; MLQA normalization for ar/de/en/es/hi/vi/zh, SQuAD rules otherwise.
        rules: ``"auto"`` (as above), ``"squad"`` (the SQuAD v1.1 script, which XTREME uses for XQuAD
            and TyDiQA in every language) or ``"mlqa"`` (the MLQA script).

    Returns:
        ``{"exact_match": ..., "f1": ...}``

    Examples:
        >>> squad_scores({"q1": "the Eiffel tower", "q2": "1889"}, {"q1": ["Eiffel Tower"], "q2": ["in 1887"]})
        {'exact_match': 50.0, 'f1': 50.0}
        >>> squad_scores({"q1": "der Hund"}, {"q1": ["Hund", "ein Hund"]}, lang="de")
        {'exact_match': 100.0, 'f1': 100.0}
        >>> squad_scores({}, {"q1": ["x"]})            # unanswered questions score 0
        {'exact_match': 0.0, 'f1': 0.0}
    """
    if not references:
        raise ValueError("squad_scores: no reference questions")
    _rules(lang, rules)
    em = f1 = 0.0
    for qid, golds in references.items():
        if qid not in predictions:
            continue
        prediction = predictions[qid]
        unanswerable = len(golds) == 0
        golds = golds or [""]
        em += max(_exact(prediction, g, lang, rules) for g in golds)
        f1 += max(_f1(prediction, g, lang, rules, unanswerable) for g in golds)
    n = len(references)
    return {"exact_match": 100.0 * em / n, "f1": 100.0 * f1 / n}
