"""The toy world: deterministic, in the loaders' schemas, parallel across languages, typologically real."""
from __future__ import annotations

import itertools

import pytest

from xltlib.data import load_examples
from xltlib.errors import ConfigError
from xltlib.registry.examples import EXAMPLE_TYPES, SpanQAExample
from xltlib.toy import semantics as W
from xltlib.toy.world import ToyWorld, analog, generate, toy_spec, toy_tasks
from xltlib.toy.language import LANGUAGES

SMOKE = ToyWorld.smoke()


def test_same_seed_same_data_other_seed_other_data():
    assert generate("xnli", "nh", "test", SMOKE) == generate("xnli", "nh", "test", SMOKE)
    other = ToyWorld(seed=1, train=96, dev=32, test=32, retrieval_pairs=32)
    assert generate("xnli", "nh", "test", SMOKE) != generate("xnli", "nh", "test", other)


@pytest.mark.parametrize("task", toy_tasks())
def test_every_toy_task_loads_cleanly_in_its_format(task):
    spec = toy_spec(task)
    splits = ["dev", "test"] + ([] if analog(task).generator == "bitext" else ["train"])
    for split in splits:
        for lang in ("en",) if split == "train" else spec.languages:
            data = load_examples(task, lang, split, source=SMOKE, on_error="raise")  # raises on any bad row
            assert len(data) > 0 and not data.skipped and data.repaired == 0
            fmt = (toy_spec(spec.train_task) if split == "train" and spec.train_task else spec).format
            assert all(type(e) is EXAMPLE_TYPES[fmt] for e in data)
            assert len({e.id for e in data}) == len(data)


def test_labels_are_balanced_enough_to_have_a_majority_baseline():
    from collections import Counter

    for task in ("xnli", "pawsx", "qqp", "sst2", "mnli", "anli_plus"):
        counts = Counter(e.label for e in generate(task, "en", "train", ToyWorld(train=600)))
        assert max(counts.values()) / sum(counts.values()) < 0.6, (task, counts)


def test_test_sets_are_parallel_across_languages():
    en = generate("xquad", "en", "test", SMOKE)
    nh = generate("xquad", "nh", "test", SMOKE)
    assert [e.id for e in en] == [e.id for e in nh]
    # the same people appear in both versions of each story, in the language's form of their names
    lang = LANGUAGES["nh"]
    names = lambda e: sorted(w for w in e.context.split() if w[:1].isupper())
    assert all(sorted(lang.adapt_name(n) for n in names(a)) == names(b) for a, b in zip(en, nh))
    tags_en = [e.tags for e in generate("udpos", "en", "test", SMOKE)]
    tags_nh = [e.tags for e in generate("udpos", "nh", "test", SMOKE)]
    assert tags_en == tags_nh  # "near" languages only change the words


def test_word_order_differs_as_the_typology_says():
    from xltlib.toy.semantics import NP, Frame, Person

    f = Frame(Person(("Ana",)), "eat", NP("bread", ("fresh",)))
    roles = lambda lang: [t.role for t in LANGUAGES[lang].render(f) if t.role != "punct"]
    assert roles("en") == ["subj", "verb", "obj", "obj", "obj"]
    assert roles("fh") == ["subj", "obj", "obj", "obj", "verb"]  # SOV
    upos = lambda lang: [t.upos for t in LANGUAGES[lang].render(f)]
    assert upos("mh")[2:5] == ["DET", "NOUN", "ADJ"]  # adjective after the noun


def test_vocabularies_are_disjoint_but_for_loanwords_and_distance_independent_of_resource():
    from xltlib.toy.language import LOANWORDS

    vocab = {c: {w for m, forms in l.lexicon.items() if m not in LOANWORDS for w in forms} for c, l in LANGUAGES.items()}
    for a, b in itertools.combinations(vocab, 2):
        assert not vocab[a] & vocab[b], (a, b)
    assert LANGUAGES["nh"].word("car") == "car" and LANGUAGES["fh"].word("car") != "car"  # other script
    by_distance = {}
    for lang in LANGUAGES.values():
        if lang.code != "en":
            by_distance.setdefault(lang.distance, set()).add(lang.resource)
    assert len(by_distance) == 3 and all(len(r) == 2 for r in by_distance.values())  # 3 x 2 grid


