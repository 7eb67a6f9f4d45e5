"""Loaders: every Hub-backed task through the real ``datasets`` path, the local layouts, the offline error
and the malformed-row policy."""
from __future__ import annotations

import json
import warnings

import pytest
from datasets import ClassLabel, Features, List, Value

from hubfixture import NER, build_mirror, squad_row, write_repo
from xltlib.data import MalformedRowWarning, load_examples
from xltlib.errors import DataUnavailableError, MalformedDataError, SchemaError
from xltlib.registry.examples import (
    ClassificationExample,
    MultipleChoiceExample,
    RetrievalExample,
    SpanQAExample,
    TaggingExample,
)
from xltlib.registry.tasks import list_tasks


@pytest.fixture(scope="session")
def mirror(tmp_path_factory):
    return build_mirror(tmp_path_factory.mktemp("hub"))


@pytest.fixture
def hub(mirror, monkeypatch):
    monkeypatch.setenv("XLT_HUB_MIRROR", str(mirror))
    return mirror


# (task, lang, split, benchmark) -> expected number of examples and a check on the first one
CASES = [
    ("xnli", "de", "test", None, 3, lambda e: e == ClassificationExample("de-3", "de premise 0", "de hypothesis 0", "entailment", "de")),
    ("xnli", "en", "train", None, 4, lambda e: e.label == "entailment" and e.text_a == "p0"),  # MNLI
    ("mnli", "de", "train", None, 1, lambda e: e.lang == "de" and e.label == "entailment"),  # translated MNLI
    ("pawsx", "de", "dev", None, 2, lambda e: e.label == "0" and e.text_b == "b a"),
    ("udpos", "en", "train", None, 2, lambda e: e.tags == ("PRON", "VERB", "PUNCT")),
    ("udpos", "yo", "test", None, 2, lambda e: isinstance(e, TaggingExample)),
    ("panx", "de", "test", None, 2, lambda e: e.tags == ("B-PER", "I-PER", "O")),
    ("panx", "ro", "test", "xtreme-r", 1, lambda e: e.tokens == ("Ion", "Popescu")),  # WikiANN for XTREME-R
    ("xquad", "de", "test", None, 2, lambda e: e.answers == ("Die Katze",) and e.answer_starts == (0,)),
    ("xquad", "en", "train", None, 1, lambda e: e.answers == ("France",)),  # SQuAD v1.1
    ("mlqa", "de", "dev", None, 1, lambda e: isinstance(e, SpanQAExample) and e.lang == "de"),
    ("tydiqa", "sw", "test", None, 2, lambda e: e.id.startswith("swahili-")),
    ("tydiqa", "en", "train", None, 2, lambda e: e.id.startswith("english-")),
    ("bucc2018", "de", "dev", None, 6, lambda e: e == RetrievalExample("q0", "de sentence 0", "query", ("c0",), "de")),
    ("tatoeba", "de", "test", None, 8, lambda e: e.role == "query"),
    ("xcopa", "et", "test", None, 1, lambda e: e.question == "What was the cause?" and e.label == 0),
    ("xcopa", "en", "train", None, 1, lambda e: e.choices == ("He slipped.", "He sang.")),  # COPA
    ("anli_plus", "en", "train", None, 1 + 4 + 3, lambda e: e.text_a == "A dog runs."),
    ("anli_plus", "en", "dev", None, 3, lambda e: e.label == "contradiction"),
    ("commonsenseqa", "en", "train", None, 1, lambda e: e.label == 0 and len(e.choices) == 5),
    ("cosmosqa", "en", "dev", None, 1, lambda e: e.context == "It rained." and e.label == 0),
    ("hellaswag", "en", "train", None, 1, lambda e: e.choices[0] == "eggs." and e.label == 0),
    ("qqp", "en", "train", None, 1, lambda e: e.label == "not_duplicate" and e.text_b == "Why?"),
    ("sst2", "en", "dev", None, 1, lambda e: e.label == "positive" and e.text_b is None),
    ("squad_v1", "en", "dev", None, 1, lambda e: e.answer_starts == (12,)),
    ("squad_v2", "en", "train", None, 2, lambda e: True),
    ("siqa", "en", "train", None, 1, lambda e: isinstance(e, MultipleChoiceExample) and e.label == 0),
    ("mlm", "de", "train", None, 4, lambda e: e.text.startswith("Artikel 0") and e.lang == "de"),  # streamed
]


