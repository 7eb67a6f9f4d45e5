"""Toy languages: a lexicon and typological parameters that render frames to tagged words.

English uses English words. Each synthetic language draws its word forms from its own syllable
inventory (vocabularies are disjoint), and sets clause order (SVO/SOV/VSO), adjective position,
prepositions vs postpositions, negation position, case/adposition suffixes and script. The default
world varies distance from English (near/mid/far) and resource level (high/low) independently:
``nh``/``nl`` share one typology, ``mh``/``ml`` another, ``fh``/``fl`` a third.

>>> from xltlib.toy.semantics import Frame, Person, NP, Place
>>> f = Frame(Person(("Ana",)), "eat", NP("bread", ("fresh",)), Place(noun="house"), "today")
>>> " ".join(t.form for t in LANGUAGES["en"].render(f))
'Ana eat the fresh bread in the house today .'
>>> [t.upos for t in LANGUAGES["en"].render(f)][:4]
['PROPN', 'VERB', 'DET', 'ADJ']
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from functools import cached_property, lru_cache

from xltlib.errors import ConfigError
from xltlib.toy import semantics as W

# every meaning a language must name; SYNONYMS get two forms (paraphrase analogs)
ENGLISH_SYNONYMS = {"buy": ("buy", "purchase"), "see": ("see", "watch"), "big": ("big", "large"),
                    "small": ("small", "little"), "house": ("house", "home"), "find": ("find", "discover"),
                    "good": ("good", "fine"), "bad": ("bad", "poor")}
SYNONYMS = tuple(ENGLISH_SYNONYMS)
FUNCTION_WORDS = ("the", "a", "not", "in", "is", "who", "what", "where", "when", "because", "then", "and")
MEANINGS = tuple(dict.fromkeys(
    [n for ns in W.CLASSES.values() for n in ns] + list(W.HYPERNYMS) + list(W.VERBS) + ["lose"]
    + list(W.ADJECTIVES) + list(W.SENTIMENT) + list(W.PLACES) + list(W.TIMES) + list(FUNCTION_WORDS)
))
# loanwords: the English form, in the language's script (as "taxi" or "radio" travel). The only shared
# words besides names; without them the tiny model aligned structure but hardly any word meanings.
LOANWORDS = ("car", "bike", "lamp", "soup", "cake", "ball", "school", "market", "rice")
ENGLISH_FORMS = frozenset(MEANINGS) | {w for forms in ENGLISH_SYNONYMS.values() for w in forms}
_SCRIPTS = {"latin": None, "cyrillic": 0x0430, "greek": 0x03B1}  # lowercase a-z -> a disjoint block


@dataclass(frozen=True)
class Token:
    form: str
    upos: str
    ner: str = "O"
    role: str = "x"  # subj / verb / obj / loc / time / neg / q / punct: for the CCG-like supertags


@dataclass(frozen=True)
class ToyLanguage:
    code: str
    name: str
    order: str = "SVO"  # clause order of subject, verb, object
    adj_after: bool = False  # adjectives after the noun
    postpositions: bool = False
    neg_after: bool = False  # negation after the verb
    suffixes: bool = False  # object case suffix; adpositions as place-noun suffixes
    script: str = "latin"
    resource: float = 1.0  # share of the pretraining corpus, relative to English
    consonants: str = "ptkmnslr"
    vowels: str = "aiu"
    seed: int = 0

    @property
    def distance(self) -> int:
        """Typological distance from English: the number of parameters that differ (order counts 2)."""
        return (2 * (self.order != "SVO") + self.adj_after + self.postpositions + self.neg_after + self.suffixes
                + (self.script != "latin"))

    # ----------------------------------------------------------------------------------- lexicon
    @cached_property
    def lexicon(self) -> dict[str, tuple[str, ...]]:
        if self.code == "en":
            return {m: ENGLISH_SYNONYMS.get(m, (m,)) for m in MEANINGS}
        rng = random.Random(int(hashlib.sha256(f"lexicon:{self.code}:{self.seed}".encode()).hexdigest(), 16))
        used = set(ENGLISH_FORMS)  # no word of English's either (a word means one thing in a script)
        lex = {}
        for meaning in MEANINGS:
            n = 2 if meaning in SYNONYMS else 1
            short = meaning in FUNCTION_WORDS
            lex[meaning] = tuple(self._new_word(rng, used, short) for _ in range(n))
        lex.update({m: (self.write(m),) for m in LOANWORDS})
        return lex

    @cached_property
    def _meanings(self) -> dict[str, str]:
        return {form: meaning for meaning, forms in self.lexicon.items() for form in forms}

    def meaning_of(self, form: str) -> str | None:
        """The meaning a word form of this language names (None: not a lexicon word, e.g. a name)."""
        return self._meanings.get(form)

    def _new_word(self, rng, used, short) -> str:
        for attempt in range(10_000):
            syllables = 1 if short and attempt < 50 else rng.choice((2, 2, 3))
            word = "".join(rng.choice(self.consonants) + rng.choice(self.vowels) for _ in range(syllables))
            if word not in used:
                used.add(word)
                return self.write(word)
        raise RuntimeError(f"toy language {self.code}: syllable inventory too small for its lexicon")

    def adapt_name(self, name: str) -> str:
        """A name as this language adapts it: its own vowels and a final vowel ("Boris" -> "Burisu"), in its
        script. Names stay recognizable across languages but are not the same string (as London/Londres)."""
        if self.code == "en":
            return name
        vowels = "aeiou"
        adapted = "".join(self.vowels[vowels.index(c.lower()) % len(self.vowels)] if c.lower() in vowels else c
                          for c in name)
        adapted = adapted[0].upper() + adapted[1:]
        if adapted[-1].lower() not in vowels:
            adapted += self.vowels[-1]
        return self.write(adapted)

    def write(self, text: str) -> str:
        """Text in this language's script."""
        offset = _SCRIPTS[self.script]
        if offset is None:
            return text
        return "".join(chr(offset + ord(c.lower()) - 97) if "a" <= c.lower() <= "z" else c for c in text)

    def word(self, meaning: str, variant: int = 0) -> str:
        forms = self.lexicon[meaning]
        return forms[variant % len(forms)]

    @property
    def case_suffix(self) -> str:
        return self.write("ko") if self.suffixes else ""

    # ----------------------------------------------------------------------------------- rendering
    def np(self, np: "W.NP | W.Person | W.Org", role: str, variant: int = 0, case: bool = False) -> list[Token]:
        if isinstance(np, W.Person):
            return [Token(self.adapt_name(n), "PROPN", ("B-PER" if i == 0 else "I-PER"), role) for i, n in enumerate(np.names)]
        if isinstance(np, W.Org):
            return [Token(self.adapt_name(n), "PROPN", ("B-ORG" if i == 0 else "I-ORG"), role) for i, n in enumerate(np.names)]
        noun = self.word(np.noun, variant) + (self.case_suffix if case else "")
        det = [Token(self.word("the" if np.definite else "a"), "DET", role=role)]
        adjs = [Token(self.word(a, variant), "ADJ", role=role) for a in np.adjs]
        noun_t = [Token(noun, "NOUN", role=role)]
        return det + (noun_t + adjs if self.adj_after else adjs + noun_t)

    def place(self, place: "W.Place", variant: int = 0) -> list[Token]:
        adp = self.word("in")
        if place.city:
            core = [Token(self.adapt_name(place.city), "PROPN", "B-LOC", "loc")]
        else:
            core = self.np(W.NP(place.noun), "loc", variant)
        if self.suffixes:  # the adposition is a suffix of the last word
            last = core[-1]
            return core[:-1] + [Token(last.form + adp, last.upos, last.ner, "loc")]
        adp_t = [Token(adp, "ADP", role="loc")]
        return core + adp_t if self.postpositions else adp_t + core

    def verb_group(self, verb: str, neg: bool, variant: int = 0) -> list[Token]:
        v = [Token(self.word(verb, variant), "AUX" if verb == "is" else "VERB", role="verb")]
        if not neg:
            return v
        n = [Token(self.word("not"), "PART", role="neg")]
        return v + n if self.neg_after else n + v

    def clause(self, s: list[Token], v: list[Token], o: list[Token], adjuncts: list[Token]) -> list[Token]:
        if self.order == "SOV":
            return s + adjuncts + o + v
        if self.order == "VSO":
            return v + s + o + adjuncts
        return s + v + o + adjuncts

    def render(self, f: "W.Frame", variant: int = 0, front_time: bool = False, ask: str | None = None) -> list[Token]:
        """Tagged words of frame ``f``; ``ask`` replaces one constituent (agent/obj/place/time) by a
        wh-word, in situ, and ends with "?" (questions keep the language's own word order)."""
        wh = {"agent": "who", "obj": "what", "place": "where", "time": "when"}

        def q(role):
            return [Token(self.word(wh[ask]), "PRON", role="q")]

        s = q("subj") if ask == "agent" else self.np(f.agent, "subj", variant)
        v = self.verb_group(f.verb, f.neg, variant)
        o = [] if f.obj is None else (q("obj") if ask == "obj" else self.np(f.obj, "obj", variant, case=True))
        place = [] if f.place is None and ask != "place" else (
            q("loc") if ask == "place" else self.place(f.place, variant))
        time = [] if f.time is None and ask != "time" else (
            q("time") if ask == "time" else [Token(self.word(f.time), "ADV", role="time")])
        if front_time and time:
            tokens = time + self.clause(s, v, o, place)
        else:
            tokens = self.clause(s, v, o, place + time)
        return tokens + [Token("?" if ask else ".", "PUNCT", role="punct")]

    def render_sentiment(self, np: "W.NP", adj: str, neg: bool, variant: int = 0) -> list[Token]:
        """"the soup is (not) wonderful": a copula clause with an evaluative adjective."""
        subj = self.np(np, "subj", variant)
        cop = self.verb_group("is", neg, variant)
        pred = [Token(self.word(adj, variant), "ADJ", role="obj")]
        body = subj + pred + cop if self.order == "SOV" else (cop + subj + pred if self.order == "VSO" else subj + cop + pred)
        return body + [Token(".", "PUNCT", role="punct")]