def test_a_world_with_more_languages_extends_the_default_along_the_continuum():
    from xltlib.toy.language import LOANWORDS, world_languages

    assert world_languages(3, 3) == LANGUAGES and list(world_languages(3, 3)) == list(LANGUAGES)
    wide = world_languages(12, 3)
    assert sum(l.resource == 0.5 for l in wide.values()) == 12 and sum(l.resource == 0.12 for l in wide.values()) == 3
    assert {c: l for c, l in wide.items() if c in world_languages(5, 2)} == world_languages(5, 2)  # the same languages
    assert {l.distance for l in wide.values()} == {0, 1, 2, 3, 4, 6, 7}  # every level of the continuum
    by_script = {}
    for code, lang in wide.items():
        words = {w for m, forms in lang.lexicon.items() if m not in LOANWORDS for w in forms}
        for other, theirs in by_script.get(lang.script, {}).items():
            assert not words & theirs, (code, other)
        by_script.setdefault(lang.script, {})[code] = words
    with pytest.raises(ConfigError, match="world: 13 high- and 3 low-resource languages need more"):
        world_languages(13, 3)


def test_qa_answers_are_the_asked_constituent():
    for e in generate("xquad", "fh", "test", SMOKE) + generate("squad_v2", "en", "train", SMOKE):
        assert isinstance(e, SpanQAExample)
        for text, start in zip(e.answers, e.answer_starts):
            assert e.context[start:start + len(text)] == text
    assert any(not e.answers for e in generate("squad_v2", "en", "train", SMOKE))  # unanswerables exist


def test_intermediate_tasks_render_in_any_language():
    data = load_examples("mnli", "fl", "train", source=SMOKE)  # "synthetic multilingual" MNLI
    assert data[0].lang == "fl" and len(data) == SMOKE.train


def test_pawsx_negatives_swap_two_entities_and_positives_keep_their_roles():
    en = LANGUAGES["en"]
    names = {en.adapt_name(n) for n in W.FIRST_NAMES + W.ORG_HEADS}
    for e in generate("pawsx", "en", "test", SMOKE):
        order = lambda text: [w for w in text.split() if w in names]
        a, b = order(e.text_a), order(e.text_b)
        assert sorted(a) == sorted(b) and len(a) >= 2  # the same entities on both sides
        assert (a == b) == (e.label == "1"), e  # a swap is what makes a pair a non-paraphrase


def test_xcopa_alternatives_differ_in_whether_their_verb_takes_the_premises_object():
    en = LANGUAGES["en"]
    verb_of = {form: v for v in W.VERBS for form in en.lexicon[v]}
    noun_class = {form: W.noun_class(n) for c in W.CLASSES.values() for n in c for form in en.lexicon[n]}
    examples = generate("xcopa", "en", "test", ToyWorld())
    right_verbs = set()
    for e in examples:
        words = e.context.split()
        cls = next(noun_class[w] for w in reversed(words) if w in noun_class)  # the premise's object
        right, wrong = (e.choices[e.label].split()[-2], e.choices[1 - e.label].split()[-2])  # "Ana eat ."
        assert cls in W.VERBS[verb_of[right]] and cls not in W.VERBS[verb_of[wrong]], e
        right_verbs.add(verb_of[right])
    # a verb that takes every object is never right: the verb alone must not give the answer away
    assert right_verbs and not {v for v in right_verbs if len(W.VERBS[v]) == len(W.CLASSES)}
    assert {e.label for e in examples} == {0, 1}


