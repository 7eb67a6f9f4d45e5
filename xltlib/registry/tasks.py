"""The task registry: every XTREME / XTREME-R target and English intermediate task as a declarative spec.

A task is data — format, metrics, languages, splits, Hub mapping, labels, default lengths — never code;
code is written per *format* (``xltlib.engine.formats``, one class each; their examples in
``xltlib.registry.examples``). XTREME-R is a second benchmark over the same specs: it swaps language lists and a
few sources (``BENCHMARKS``).

    $ xlt tasks --benchmark xtreme-r

>>> from xltlib.registry.tasks import get_task, list_tasks
>>> xnli = get_task("xnli")
>>> xnli.format.value, xnli.metrics, len(xnli.languages), xnli.train_task
('classification', ('accuracy',), 15, 'mnli')
>>> len(get_task("udpos").languages), len(get_task("udpos", benchmark="xtreme-r").languages)
(33, 38)
>>> [t.name for t in list_tasks(benchmark="xtreme")]
['xnli', 'pawsx', 'udpos', 'panx', 'xquad', 'mlqa', 'tydiqa', 'bucc2018', 'tatoeba']
>>> get_task("xnil")
Traceback (most recent call last):
...
KeyError: "unknown task 'xnil'; known tasks: xnli, pawsx, ..."
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping, NamedTuple

from xltlib.errors import ConfigError
from xltlib.registry.languages import language


class Format(str, Enum):
    """The six formats; each has one example type. Five train a head of their own (MLM only as an
    intermediate task, mixed into phase 1); retrieval has none: it is scored from the encoder's sentence
    embeddings.

    >>> len(Format)
    6
    """

    CLASSIFICATION = "classification"  # single sentence or sentence pair -> one label
    MULTIPLE_CHOICE = "multiple_choice"  # context + k choices -> index of the right one
    SPAN_QA = "span_qa"  # question + context -> answer span (or none, SQuAD v2)
    TAGGING = "tagging"  # tokens -> one tag per token
    RETRIEVAL = "retrieval"  # queries -> ranked candidates, from sentence embeddings
    MLM = "mlm"  # unlabeled text -> its masked tokens (continued pretraining, mixed into phase 1)


ROLES = ("target", "intermediate", "auxiliary")  # auxiliary: English training data of a target only
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class HubSource:
    """Where one split of a task lives on the Hugging Face Hub, and how its rows map to examples.

    ``config`` may hold ``{lang}`` (ISO 639-1), ``{name}`` (English name) or ``{iso3}`` (ISO 639-3).
    """

    path: str  # dataset repo id, e.g. "google/xtreme"
    config: str | None  # dataset config (subset) name template
    split: str  # the Hub's split name, e.g. "validation"
    schema: str  # row adapter in xltlib.data.schemas, e.g. "squad"
    revision: str | None = None  # e.g. "refs/convert/parquet" for repos that still ship a loading script
    data_dir: str | None = None  # a folder of the repo instead of a config (parquet conversions: "copa")
    columns: Mapping[str, str] = field(default_factory=dict)  # normalized field -> Hub column, where they differ
    languages: tuple[str, ...] | None = None  # only for these languages (None: every language of the task)
    stream: int | None = None  # read only the first this many rows, streamed (Wikipedia: no full download)
    language_filter: str | None = None  # pooled configs: "column:<name>" or "id_prefix" (TyDiQA)

    def config_for(self, lang: str) -> str | None:
        if self.config is None:
            return None
        info = language(lang)
        return self.config.format(lang=lang, name=info.name, iso3=info.iso639_3)


@dataclass(frozen=True)
class RetrievalSpec:
    """Sentence representation for retrieval: mean-pooled hidden states of one layer.

    XTREME uses layer 14 of XLM-R Large's 24 (which layer is best is disputed, so it is a parameter);
    for other depths the same relative depth is used.
    """

    layer: int = 14
    of_layers: int | None = 24  # None: ``layer`` is an index whatever the depth (-1: the last layer)
    pooling: str = "mean"
    # subtract each side's mean embedding before comparing (removes the language-identity direction;
    # Libovicky et al. 2020). Off for XTREME, whose published numbers do not centre; on in the toy world.
    center: bool = False
    prefix: str = ""  # put before every sentence (E5 was trained with "query: "; a study's retrieval_prefix)

    def layer_for(self, num_layers: int) -> int:
        """The layer to pool for an encoder with ``num_layers`` layers.

        >>> RetrievalSpec().layer_for(24), RetrievalSpec().layer_for(12), RetrievalSpec().layer_for(4)
        (14, 7, 2)
        >>> RetrievalSpec(layer=-1, of_layers=None).layer_for(12), RetrievalSpec(layer=3, of_layers=None).layer_for(12)
        (12, 3)
        """
        if self.of_layers is None:
            if self.layer > num_layers:
                raise ConfigError(f"retrieval_layer: {self.layer} is deeper than the model's {num_layers} layers "
                                 f"(0 = the embeddings, {num_layers} = the last)")
            return num_layers if self.layer == -1 else self.layer
        return max(1, min(num_layers, round(self.layer * num_layers / self.of_layers)))


class LocalFile(NamedTuple):
    """Where a split may lie in a local directory (a study's ``local_data``), besides the normalized
    ``<task>/<lang>/<split>.jsonl``: ``path`` relative to the directory, with ``{lang}``, ``{split}`` and
    ``{iso3}`` (ISO 639-3) filled in; ``reader``: the reader of ``xltlib.data.local.READERS`` that parses
    it; ``blank``: the check of ``xltlib.data.local.BLANK_CHECKS`` that tells a copy with its labels blanked
    (XTREME's leaderboard splits), or None."""
    path: str
    reader: str
    blank: str | None = None


class ToyAnalog(NamedTuple):
    """How the toy world generates a task: ``generator``, a generator of ``xltlib.toy.tasks`` (every one takes
    ``(rng, language, index)``; "bitext": the retrieval pairs; "mlm_text": continued MLM's documents), its
    keyword arguments as (name, value) pairs, and its inputs' ``max_length`` in toy tokens (None: the task's)."""
    generator: str
    kwargs: tuple = ()
    max_length: int | None = 64


@dataclass(frozen=True)
class TaskSpec:
    name: str  # registry key, lowercase
    title: str  # as papers write it
    format: Format
    role: str  # one of ROLES
    metrics: tuple[str, ...]  # first is primary; QA tasks score (EM+F1)/2
    languages: tuple[str, ...]  # evaluation languages (English included where the benchmark has it)
    hub: Mapping[str, tuple[HubSource, ...]]  # split -> sources (concatenated, e.g. the ANLI+ mix)
    labels: tuple[str, ...] = ()  # classification labels / tag set; empty where open (QA, retrieval)
    num_choices: int | None = None  # multiple choice
    allow_no_answer: bool = False  # SQuAD v2
    qa_rules: str = "squad"  # answer normalization (xltlib.metrics.qa): XTREME uses MLQA's script for MLQA only
    train_task: str | None = None  # English training data comes from this task (XNLI <- MNLI)
    train_languages: tuple[str, ...] = ("en",)  # languages with a train split (translated data included)
    test_only: tuple[str, ...] = ()  # evaluation languages without a dev split
    category: str | None = None  # benchmark category (targets only)
    benchmarks: tuple[str, ...] = ()
    # jiant's XTREME recipe (docs/reference.md): lengths per format, epochs per task, batch 32 (QA 16)
    max_length: int = 256
    epochs: float = 2.0
    batch_size: int = 32
    retrieval: RetrievalSpec | None = None
    encoder_from: str = "target"  # "target": fine-tuned model; "intermediate": phase-1 encoder; or a task name
    train_before: tuple[str, ...] = ()  # tasks fine-tuned, in order, before the target's own data (one head)
    threshold_on_dev: bool = False  # scored with a similarity threshold tuned on its dev split's gold (BUCC)
    open_labels: bool = False  # its label set is the one its training data holds (CCG's supertags)
    # split -> the layouts of a local directory it may be read from, in the order they are tried
    local: Mapping[str, tuple[LocalFile, ...]] = dataclasses.field(default_factory=dict)
    toy: ToyAnalog | None = None  # its analog in the toy world (None: a study on the toy profile refuses it)
    hub_caveat: str = ""  # why scores on the Hub copy are not comparable with published ones ("": they are)
    notes: str = ""

    @property
    def primary_metrics(self) -> tuple[str, ...]:
        """The metrics whose mean is the task's one number per language: (EM + F1) / 2 where a task reports
        both (XTREME's QA score), else the first."""
        qa = ("exact_match", "f1")
        return qa if set(qa) <= set(self.metrics) else self.metrics[:1]

    def primary(self, scores: dict) -> float:
        """The one number per language: the mean of ``primary_metrics`` in ``scores``."""
        return sum(scores[m] for m in self.primary_metrics) / len(self.primary_metrics)

    def splits(self) -> tuple[str, ...]:
        return tuple(s for s in SPLITS if s in self.hub or (s == "train" and self.train_task))

    def check(self, lang: str, split: str) -> None:
        """Raise a ValueError naming the valid choices unless ``lang``/``split`` exist for this task."""
        if split not in SPLITS:
            raise ValueError(f"{self.name}: split {split!r} is not one of {', '.join(SPLITS)}")
        if self.hub and split not in self.splits():
            raise ValueError(f"{self.name} has no {split} split; its splits: {', '.join(self.splits())}")
        valid = self.train_languages if split == "train" else self.languages
        if split == "dev":
            valid = tuple(x for x in valid if x not in self.test_only)
        if lang not in valid:
            raise ValueError(
                f"{self.name}: language {lang!r} has no {split} split; "
                f"languages with one: {', '.join(valid) or 'none'}"
            )


# --------------------------------------------------------------------------------------------------
# Language lists (XTREME: Hu et al. 2020; XTREME-R: Ruder et al. 2021)
# --------------------------------------------------------------------------------------------------
def _langs(text: str) -> tuple[str, ...]:
    return tuple(text.split())


XNLI_LANGS = _langs("en ar bg de el es fr hi ru sw th tr ur vi zh")
PAWSX_LANGS = _langs("en de es fr ja ko zh")
UDPOS_LANGS = _langs(
    "af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur vi yo zh"
)
UDPOS_TEST_ONLY = _langs("kk th tl yo")
PANX_LANGS = _langs(
    "af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt ru sw ta te "
    "th tl tr ur vi yo zh"
)
XQUAD_LANGS = _langs("en ar de el es hi ru th tr vi zh")
MLQA_LANGS = _langs("en ar de es hi vi zh")
TYDIQA_LANGS = _langs("en ar bn fi id ko ru sw te")
BUCC_LANGS = _langs("de fr ru zh")
TATOEBA_LANGS = _langs(
    "af ar bg bn de el es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr nl pt ru sw ta te th tl tr "
    "ur vi zh"
)
# XTREME-R (from the XTREME-R paper; verify against its repository before relying on the exact lists)
UDPOS_R_LANGS = UDPOS_LANGS + _langs("lt pl ro uk wo")  # UD v2.7
PANX_R_LANGS = PANX_LANGS + _langs("az gu lt pa pl qu ro uk")
TATOEBA_R_ADDED = _langs("az lt pl ro uk")
XCOPA_LANGS = _langs("et ht id it qu sw ta th tr vi zh")
MEWSLIX_LANGS = _langs("ar de en es fa ja pl ro ta tr uk")
LAREQA_LANGS = _langs("ar de el en es hi ru th tr vi zh")

ALL_LANGS = tuple(dict.fromkeys(XNLI_LANGS + PAWSX_LANGS + UDPOS_R_LANGS + PANX_R_LANGS + XQUAD_LANGS + ("ro",)
                                + TYDIQA_LANGS + TATOEBA_LANGS + TATOEBA_R_ADDED + XCOPA_LANGS + MEWSLIX_LANGS))
NLI_LABELS = ("entailment", "neutral", "contradiction")
UPOS = _langs("ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X")
NER_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")

XT = "google/xtreme"


def _per_lang(path, config, splits: Mapping[str, str], schema, **kw) -> dict[str, tuple[HubSource, ...]]:
    """One source per split from a per-language config, e.g. ``PAN-X.{lang}``."""
    return {ours: (HubSource(path, config, theirs, schema, **kw),) for ours, theirs in splits.items()}


_CLS = Format.CLASSIFICATION
_MC = Format.MULTIPLE_CHOICE
_QA = Format.SPAN_QA
_TAG = Format.TAGGING
_RET = Format.RETRIEVAL

_TASKS: list[TaskSpec] = [
    # ---------------------------------------------------------------- XTREME targets
    TaskSpec(
        "xnli", "XNLI", _CLS, "target", ("accuracy",), XNLI_LANGS,
        hub={s: (HubSource(XT, "XNLI", h, "xnli", language_filter="column:language"),)
             for s, h in (("dev", "validation"), ("test", "test"))},
        labels=NLI_LABELS, train_task="mnli", category="classification", epochs=2,
        notes="languages are pooled in one config; gold_label is a string",
        # XTREME's download folder
        local={s: (LocalFile("xnli/{split}-{lang}.tsv", "pairs", "pairs"),) for s in ("dev", "test")},
        toy=ToyAnalog("nli"),
    ),
    TaskSpec(
        "pawsx", "PAWS-X", _CLS, "target", ("accuracy",), PAWSX_LANGS,
        hub=_per_lang(XT, "PAWS-X.{lang}", {"train": "train", "dev": "validation", "test": "test"}, "pawsx"),
        labels=("0", "1"), train_languages=PAWSX_LANGS, category="classification", epochs=5,
        notes="label is the string '0'/'1'; non-English train is machine-translated (translate-train)",
        # XTREME's download folder
        local={s: (LocalFile("pawsx/{split}-{lang}.tsv", "pairs", "pairs"),) for s in ("train", "dev", "test")},
        toy=ToyAnalog("paraphrase"),
    ),
    TaskSpec(
        "udpos", "UD-POS", _TAG, "target", ("f1",), UDPOS_LANGS,
        hub=_per_lang(XT, "udpos.{name}", {"train": "train", "dev": "validation", "test": "test"}, "tagging",
                      columns={"tags": "pos_tags"}),
        labels=UPOS, test_only=UDPOS_TEST_ONLY, category="structured", epochs=10,
        notes="scored with seqeval F1 over UPOS tags, exactly as XTREME does",
        hub_caveat="the Hub copy keeps CoNLL-U's split multiword tokens; XTREME fuses them (es, fr, it, pt, de, "
                   "ar, he, ...): read XTREME's download folder (local_data) for comparable numbers",
        # XTREME's download folder
        local={s: (LocalFile("udpos/{split}-{lang}.tsv", "conll", "conll"),) for s in ("train", "dev", "test")},
        toy=ToyAnalog("tagging", (("kind", "pos"),)),
    ),
    TaskSpec(
        "panx", "PAN-X (WikiANN)", _TAG, "target", ("f1",), PANX_LANGS,
        hub=_per_lang(XT, "PAN-X.{lang}", {"train": "train", "dev": "validation", "test": "test"}, "tagging",
                      columns={"tags": "ner_tags"}),
        labels=NER_TAGS, category="structured", epochs=10,
        # XTREME's download folder
        local={s: (LocalFile("panx/{split}-{lang}.tsv", "conll", "conll"),) for s in ("train", "dev", "test")},
        toy=ToyAnalog("tagging", (("kind", "ner"),)),
    ),
    TaskSpec(
        "xquad", "XQuAD", _QA, "target", ("exact_match", "f1"), XQUAD_LANGS,
        hub={"test": (HubSource("google/xquad", "xquad.{lang}", "validation", "squad"),)},
        train_task="squad_v1", category="qa", max_length=384, batch_size=16, epochs=2,
        notes="test-only (no dev); model selection on SQuAD dev",
        # XTREME's download folder
        local={"test": (LocalFile("xquad/xquad.{lang}.json", "squad_json", "answers"),)},
        toy=ToyAnalog("span_qa", (("n_sentences", 3),), 128),
    ),
    TaskSpec(
        "mlqa", "MLQA", _QA, "target", ("exact_match", "f1"), MLQA_LANGS,
        hub=_per_lang(XT, "MLQA.{lang}.{lang}", {"dev": "validation", "test": "test"}, "squad"),
        train_task="squad_v1", category="qa", max_length=384, batch_size=16, epochs=2, qa_rules="mlqa",
        notes="zero-shot uses context and question in the same language; MLQA answer normalization",
        # XTREME's download folder
        local={s: (LocalFile("mlqa/MLQA_V1/{split}/{split}-context-{lang}-question-{lang}.json", "squad_json",
                             "answers"),)
               for s in ("dev", "test")},
        toy=ToyAnalog("span_qa", (("n_sentences", 5),), 160),
    ),
    TaskSpec(
        "tydiqa", "TyDiQA-GoldP", _QA, "target", ("exact_match", "f1"), TYDIQA_LANGS,
        hub={s: (HubSource(XT, "tydiqa", h, "squad", language_filter="id_prefix"),)
             for s, h in (("train", "train"), ("test", "validation"))},
        category="qa", max_length=384, batch_size=16, epochs=2,
        notes="all languages in one config, language from the id prefix; the Hub validation split is "
              "XTREME's test set",
        # XTREME's download folder
        local={"train": (LocalFile("tydiqa/tydiqa-goldp-v1.1-train/tydiqa.goldp.{lang}.train.json", "squad_json"),),
               # TyDiQA-GoldP's dev set is XTREME's test set
               "test": (LocalFile("tydiqa/tydiqa-goldp-v1.1-dev/tydiqa.goldp.{lang}.dev.json", "squad_json",
                                     "answers"),)},
        toy=ToyAnalog("span_qa", (("n_sentences", 2), ("genre", "farm")), 96),
    ),
    TaskSpec(
        "bucc2018", "BUCC 2018", _RET, "target", ("f1",), BUCC_LANGS,
        hub=_per_lang(XT, "bucc18.{lang}", {"dev": "validation", "test": "test"}, "bitext"),
        category="retrieval", max_length=512, retrieval=RetrievalSpec(), encoder_from="intermediate",
        threshold_on_dev=True, notes="the threshold is tuned on dev",
        hub_caveat="the Hub copy holds the gold pairs only, not the comparable corpora with their distractors: "
                   "mining is far easier and F1 inflated; read XTREME's bucc2018/ folder (local_data)",
        # XTREME's download folder
        local={s: (LocalFile("bucc2018/{lang}-en.{split}.{lang}", "bucc", "bucc"),) for s in ("dev", "test")},
        toy=ToyAnalog("bitext", max_length=None),
    ),
    TaskSpec(
        "tatoeba", "Tatoeba", _RET, "target", ("accuracy",), TATOEBA_LANGS,
        hub=_per_lang(XT, "tatoeba.{iso3}", {"test": "validation"}, "bitext"),
        category="retrieval", max_length=512, retrieval=RetrievalSpec(), encoder_from="intermediate",
        notes="1000 pairs per language, English target side; nearest neighbour by cosine",
        # LASER's gold-aligned copy (under tatoeba/, tatoeba/v1/, or LASER's data/tatoeba/v1 as the directory)
        # before XTREME's, whose English side is sorted
        local={"test": (*(LocalFile(f"{where}tatoeba.{{iso3}}-eng.{{iso3}}", "tatoeba_laser")
                          for where in ("tatoeba/", "tatoeba/v1/", "v1/")),
                        LocalFile("tatoeba/{lang}-en.{lang}", "tatoeba", "tatoeba"))},
        toy=ToyAnalog("bitext", max_length=None),
    ),
    # ---------------------------------------------------------------- XTREME-R additions
    TaskSpec(
        "xcopa", "XCOPA", _MC, "target", ("accuracy",), XCOPA_LANGS,
        hub=_per_lang("cambridgeltl/xcopa", "{lang}", {"dev": "validation", "test": "test"}, "copa"),
        num_choices=2, train_task="copa", train_before=("siqa",), category="classification", epochs=5,
        notes="trained on SIQA, then COPA (English), as XTREME-R does; selected on COPA's validation set",
        # XTREME's download folder
        local={"dev": (LocalFile("xcopa/val-{lang}.jsonl", "copa", "copa"),),
               "test": (LocalFile("xcopa/test-{lang}.jsonl", "copa", "copa"),)},
        toy=ToyAnalog("copa"),
    ),
    TaskSpec(
        "mewslix", "Mewsli-X", _RET, "target", ("map@20",), MEWSLIX_LANGS, hub={},
        category="retrieval", max_length=64, retrieval=RetrievalSpec(), encoder_from="intermediate",
        notes="not on the Hub in a loadable form: use a local directory in the normalized retrieval schema",
    ),
    TaskSpec(
        "lareqa", "LAReQA", _RET, "target", ("map@20",), LAREQA_LANGS, hub={},
        category="retrieval", max_length=512, retrieval=RetrievalSpec(), encoder_from="squad_v1",
        notes="built from XQuAD-R (google-research-datasets/xquad_r); load the retrieval pool from a local "
              "directory in the normalized retrieval schema",
    ),
    # ---------------------------------------------------------------- English intermediate tasks
    TaskSpec(
        "anli_plus", "ANLI+", _CLS, "intermediate", ("accuracy",), ("en",),
        hub={
            "train": (
                HubSource("stanfordnlp/snli", "plain_text", "train", "nli"),
                HubSource("nyu-mll/glue", "mnli", "train", "nli"),
                *(HubSource("facebook/anli", "plain_text", f"train_r{r}", "nli") for r in (1, 2, 3)),
            ),
            "dev": tuple(HubSource("facebook/anli", "plain_text", f"dev_r{r}", "nli") for r in (1, 2, 3)),
        },
        labels=NLI_LABELS, epochs=2,
        notes="SNLI + MNLI + ANLI rounds 1-3 trained together with one shared NLI head",
        toy=ToyAnalog("nli", (("adversarial", True),)),
    ),
    TaskSpec(
        "ccg", "CCG supertagging", _TAG, "intermediate", ("accuracy",), ("en",), hub={}, epochs=2, open_labels=True,
        notes="CCGbank is licensed (no public source): put it in a local directory (a study's local_data) as "
              "ccg/<split>.tsv, one sentence a line, tokens<TAB>tags (both space-separated), with an optional "
              "ccg/tags_to_id.json (jiant's tag map) fixing the tag order, or as ccg/en/<split>.jsonl records",
        local={s: (LocalFile("ccg/{split}.tsv", "ccg"),) for s in ("train", "dev", "test")},
        toy=ToyAnalog("tagging", (("kind", "ccg"),)),
    ),
    TaskSpec(
        "commonsenseqa", "CommonsenseQA", _MC, "intermediate", ("accuracy",), ("en",),
        hub=_per_lang("tau/commonsense_qa", None, {"train": "train", "dev": "validation"}, "commonsense_qa"),
        num_choices=5, epochs=2,
        toy=ToyAnalog("concept", max_length=32),
    ),
    TaskSpec(
        "cosmosqa", "Cosmos QA", _MC, "intermediate", ("accuracy",), ("en",),
        hub=_per_lang("allenai/cosmos_qa", None, {"train": "train", "dev": "validation"}, "cosmos_qa"),
        num_choices=4, epochs=2, notes="main ships a loading script: read at its parquet conversion",
        toy=ToyAnalog("reading", max_length=96),
    ),
    TaskSpec(
        "hellaswag", "HellaSwag", _MC, "intermediate", ("accuracy",), ("en",),
        hub=_per_lang("Rowan/hellaswag", None, {"train": "train", "dev": "validation"}, "hellaswag"),
        num_choices=4, epochs=2,
        toy=ToyAnalog("next_event"),
    ),
    TaskSpec(
        "mnli", "MNLI", _CLS, "intermediate", ("accuracy",), ("en",),
        hub={
            "train": (
                HubSource("nyu-mll/glue", "mnli", "train", "nli", languages=("en",)),
                HubSource("facebook/xnli", "{lang}", "train", "nli", languages=XNLI_LANGS[1:]),
            ),
            "dev": (HubSource("nyu-mll/glue", "mnli", "validation_matched", "nli"),),
        },
        labels=NLI_LABELS, train_languages=XNLI_LANGS, epochs=2,
        notes="non-English train = MNLI machine-translated (facebook/xnli train), for synthetic-multilingual runs",
        # XTREME's download folder
        local={"train": (LocalFile("xnli/train-{lang}.tsv", "pairs"),)},
        toy=ToyAnalog("nli"),
    ),
    TaskSpec(
        "qqp", "QQP", _CLS, "intermediate", ("accuracy",), ("en",),
        hub=_per_lang("nyu-mll/glue", "qqp", {"train": "train", "dev": "validation"}, "pair",
                      columns={"text_a": "question1", "text_b": "question2"}),
        labels=("not_duplicate", "duplicate"), epochs=2,
        toy=ToyAnalog("question_pair"),
    ),
    TaskSpec(
        "squad_v1", "SQuAD v1.1", _QA, "intermediate", ("exact_match", "f1"), ("en",),
        hub=_per_lang("rajpurkar/squad", "plain_text", {"train": "train", "dev": "validation"}, "squad"),
        max_length=384, batch_size=16, epochs=2,
        # XTREME's download folder
        local={"train": (LocalFile("squad/train-v1.1.json", "squad_json"),),
               "dev": (LocalFile("squad/dev-v1.1.json", "squad_json"),)},
        toy=ToyAnalog("span_qa", (("n_sentences", 3),), 128),
    ),
    TaskSpec(
        "squad_v2", "SQuAD v2.0", _QA, "intermediate", ("exact_match", "f1"), ("en",),
        hub=_per_lang("rajpurkar/squad_v2", "squad_v2", {"train": "train", "dev": "validation"}, "squad"),
        allow_no_answer=True, max_length=384, batch_size=16, epochs=2,
        toy=ToyAnalog("span_qa", (("n_sentences", 3), ("p_unanswerable", 0.33)), 128),
    ),
    TaskSpec(
        "sst2", "SST-2", _CLS, "intermediate", ("accuracy",), ("en",),
        hub=_per_lang("nyu-mll/glue", "sst2", {"train": "train", "dev": "validation"}, "pair",
                      columns={"text_a": "sentence"}),
        labels=("negative", "positive"), epochs=2,
        # GLUE's download
        local={s: (LocalFile("SST-2/{split}.tsv", "glue_single"),) for s in ("train", "dev")},
        toy=ToyAnalog("sentiment", max_length=32),
    ),
    TaskSpec(
        "mlm", "Continued MLM (Wikipedia)", Format.MLM, "intermediate", ("accuracy",), ALL_LANGS,
        hub={"train": (HubSource("wikimedia/wikipedia", "20231101.{lang}", "train", "text", stream=20000),)},
        train_languages=ALL_LANGS, epochs=1,
        notes="masked-LM training on the first 20,000 Wikipedia articles of each language (the 2023-11-01 dump), "
              "mixed into phase 1: the paper's continued multilingual MLM. Its languages are the setup's "
              "mlm_languages (default: the study's evaluation languages)",
        toy=ToyAnalog("mlm_text"),
    ),
    # ---------------------------------------------------------------- English training data of targets only
    TaskSpec(
        "copa", "COPA", _MC, "auxiliary", ("accuracy",), ("en",),
        hub=_per_lang("aps/super_glue", "copa", {"train": "train", "dev": "validation"}, "copa"),
        num_choices=2, epochs=5,
        # XTREME's download folder
        local={"train": (LocalFile("xcopa/train-en.jsonl", "copa"),),
               "dev": (LocalFile("xcopa/val-en.jsonl", "copa"),)},
        toy=ToyAnalog("copa"),
    ),
    TaskSpec(
        "siqa", "Social IQa", _MC, "auxiliary", ("accuracy",), ("en",),
        hub=_per_lang("allenai/social_i_qa", None, {"train": "train", "dev": "validation"}, "siqa"),
        num_choices=3, epochs=2, notes="main ships a loading script: read at its parquet conversion",
        # XTREME's download folder
        local={"train": (LocalFile("siqa/socialIQa_v1.4_trn.jsonl", "siqa"),),
               "dev": (LocalFile("siqa/socialIQa_v1.4_dev.jsonl", "siqa"),)},
    ),
]
# lengths by format (jiant recipe): QA 384, retrieval 512, the rest 256 — set above where they differ

_REGISTRY: dict[str, TaskSpec] = {t.name: t for t in _TASKS}


@dataclass(frozen=True)
class Benchmark:
    name: str
    tasks: tuple[str, ...]
    overrides: Mapping[str, Mapping[str, object]] = field(default_factory=dict)  # task -> spec fields
    # how the benchmark's headline number is averaged: over tasks (XTREME) or over categories
    average_over: str = "tasks"


BENCHMARKS: dict[str, Benchmark] = {
    "xtreme": Benchmark(
        "xtreme", ("xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba")
    ),
    "xtreme-r": Benchmark(
        "xtreme-r",
        ("xnli", "xcopa", "udpos", "panx", "xquad", "mlqa", "tydiqa", "mewslix", "lareqa", "tatoeba"),
        overrides={
            "udpos": {"languages": UDPOS_R_LANGS,
                      "hub": _per_lang(XT, "udpos.{name}", {"train": "train", "dev": "validation", "test": "test"},
                                       "tagging", columns={"tags": "pos_tags"}, languages=UDPOS_LANGS),
                      "notes": "UD v2.7 languages lt, pl, ro, uk, wo are not in google/xtreme: load them from a "
                               "local directory (XTREME's download folder has them)"},
            "panx": {"languages": PANX_R_LANGS,
                     "hub": _per_lang("unimelb-nlp/wikiann", "{lang}",
                                      {"train": "train", "dev": "validation", "test": "test"}, "tagging",
                                      columns={"tags": "ner_tags"})},
            "xquad": {"languages": XQUAD_LANGS + ("ro",)},
            "tatoeba": {"encoder_from": "squad_v1", "languages": TATOEBA_LANGS + TATOEBA_R_ADDED,
                        "hub": _per_lang(XT, "tatoeba.{iso3}", {"test": "validation"}, "bitext",
                                         languages=TATOEBA_LANGS),
                        "notes": "XTREME-R: evaluated after SQuAD fine-tuning; az, lt, pl, ro, uk are not in "
                                 "google/xtreme (XTREME's download folder has them)"},
        },
        average_over="categories",
    ),
}

for _bench in BENCHMARKS.values():
    for _name in _bench.tasks:
        _REGISTRY[_name] = dataclasses.replace(
            _REGISTRY[_name], benchmarks=_REGISTRY[_name].benchmarks + (_bench.name,)
        )


def _unknown(kind: str, value: str, known) -> KeyError:
    return KeyError(f"unknown {kind} {value!r}; known {kind}s: {', '.join(known)}")


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise _unknown("benchmark", name, BENCHMARKS)
    return BENCHMARKS[name]


def get_task(name: str | TaskSpec, benchmark: str | None = None) -> TaskSpec:
    """The spec of task ``name``, as ``benchmark`` defines it (None: its base XTREME definition)."""
    if isinstance(name, TaskSpec):
        return name
    if name not in _REGISTRY:
        raise _unknown("task", name, _REGISTRY)
    spec = _REGISTRY[name]
    if benchmark is not None:
        bench = get_benchmark(benchmark)
        if name not in bench.tasks:
            raise KeyError(f"task {name!r} is not part of {benchmark}; its tasks: {', '.join(bench.tasks)}")
        spec = dataclasses.replace(spec, **bench.overrides.get(name, {}))
    return spec


def list_tasks(
    benchmark: str | None = None, format: str | Format | None = None, role: str | None = None
) -> list[TaskSpec]:
    """Specs filtered by benchmark (with its overrides applied), format and role, in registry order."""
    if format is not None:
        try:
            format = Format(format)
        except ValueError:
            raise _unknown("format", str(format), [f.value for f in Format]) from None
    if role is not None and role not in ROLES:
        raise _unknown("role", role, ROLES)
    names = get_benchmark(benchmark).tasks if benchmark else list(_REGISTRY)
    specs = [get_task(n, benchmark) for n in names]
    return [s for s in specs if (format is None or s.format is format) and (role is None or s.role == role)]