def _lang(code, name, typology, resource, cons, vows, seed):
    return ToyLanguage(code, name, resource=resource, consonants=cons, vowels=vows, seed=seed, **typology)


NEAR = {}
MID = {"adj_after": True, "postpositions": True}
FAR = {"order": "SOV", "adj_after": True, "postpositions": True, "neg_after": True, "suffixes": True,
       "script": "cyrillic"}
HIGH, LOW = 0.5, 0.12  # corpus shares of a high- and a low-resource language, relative to English

# the default world: English + a 3 (distance) x 2 (resource) grid of synthetic languages. Syllable
# inventories are chosen so that any two languages differ in their consonants or their vowels: their
# CV-syllable vocabularies cannot overlap.
LANGUAGES: dict[str, ToyLanguage] = {
    lang.code: lang for lang in (
        ToyLanguage("en", "English"),
        _lang("nh", "Nera (near, high)", NEAR, HIGH, "ptkm", "aiu", 1),
        _lang("nl", "Nolu (near, low)", NEAR, LOW, "bdgn", "aiu", 2),
        _lang("mh", "Mirak (mid, high)", MID, HIGH, "ptkm", "eo", 3),
        _lang("ml", "Malo (mid, low)", MID, LOW, "bdgn", "eo", 4),
        _lang("fh", "Fasu (far, high)", FAR, HIGH, "szlr", "aiu", 5),
        _lang("fl", "Folo (far, low)", FAR, LOW, "szlr", "eo", 6),
    )
}