def test_pretraining_corpus_borrows_english_words_and_uses_the_copa_connectives():
    import random

    from xltlib.toy.pretrain import code_switch, corpus
    from xltlib.toy.semantics import Frame, NP, Person

    mh = LANGUAGES["mh"]
    tokens = mh.render(Frame(Person(("Ana",)), "eat", NP("bread", ("fresh",))))
    assert code_switch(tokens, mh, random.Random(0), rate=0.0) == tokens
    switched = [t.form for t in code_switch(tokens, mh, random.Random(0), rate=1.0)]
    assert switched == [mh.adapt_name("Ana"), "eat", "the", "bread", "fresh", "."]  # words, not names; mh order
    assert code_switch(LANGUAGES["en"].render(Frame(Person(("Ana",)), "eat", None)), LANGUAGES["en"],
                       random.Random(0), rate=1.0)[1].form == "eat"
    stream = corpus(random.Random(0))
    words = {w for _ in range(3000) for w in next(stream).split()}
    for lang in LANGUAGES.values():  # COPA asks with "then"/"because": every language must have seen them
        assert {lang.word("then"), lang.word("because")} <= words, lang.code


def test_bilingual_pages_pair_each_sentence_with_its_english_translation():
    import random

    from xltlib.toy.pretrain import corpus, sentence

    en, mh = LANGUAGES["en"], LANGUAGES["mh"]  # (no suffixes: every word form is in the lexicon)
    for seed in range(200):  # the same draws say the same thing in any language
        a, b = sentence(random.Random(seed), mh), sentence(random.Random(seed), en)
        assert sorted(filter(None, map(mh.meaning_of, (t.form for t in a)))) == \
            sorted(filter(None, map(en.meaning_of, (t.form for t in b)))), seed
    english = {w for forms in en.lexicon.values() for w in forms}
    foreign = {w for lang in LANGUAGES.values() if lang is not en for forms in lang.lexicon.values() for w in forms}

    def english_shares(bilingual):  # share of English words in each non-English document
        stream = corpus(random.Random(0), bilingual=bilingual)
        docs = [next(stream).split() for _ in range(300)]
        return [sum(w in english for w in d) / len(d) for d in docs if set(d) & (foreign - english)]

    mono, pages = english_shares(0.0), english_shares(1.0)
    assert len(mono) > 100 and len(pages) > 100
    assert sum(mono) / len(mono) < 0.15  # borrowed words only (CODE_SWITCH)
    assert all(0.25 < s < 0.75 for s in pages)  # every sentence beside its translation


def test_pretraining_batches_hold_whole_documents_grouped_by_length():
    import random

    from xltlib.toy.pretrain import length_batches

    class Tok:  # one id per character, framed by <s> = 0 and </s> = 2
        bos_token_id, eos_token_id, pad_token_id = 0, 2, 1

        def __call__(self, docs, truncation, max_length):
            return {"input_ids": [([0] + [ord(c) for c in d] + [2])[:max_length] for d in docs]}

    docs = ["x" * random.Random(i).randint(1, 30) for i in range(10_000)]
    batches = length_batches(Tok(), iter(docs), max_tokens=64, max_len=16, rng=random.Random(0), pool=16)
    rows, real, total = [], 0, 0
    while len(rows) < 64:  # one pool: 16 * 64 // 16 = 64 documents
        ids, mask = next(batches)
        assert ids.numel() <= 64 and (ids[:, 0] == 0).all()  # each row one document, from the first position
        assert (ids[mask == 0] == 1).all()
        rows += [r[m.bool()].tolist() for r, m in zip(ids, mask)]
        real, total = real + int(mask.sum()), total + ids.numel()
    expected = [([0] + [ord("x")] * len(d) + [2])[:16] for d in docs[:64]]  # every document, none lost
    assert sorted(rows) == sorted(expected) and real >= 0.9 * total  # little padding
