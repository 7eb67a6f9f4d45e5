"""The toy world's meaning side: concepts, semantic frames, stories and event scripts.

Nothing here is language: a frame says who did what to which object, with which properties, where and
when. Languages (``xltlib.toy.language``) render frames to words; tasks (``xltlib.toy.tasks``) derive
their labels from the frames, so no label is annotated.

>>> import random
>>> f = sample_frame(random.Random(0))
>>> f.verb in VERBS and (f.obj is None or noun_class(f.obj.noun) in VERBS[f.verb])
True
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace

# ---------------------------------------------------------------------------------------- concepts
CLASSES = {
    "animal": ("dog", "cat", "horse", "bird", "cow", "goat"),
    "food": ("bread", "apple", "soup", "rice", "cake", "egg", "fish"),
    "thing": ("book", "cup", "ball", "box", "key", "knife", "lamp"),
    "vehicle": ("car", "boat", "bike", "cart"),
}
HYPERNYMS = {"animal": "animal", "food": "food", "thing": "thing", "vehicle": "vehicle"}  # class words
_NOUN_CLASS = {n: c for c, nouns in CLASSES.items() for n in nouns}

# verb -> object classes it takes (selectional restrictions)
VERBS = {
    "eat": {"food"}, "cook": {"food"}, "buy": {"food", "thing", "vehicle", "animal"},
    "sell": {"food", "thing", "vehicle", "animal"}, "see": {"animal", "food", "thing", "vehicle"},
    "carry": {"food", "thing"}, "drive": {"vehicle"}, "feed": {"animal"}, "wash": {"thing", "vehicle", "animal"},
    "find": {"animal", "thing", "food"}, "break": {"thing"}, "paint": {"thing", "vehicle"},
}
# antonym-like verb pairs: a hypothesis that swaps one for the other contradicts the premise
CONTRARY = {"buy": "sell", "sell": "buy", "find": "lose", "eat": "cook", "cook": "eat"}
ADJECTIVES = {  # adjective -> classes it applies to
    "red": {"thing", "vehicle"}, "blue": {"thing", "vehicle"}, "green": {"thing", "vehicle", "food"},
    "white": {"animal", "thing", "vehicle"}, "black": {"animal", "thing", "vehicle"},
    "big": {"animal", "thing", "vehicle", "food"}, "small": {"animal", "thing", "vehicle", "food"},
    "sweet": {"food"}, "fresh": {"food"}, "hot": {"food"}, "old": {"animal", "thing", "vehicle"},
    "young": {"animal"}, "new": {"thing", "vehicle"},
}
SENTIMENT = {"good": 1, "nice": 1, "wonderful": 1, "happy": 1, "bad": 0, "awful": 0, "terrible": 0, "sad": 0}
PLACES = ("house", "school", "market", "garden", "river", "farm")  # common-noun places
TIMES = ("today", "yesterday", "tomorrow", "morning", "evening")
# names are shared across languages (written in each language's script), as real named entities are
FIRST_NAMES = ("Ana", "Boris", "Chen", "Dara", "Emil", "Fatma", "Goran", "Hana", "Ivo", "Juno", "Kofi", "Lina",
               "Mira", "Nils", "Omar", "Pia", "Rui", "Sana", "Tomas", "Yara")
LAST_NAMES = ("Olsen", "Ito", "Baker", "Kaya", "Moreau", "Silva", "Novak", "Adeyemi")
CITIES = ("Lagos", "Oslo", "Lima", "Quito", "Hanoi", "Dakar", "Riga", "Porto", "Delhi", "Cairo", "Perth", "Kyoto")
ORG_HEADS = ("Blue", "Star", "North", "Royal", "Sun", "Iron")
ORG_TYPES = ("Bank", "Mill", "Club", "Group")
# event scripts: verb sequences over one object class (for HellaSwag / COPA analogs)
SCRIPTS = (
    ("buy", "carry", "cook", "eat"),  # food
    ("buy", "wash", "paint", "drive"),  # vehicle
    ("find", "wash", "feed", "sell"),  # animal
    ("buy", "carry", "break", "sell"),  # thing
)
SCRIPT_CLASS = ("food", "vehicle", "animal", "thing")
GENRES = {  # verb distributions: NLI "genres" and QA "domains"
    "home": ("eat", "cook", "wash", "break", "paint", "find"),
    "market": ("buy", "sell", "carry", "see"),
    "farm": ("feed", "see", "find", "carry", "drive", "wash"),
}


def noun_class(noun: str) -> str:
    return _NOUN_CLASS.get(noun) or noun  # class words are their own class


# ------------------------------------------------------------------------------------------ frames
@dataclass(frozen=True)
class Person:
    names: tuple[str, ...]  # first name, optionally a last name (multi-token PER)


@dataclass(frozen=True)
class Org:
    names: tuple[str, str]


@dataclass(frozen=True)
class NP:
    noun: str
    adjs: tuple[str, ...] = ()
    definite: bool = True


@dataclass(frozen=True)
class Place:
    noun: str | None = None  # a common place ("house") ...
    city: str | None = None  # ... or a city name (LOC)


@dataclass(frozen=True)
class Frame:
    agent: Person | Org | NP
    verb: str
    obj: NP | None
    place: Place | None = None
    time: str | None = None
    neg: bool = False

    def with_(self, **changes) -> "Frame":
        return replace(self, **changes)


def sample_person(rng: random.Random) -> Person:
    first = rng.choice(FIRST_NAMES)
    return Person((first, rng.choice(LAST_NAMES)) if rng.random() < 0.3 else (first,))


def sample_org(rng: random.Random) -> Org:
    return Org((rng.choice(ORG_HEADS), rng.choice(ORG_TYPES)))


def sample_np(rng: random.Random, classes, max_adjs: int = 2) -> NP:
    cls = rng.choice(sorted(classes))
    noun = rng.choice(CLASSES[cls])
    fitting = sorted(a for a, ok in ADJECTIVES.items() if cls in ok)
    n_adj = rng.choices(range(max_adjs + 1), weights=(5, 4, 1)[: max_adjs + 1])[0]
    return NP(noun, tuple(rng.sample(fitting, n_adj)), definite=rng.random() < 0.7)


def sample_place(rng: random.Random) -> Place:
    return Place(city=rng.choice(CITIES)) if rng.random() < 0.5 else Place(noun=rng.choice(PLACES))


def sample_frame(rng: random.Random, genre: str | None = None, p_place=0.5, p_time=0.4, p_neg=0.0) -> Frame:
    verbs = GENRES[genre] if genre else tuple(VERBS)
    verb = rng.choice(verbs)
    r = rng.random()
    if verb in ("buy", "sell") and r < 0.2:
        agent = sample_org(rng)
    elif verb in ("eat", "see", "find") and r < 0.2:
        agent = sample_np(rng, {"animal"}, max_adjs=1)
    else:
        agent = sample_person(rng)
    return Frame(
        agent=agent,
        verb=verb,
        obj=sample_np(rng, VERBS[verb]),
        place=sample_place(rng) if rng.random() < p_place else None,
        time=rng.choice(TIMES) if rng.random() < p_time else None,
        neg=rng.random() < p_neg,
    )


def sample_story(rng: random.Random, n: int, genre: str | None = None) -> list[Frame]:
    """``n`` frames with distinct agents, so that who-questions have one answer."""
    frames, agents = [], set()
    while len(frames) < n:
        f = sample_frame(rng, genre, p_place=0.7, p_time=0.5)
        key = getattr(f.agent, "names", None) or (f.agent.noun,)
        if key[0] in agents:
            continue
        agents.add(key[0])
        frames.append(f)
    return frames


def script_frames(rng: random.Random, script: int, agent=None) -> list[Frame]:
    """The events of script ``script`` done by one agent to one object."""
    obj = sample_np(rng, {SCRIPT_CLASS[script]}, max_adjs=1)
    agent = agent or sample_person(rng)
    return [Frame(agent, verb, replace(obj, definite=i > 0)) for i, verb in enumerate(SCRIPTS[script])]