@pytest.mark.parametrize("task,lang,split,benchmark,n,check", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_hub_loader_reads_hub_schema(hub, task, lang, split, benchmark, n, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MalformedRowWarning)  # SNLI's unlabeled row is tested below
        data = load_examples(task, lang, split, benchmark=benchmark)
    assert len(data) == n, data.examples
    assert check(data[0]), data[0]
    assert len({e.id for e in data}) == n, "ids must be unique"


def test_every_hub_backed_task_is_covered():
    covered = {c[0] for c in CASES}
    hub_tasks = {t.name for t in list_tasks() if t.hub}
    assert hub_tasks <= covered | {"mnli", "copa"}, hub_tasks - covered


def test_squad_v2_keeps_unanswerable_questions(hub):
    data = load_examples("squad_v2", "en", "train")
    assert data[1].answers == () and data.skipped == {}


def test_snli_unlabeled_rows_are_counted_and_warned(hub):
    with pytest.warns(MalformedRowWarning, match=r"stanfordnlp/snli \[plain_text\] train: skipped 1 .*label_not_in_label_set"):
        data = load_examples("anli_plus", "en", "train")
    assert data.skipped["label_not_in_label_set"] == 1


def test_offline_error_names_dataset_and_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("XLT_HUB_MIRROR", raising=False)
    with pytest.raises(DataUnavailableError) as err:
        load_examples("panx", "sw", "test")
    msg = str(err.value)
    assert "google/xtreme, config PAN-X.sw, split test" in msg
    assert "HF_HUB_OFFLINE" in msg and "XLT_HUB_MIRROR" in msg and "panx/sw/" in msg
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no chained library traceback


def test_missing_config_in_mirror_is_a_clear_error(hub):
    with pytest.raises(DataUnavailableError, match="config PAN-X.sw"):
        load_examples("panx", "sw", "test")


def test_unknown_language_and_split_name_valid_choices():
    with pytest.raises(ValueError, match=r"language 'xx' has no test split; languages with one: en, ar"):
        load_examples("xnli", "xx", "test")
    with pytest.raises(ValueError, match=r"xquad has no dev split; its splits: train, test"):
        load_examples("xquad", "de", "dev")
    with pytest.raises(ValueError, match=r"language 'yo' has no dev split"):
        load_examples("udpos", "yo", "dev")


def test_tasks_without_hub_source_say_where_to_load_from():
    with pytest.raises(DataUnavailableError, match="CCGbank is licensed"):
        load_examples("ccg", "en", "train")


def test_schema_change_names_missing_column(tmp_path, monkeypatch):
    f = Features({"tokens": List(Value("string")), "tags": List(NER)})  # ner_tags renamed
    write_repo(tmp_path, "google/xtreme", {"PAN-X.de": {"test": (f, [{"tokens": ["a"], "tags": [0]}])}})
    monkeypatch.setenv("XLT_HUB_MIRROR", str(tmp_path))
    with pytest.raises(SchemaError, match=r"missing column\(s\) ner_tags .* the dataset has: tokens, tags"):
        load_examples("panx", "de", "test")


# ------------------------------------------------------------------ malformed rows
@pytest.fixture
def bad_mirror(tmp_path, monkeypatch):
    f = Features({"tokens": List(Value("string")), "ner_tags": List(NER), "langs": List(Value("string"))})
    panx = [{"tokens": ["Berlin"], "ner_tags": [5], "langs": ["de"]},
            {"tokens": ["a", "b"], "ner_tags": [0], "langs": ["de"]},  # length mismatch
            {"tokens": [], "ner_tags": [], "langs": []},  # empty
            {"tokens": ["c"], "ner_tags": [0], "langs": ["de"]}]
    qa = [squad_row("ok", "Der Hund schläft.", "Wer?", "Der Hund"),
          squad_row("moved", "Der Hund schläft.", "Was?", "schläft", start=0),  # wrong offset, text present
          squad_row("absent", "Der Hund schläft.", "Wie?", "Katze", start=0)]  # answer not in context
    xnli_f = Features({k: Value("string") for k in ("language", "sentence1", "sentence2", "gold_label")})
    xnli = [{"language": "de", "sentence1": "a", "sentence2": "b", "gold_label": "maybe"},
            {"language": "de", "sentence1": "", "sentence2": "b", "gold_label": "neutral"},
            {"language": "de", "sentence1": None, "sentence2": "b", "gold_label": "neutral"}]
    from hubfixture import SQUAD

    write_repo(tmp_path, "google/xtreme", {"PAN-X.de": {"test": (f, panx)}, "MLQA.de.de": {"test": (SQUAD, qa)},
                                           "XNLI": {"test": (xnli_f, xnli)}})
    monkeypatch.setenv("XLT_HUB_MIRROR", str(tmp_path))


def test_skip_policy_counts_and_warns(bad_mirror):
    with pytest.warns(MalformedRowWarning, match=r"skipped 2 malformed row\(s\) of panx de/test .*first: row 1: 2 tokens but 1 tags"):
        data = load_examples("panx", "de", "test")
    assert [e.tokens for e in data] == [("Berlin",), ("c",)]
    assert data.skipped == {"length_mismatch": 1, "empty_text": 1}


def test_raise_policy_names_row_and_field(bad_mirror):
    with pytest.raises(MalformedDataError, match=r"google/xtreme \[PAN-X.de\] test, row 1: length_mismatch: 2 tokens but 1 tags"):
        load_examples("panx", "de", "test", on_error="raise")


def test_qa_offsets_repaired_and_absent_answers_skipped(bad_mirror):
    with pytest.warns(MalformedRowWarning) as record:
        data = load_examples("mlqa", "de", "test")
    assert [e.id for e in data] == ["ok", "moved"]
    assert data[1].answer_starts == (9,) and data.repaired == 1
    assert data.skipped == {"answer_not_in_context": 1}
    assert any("moved 1 misaligned" in str(w.message) for w in record)


def test_a_split_with_no_usable_row_is_an_error_naming_source_and_reasons(bad_mirror):
    # it used to load as 0 examples with a warning, then die inside the tokenizer (IndexError)
    with pytest.raises(MalformedDataError, match=r"google/xtreme \[XNLI\] test: none of its 3 row\(s\) of xnli de/test is "
                                                  r"usable \(2 empty_text, 1 label_not_in_label_set\)"):
        load_examples("xnli", "de", "test")


def test_bad_policy_value():
    with pytest.raises(ValueError, match="on_error='ignore' is not one of skip, raise"):
        load_examples("xnli", "de", "test", on_error="ignore")


# ------------------------------------------------------------------ local directories
def test_local_jsonl_and_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = tmp_path / "udpos" / "sw"
    d.mkdir(parents=True)
    rows = [{"id": "1", "tokens": ["Habari"], "tags": ["INTJ"]}, {"id": "2", "tokens": ["x"], "tags": ["NOPE"]}]
    (d / "test.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n")
    with pytest.warns(MalformedRowWarning, match="label_not_in_label_set"):
        data = load_examples("udpos", "sw", "test", source=tmp_path)
    assert data[0] == TaggingExample("1", ("Habari",), ("INTJ",), "sw")
    assert data.skipped == {"label_not_in_label_set": 1, "unreadable_row": 1}
    with pytest.raises(MalformedDataError, match=r"test.jsonl, row 2: label_not_in_label_set: tags NOPE not in the tag set of udpos"):
        load_examples("udpos", "sw", "test", source=tmp_path, on_error="raise")

    pq.write_table(pa.Table.from_pylist([{"id": 7, "text_a": "a", "text_b": "b", "label": "neutral"}]),
                   tmp_path / "xnli_dev.parquet")
    (tmp_path / "xnli" / "de").mkdir(parents=True)
    (tmp_path / "xnli_dev.parquet").rename(tmp_path / "xnli" / "de" / "dev.parquet")
    assert load_examples("xnli", "de", "dev", source=tmp_path)[0] == ClassificationExample("7", "a", "b", "neutral", "de")


def test_local_record_with_wrong_fields_is_reported(tmp_path):
    (tmp_path / "xnli" / "de").mkdir(parents=True)
    (tmp_path / "xnli" / "de" / "test.jsonl").write_text(json.dumps({"id": 1, "premise": "a", "label": "neutral"}))
    with pytest.raises(MalformedDataError, match=r"missing fields \['text_a', 'text_b'\], unknown fields \['premise'\]"):
        load_examples("xnli", "de", "test", source=tmp_path, on_error="raise")


def test_local_ccg_in_jiant_format(tmp_path):
    (tmp_path / "ccg").mkdir()
    (tmp_path / "ccg" / "train.tsv").write_text("I sleep .\tNP S\\NP .\nbad line without tab\n")
    (tmp_path / "ccg" / "tags_to_id.json").write_text(json.dumps({"NP": 0, "S\\NP": 1, ".": 2}))
    with pytest.warns(MalformedRowWarning, match="unreadable_row"):
        data = load_examples("ccg", "en", "train", source=tmp_path)
    assert data[0].tokens == ("I", "sleep", ".") and data[0].tags == ("NP", "S\\NP", ".")


def test_local_bucc_layout_with_distractors(tmp_path):
    d = tmp_path / "bucc2018"
    d.mkdir()
    (d / "de-en.dev.de").write_text("de-1\tHallo Welt\nde-2\tNur hier\n")
    (d / "de-en.dev.en").write_text("en-1\tHello world\nen-9\tA distractor\n")
    (d / "de-en.dev.gold").write_text("de-1\ten-1\n")
    data = load_examples("bucc2018", "de", "dev", source=tmp_path)
    queries = {e.id: e.positives for e in data if e.role == "query"}
    assert queries == {"de-1": ("en-1",), "de-2": ()}
    assert sorted(e.id for e in data if e.role == "candidate") == ["en-1", "en-9"]


def test_local_tatoeba_layout(tmp_path):
    d = tmp_path / "tatoeba"
    d.mkdir()
    (d / "tatoeba.swh-eng.swh").write_text("Habari\nAsante\n")
    (d / "tatoeba.swh-eng.eng").write_text("Hello\nThanks\n")
    data = load_examples("tatoeba", "sw", "test", source=tmp_path)
    assert [(e.id, e.text) for e in data] == [("q1", "Habari"), ("c1", "Hello"), ("q2", "Asante"), ("c2", "Thanks")]


def test_missing_local_data_lists_paths(tmp_path):
    with pytest.raises(DataUnavailableError, match=r"no local data for task xnli de/test; looked for: .*xnli/de/test.jsonl"):
        load_examples("xnli", "de", "test", source=tmp_path)


def test_two_local_clones_of_one_repo_are_never_served_each_others_rows(tmp_path, monkeypatch):
    # datasets 5 caches a local repo by its name and config only: a second clone would get the first's rows
    f = Features({"sentence": Value("string"), "label": ClassLabel(names=["negative", "positive"]),
                  "idx": Value("int32")})
    seen = []
    for name, n in (("a", 2), ("b", 5)):
        write_repo(tmp_path / name, "nyu-mll/glue", {"sst2": {"train": (f, [
            {"sentence": f"{name} film", "label": 1, "idx": i} for i in range(n)])}})
        monkeypatch.setenv("XLT_HUB_MIRROR", str(tmp_path / name))
        data = load_examples("sst2", "en", "train")
        seen.append((len(data), data[0].text_a))
    assert seen == [(2, "a film"), (5, "b film")]


def test_every_schema_reads_back_what_it_writes():
    """A schema is one record (``xltlib.data.schemas.SCHEMAS``) whose reader and writer are inverses: rows
    written (typed as the Hub types them) read back into valid examples, which write the same rows again and
    read back the same (the fields a schema has no column for, e.g. HellaSwag's question, are not kept)."""
    from xltlib.data.schemas import SCHEMAS, RowContext
    from xltlib.engine.formats import format_of
    from xltlib.registry.tasks import get_benchmark, get_task

    def names(feature):
        inner = getattr(feature, "feature", feature)
        return inner.names if isinstance(inner, ClassLabel) else None

    seen = set()
    for spec in list_tasks() + [get_task(t, "xtreme-r") for t in get_benchmark("xtreme-r").tasks]:
        for sources in spec.hub.values():
            for src in sources:
                schema = SCHEMAS[src.schema]
                words = iter(range(10**6))
                text = lambda k: " ".join(f"w{next(words)}" for _ in range(k)) + " ."  # noqa: E731
                examples = [r for i in range(3) for r in format_of(spec).made_up(spec, "en", i, text)]
                features = schema.features(spec, src)
                ctx = RowContext(spec, "en", src.columns, {c: names(f) for c, f in features.items() if names(f)})

                def read(rows):
                    return [e for i, r in enumerate(rows) for e in schema.adapt(r, i, ctx)]

                rows = schema.write(examples, spec, src, "en")
                assert rows and all(set(r) == set(features) for r in rows), (spec.name, src.schema)
                back = read(rows)
                assert back and all(e.validate(spec) is None for e in back), (spec.name, src.schema)
                assert schema.write(back, spec, src, "en") == rows, (spec.name, src.schema)
                seen.add(src.schema)
    assert seen == set(SCHEMAS)