# ------------------------------------------------------------------------------- more languages
# A world with more than three languages per resource level (RQ1 adds up to twelve high-resource ones)
# places the extra ones along a typological continuum from English: each level changes one more
# parameter (distance 1, 3, 4, 6 between the default's near 0, mid 2 and far 7), then the levels
# come round again, so that distance and resource still vary independently.
CONTINUUM = (
    ("a", "adjectives after the noun", {"adj_after": True}),
    ("e", "negation after the verb", dict(MID, neg_after=True)),
    ("s", "suffixing", dict(MID, neg_after=True, suffixes=True)),
    ("v", "verb-final", dict(MID, neg_after=True, suffixes=True, order="SOV")),
    ("n", "near", NEAR),
    ("m", "mid", MID),
    ("f", "far", dict(FAR, script="greek")),
)
# syllable inventories of the extra languages: within a script, no two languages (the default's
# included) share a consonant and a vowel, so no CV syllable and no word
_INVENTORIES = {
    "latin": [(c, v) for c in ("szl", "rfv", "hwj", "cxy") for v in ("aiu", "eo")],
    "greek": [(c, v) for c in ("ptkm", "bdgn", "szlr", "fvhw") for v in ("aiu", "eo")],
}


@lru_cache(maxsize=None)
def world_languages(high: int = 3, low: int = 3) -> dict[str, ToyLanguage]:
    """English and ``high`` high- and ``low`` low-resource synthetic languages: the default world's
    (``LANGUAGES``; near, mid, far for each level) first, then extra ones along ``CONTINUUM``. A smaller
    world's languages are the same languages as a larger one's, so runs on them compare.

    >>> list(world_languages(4, 2))
    ['en', 'nh', 'nl', 'mh', 'ml', 'fh', 'ah']
    >>> [lang.distance for lang in world_languages(8, 0).values()]
    [0, 0, 2, 7, 1, 3, 4, 6, 0]
    """
    for name, n in (("high_languages", high), ("low_languages", low)):
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ConfigError(f"world.{name}: expected a whole number >= 0, got {n!r}")
    high_codes, low_codes = ([c for c in LANGUAGES if c.endswith(level)] for level in "hl")
    kept = {"en", *high_codes[:high], *low_codes[:low]}
    out = {c: lang for c, lang in LANGUAGES.items() if c in kept}
    # the i-th extra language of a level takes the i-th free syllable inventory of its script from the
    # front (high) or the back (low), so that a language is the same in every world that has it
    taken = {(level, script): 0 for level in (0, 1) for script in _INVENTORIES}
    for i in range(max(high, low) - 3):
        for level, (count, share) in enumerate(((high, HIGH), (low, LOW))):
            if i + 3 >= count:
                continue
            letter, what, typology = CONTINUUM[i % len(CONTINUUM)]
            script = typology.get("script", "latin")
            k = taken[level, script]
            if k + taken[1 - level, script] >= len(_INVENTORIES[script]):
                raise ConfigError(f"world: {high} high- and {low} low-resource languages need more {script}-script "
                                  f"syllable inventories than the toy world has (12 high with 3 low fit)")
            taken[level, script] += 1
            cons, vows = _INVENTORIES[script][k if level == 0 else -1 - k]
            nth = 1 + sum(c.startswith(letter + "hl"[level]) for c in out)
            code = f"{letter}{'hl'[level]}{nth if nth > 1 else ''}"
            name = f"{what}, {('high', 'low')[level]} resource" + (f" #{nth}" if nth > 1 else "")
            out[code] = _lang(code, name, typology, share, cons, vows, 7 + 2 * i + level)
    return out
