"""Small Hub dataset repos written in the Hub's exact schemas (columns, ClassLabel features, configs,
split names), laid out as a Hub repo clone: ``<root>/<owner>/<name>/README.md`` with the ``configs:``
YAML the Hub uses for parquet datasets, and ``<config>/<split>-00000-of-00001.parquet``.

``datasets.load_dataset(<root>/<owner>/<name>, config, split=...)`` reads them through the same
builder as the Hub's parquet files; xltlib finds them through ``XLT_HUB_MIRROR``.
"""
from __future__ import annotations

from pathlib import Path

from datasets import ClassLabel, Features, List, Value

from xltlib.data.mirror import write_repo, write_script_repo  # noqa: F401 -- the tests write repos with them

S = Value("string")
I = Value("int32")
NLI = ClassLabel(names=["entailment", "neutral", "contradiction"])
UPOS = ClassLabel(names="ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split())
NER = ClassLabel(names=["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"])
SQUAD = Features({"id": S, "title": S, "context": S, "question": S,
                  "answers": {"text": List(S), "answer_start": List(I)}})


def squad_row(qid, context, question, answer, start=None):
    start = context.index(answer) if start is None else start
    return {"id": qid, "title": "t", "context": context, "question": question,
            "answers": {"text": [answer], "answer_start": [start]}}


def _bitext(lang, n):
    f = Features({"source_sentence": S, "target_sentence": S, "source_lang": S, "target_lang": S})
    return f, [{"source_sentence": f"{lang} sentence {i}", "target_sentence": f"english sentence {i}",
                "source_lang": lang, "target_lang": "en"} for i in range(n)]


def build_mirror(root: Path) -> Path:
    """One small repo per Hub dataset the registry names; returns ``root`` (the mirror directory)."""
    # ---- google/xtreme
    xnli_f = Features({"language": S, "sentence1": S, "sentence2": S, "gold_label": S})
    xnli_rows = [
        {"language": lang, "sentence1": f"{lang} premise {i}", "sentence2": f"{lang} hypothesis {i}",
         "gold_label": ["entailment", "neutral", "contradiction"][i % 3]}
        for lang in ("en", "de", "sw") for i in range(3)
    ]
    pawsx_f = Features({"sentence1": S, "sentence2": S, "label": S})
    pawsx = [{"sentence1": "a b", "sentence2": "b a", "label": "0"}, {"sentence1": "c", "sentence2": "c", "label": "1"}]
    udpos_f = Features({"tokens": List(S), "pos_tags": List(UPOS)})
    udpos = [{"tokens": ["I", "sleep", "."], "pos_tags": [10, 15, 12]}, {"tokens": ["Hi"], "pos_tags": [6]}]
    panx_f = Features({"tokens": List(S), "ner_tags": List(NER), "langs": List(S)})
    panx = [{"tokens": ["Angela", "Merkel", "spricht"], "ner_tags": [1, 2, 0], "langs": ["de"] * 3},
            {"tokens": ["Berlin"], "ner_tags": [5], "langs": ["de"]}]
    tydiqa = [squad_row(f"{name}-{i}", f"{name} context number {i}", "q?", f"number {i}")
              for name in ("english", "swahili", "arabic") for i in range(2)]
    write_repo(root, "google/xtreme", {
        "XNLI": {"validation": (xnli_f, xnli_rows), "test": (xnli_f, xnli_rows)},
        "PAWS-X.en": {s: (pawsx_f, pawsx) for s in ("train", "validation", "test")},
        "PAWS-X.de": {s: (pawsx_f, pawsx) for s in ("train", "validation", "test")},
        "udpos.English": {s: (udpos_f, udpos) for s in ("train", "validation", "test")},
        "udpos.Yoruba": {"test": (udpos_f, udpos)},
        "PAN-X.de": {s: (panx_f, panx) for s in ("train", "validation", "test")},
        "MLQA.de.de": {s: (SQUAD, [squad_row("m1", "Der Hund schläft.", "Wer?", "Der Hund")])
                       for s in ("validation", "test")},
        "tydiqa": {"train": (SQUAD, tydiqa), "validation": (SQUAD, tydiqa)},
        "bucc18.de": {s: _bitext("de", 3) for s in ("validation", "test")},
        "tatoeba.deu": {"validation": _bitext("de", 4)},
    })
    # ---- other target repos
    write_repo(root, "google/xquad", {
        "xquad.de": {"validation": (SQUAD, [squad_row("x1", "Die Katze schläft.", "Wer?", "Die Katze"),
                                            squad_row("x2", "Es regnet.", "Was?", "regnet")])},
    })
    copa_f = Features({"premise": S, "choice1": S, "choice2": S, "question": S, "label": I, "idx": I,
                       "changed": Value("bool")})
    copa = [{"premise": "The man fell.", "choice1": "He slipped.", "choice2": "He sang.", "question": "cause",
             "label": 0, "idx": 1, "changed": False}]
    write_repo(root, "cambridgeltl/xcopa", {"et": {"validation": (copa_f, copa), "test": (copa_f, copa)}})
    write_repo(root, "unimelb-nlp/wikiann", {
        "ro": {s: (Features({"tokens": List(S), "ner_tags": List(NER), "langs": List(S), "spans": List(S)}),
                   [{"tokens": ["Ion", "Popescu"], "ner_tags": [1, 2], "langs": ["ro"] * 2,
                     "spans": ["PER: Ion Popescu"]}]) for s in ("train", "validation", "test")},
    })
    # ---- intermediate / auxiliary repos
    glue_nli = Features({"premise": S, "hypothesis": S, "label": NLI, "idx": I})
    mnli = [{"premise": f"p{i}", "hypothesis": f"h{i}", "label": i % 3, "idx": i} for i in range(4)]
    qqp_f = Features({"question1": S, "question2": S, "label": ClassLabel(names=["not_duplicate", "duplicate"]),
                      "idx": I})
    sst_f = Features({"sentence": S, "label": ClassLabel(names=["negative", "positive"]), "idx": I})
    write_repo(root, "nyu-mll/glue", {
        "mnli": {"train": (glue_nli, mnli), "validation_matched": (glue_nli, mnli[:2])},
        "qqp": {s: (qqp_f, [{"question1": "How?", "question2": "Why?", "label": 0, "idx": 0}])
                for s in ("train", "validation")},
        "sst2": {s: (sst_f, [{"sentence": "great film", "label": 1, "idx": 0}]) for s in ("train", "validation")},
    })
    snli_f = Features({"premise": S, "hypothesis": S, "label": NLI})
    snli = [{"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": 0},
            {"premise": "A dog runs.", "hypothesis": "Unclear.", "label": -1}]  # SNLI's no-gold-label rows
    write_repo(root, "stanfordnlp/snli", {"plain_text": {"train": (snli_f, snli)}})
    anli_f = Features({"uid": S, "premise": S, "hypothesis": S, "label": NLI, "reason": S})
    anli_split = lambda r: (anli_f, [{"uid": f"r{r}", "premise": "p", "hypothesis": "h", "label": 2, "reason": ""}])
    write_repo(root, "facebook/anli", {"plain_text": {f"{k}_r{r}": anli_split(r) for k in ("train", "dev") for r in (1, 2, 3)}})
    write_repo(root, "facebook/xnli", {"de": {"train": (Features({"premise": S, "hypothesis": S, "label": NLI}),
                                                        [{"premise": "Ein Hund.", "hypothesis": "Ein Tier.", "label": 0}])}})
    csqa_f = Features({"id": S, "question": S, "question_concept": S,
                       "choices": {"label": List(S), "text": List(S)}, "answerKey": S})
    csqa = [{"id": "c1", "question": "Where is ice?", "question_concept": "ice",
             "choices": {"label": list("ABCDE"), "text": ["fridge", "oven", "sun", "desk", "bed"]}, "answerKey": "A"}]
    write_repo(root, "tau/commonsense_qa", {None: {s: (csqa_f, csqa) for s in ("train", "validation")}})
    cosmos_f = Features({"id": S, "context": S, "question": S, **{f"answer{k}": S for k in range(4)}, "label": I})
    cosmos = [{"id": "k1", "context": "It rained.", "question": "Why wet?", "answer0": "rain", "answer1": "sun",
               "answer2": "wind", "answer3": "none", "label": 0}]
    write_script_repo(root, "allenai/cosmos_qa", {None: {s: (cosmos_f, cosmos) for s in ("train", "validation")}})
    hs_f = Features({"ind": I, "activity_label": S, "ctx_a": S, "ctx_b": S, "ctx": S, "endings": List(S),
                     "source_id": S, "split": S, "split_type": S, "label": S})
    hs = [{"ind": 4, "activity_label": "Cooking", "ctx_a": "A man", "ctx_b": "cooks", "ctx": "A man cooks",
           "endings": ["eggs.", "a car.", "the sky.", "loudly."], "source_id": "s", "split": "train",
           "split_type": "indomain", "label": "0"}]
    write_repo(root, "Rowan/hellaswag", {None: {s: (hs_f, hs) for s in ("train", "validation")}})
    sq = [squad_row("s1", "Paris is in France.", "Where is Paris?", "France")]
    write_repo(root, "rajpurkar/squad", {"plain_text": {s: (SQUAD, sq) for s in ("train", "validation")}})
    sq2 = sq + [{"id": "s2", "title": "t", "context": "Paris is in France.", "question": "Who?",
                 "answers": {"text": [], "answer_start": []}}]
    write_repo(root, "rajpurkar/squad_v2", {"squad_v2": {s: (SQUAD, sq2) for s in ("train", "validation")}})
    sg_copa_f = Features({"premise": S, "choice1": S, "choice2": S, "question": S, "idx": I,
                          "label": ClassLabel(names=["choice1", "choice2"])})
    write_repo(root, "aps/super_glue", {"copa": {s: (sg_copa_f, [{k: v for k, v in copa[0].items() if k != "changed"}])
                                                 for s in ("train", "validation")}})
    siqa_f = Features({"context": S, "question": S, "answerA": S, "answerB": S, "answerC": S, "label": S})
    siqa = [{"context": "Tracy gave a gift.", "question": "Why?", "answerA": "kind", "answerB": "mean",
             "answerC": "tired", "label": "1"}]
    write_script_repo(root, "allenai/social_i_qa", {None: {s: (siqa_f, siqa) for s in ("train", "validation")}})
    wiki_f = Features({"id": S, "url": S, "title": S, "text": S})
    wiki = [{"id": str(i), "url": f"https://de.wikipedia.org/wiki?curid={i}", "title": f"T{i}",
             "text": f"Artikel {i}. Der Hund schläft." if i != 2 else ""} for i in range(5)]
    write_repo(root, "wikimedia/wikipedia", {"20231101.de": {"train": (wiki_f, wiki)}})
    return root
