"""The toy world (``ToyWorld``: its languages, split sizes and fine-tuning rates) as a data source: task specs and
generated splits, through the same loader interface (what its sentences mean: ``xltlib.toy.semantics``).

    from xltlib.data import load_examples
    load_examples("xnli", "nh", "test", source="toy")         # the default toy world
    load_examples("xnli", "nh", "test", source=ToyWorld.smoke())
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

from xltlib.data.core import TaskData, check_policy, collect
from xltlib.errors import ConfigError
from xltlib.registry.tasks import TaskSpec, ToyAnalog, get_task, list_tasks
from xltlib.toy import tasks as T
from xltlib.toy.language import LANGUAGES, world_languages


@dataclass(frozen=True)
class ToyWorld:
    """The toy world's languages, the sizes of its generated splits and the toy fine-tuning recipe's
    learning rates (a study changes them with ``world:``, e.g. ``{lr_ratio: 0.025, head_lr_ratio: 0.5}`` or
    ``{high_languages: 12}``)."""

    seed: int = 0
    # synthetic languages per resource level (``xltlib.toy.language.world_languages``): the default's three
    # (near, mid, far); more come along a typological continuum, and a pretrained model of their own
    high_languages: int = 3
    low_languages: int = 3
    train: int = 2000  # English (or translated) training examples per task
    # intermediate tasks' training sets relative to ``train`` (XNLI's is MNLI's). Real ones are 10-100x a
    # small target's (MNLI 393k, SQuAD 88k against TyDiQA-en 3.7k, UD-en 12.5k); the toy's are equal
    intermediate_scale: float = 1.0
    dev: int = 300  # per language
    test: int = 300  # per language
    retrieval_pairs: int = 200  # BUCC / Tatoeba gold pairs per language (BUCC adds as many distractors)
    # fine-tuning learning rates relative to the toy model's pretraining peak (1e-3): the encoder's and the
    # fresh task heads' (None: the encoder's). The toy recipe's 0.5 (5e-4) is far above XLM-R's regime,
    # 1e-5 against a peak of the order of 4e-4, ~0.025 (docs/toy_check.md, "Why transfer falls after phase 1")
    lr_ratio: float = 0.5
    head_lr_ratio: float | None = None

    def __post_init__(self):
        world_languages(self.high_languages, self.low_languages)  # a ConfigError naming the field, if any
        for name in ("seed", "train", "dev", "test", "retrieval_pairs"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < (0 if name == "seed" else 1):
                raise ConfigError(f"world.{name}: expected a whole number >= {0 if name == 'seed' else 1}, got {v!r}")
        for name in ("intermediate_scale", "lr_ratio", "head_lr_ratio"):
            v = getattr(self, name)
            if v is None and name == "head_lr_ratio":
                continue
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 < v <= 100:
                raise ConfigError(f"world.{name}: expected a positive number up to 100, got {v!r}")

    @classmethod
    def smoke(cls) -> "ToyWorld":
        return cls(train=96, dev=32, test=32, retrieval_pairs=32)

    @property
    def languages(self) -> dict:
        """Code -> ``ToyLanguage``, English first."""
        return world_languages(self.high_languages, self.low_languages)

    def spec(self, task: str) -> TaskSpec:
        """``toy_spec`` with this world's languages."""
        return toy_spec(task, tuple(self.languages))

    def language(self, code: str):
        if code not in self.languages:
            raise ConfigError(f"toy world: language {code!r} is not one of {', '.join(self.languages)}")
        return self.languages[code]

    def load(self, task, lang: str, split: str, *, on_error: str = "skip", benchmark: str | None = None,
             limit: int | None = None) -> TaskData:
        """A generated split, as a data source (``benchmark`` is not used: toy specs are the toy world's)."""
        check_policy(on_error)
        return load(task, lang, split, self, on_error=on_error, limit=limit)


ALL = tuple(LANGUAGES)

# English training sets relative to ToyWorld.train: TyDiQA-GoldP's is small; the word-swap paraphrase
# task needs more examples before the tiny model picks up word order at all (measured on world v4:
# 2000 often stays at chance, 4000 reaches ~90%); continued MLM ("mlm", in every language) has 300
# documents per language, 2,100 in all, about as many as an intermediate task has examples, so that
# MNLI + MLM trains on twice MNLI's examples, not eight times
TRAIN_SIZE = {"tydiqa": 0.5, "pawsx": 2.0, "mlm": 0.15}
TARGETS = ("xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba", "xcopa")
INTERMEDIATE = ("anli_plus", "ccg", "commonsenseqa", "cosmosqa", "hellaswag", "mnli", "qqp", "squad_v1",
                "squad_v2", "sst2")


def toy_tasks() -> tuple[str, ...]:
    """The registered tasks the toy world has an analog of (``TaskSpec.toy``)."""
    return tuple(spec.name for spec in list_tasks() if spec.toy is not None)


def analog(name: str) -> ToyAnalog:
    """How the toy world generates task ``name`` (its record's ``toy``), or a ConfigError naming the task."""
    try:
        toy = get_task(name).toy
    except KeyError:
        toy = None
    if toy is None:
        raise ConfigError(f"the toy world has no analog of task {name!r}; toy tasks: {', '.join(toy_tasks())}")
    return toy


def _bitext(name: str) -> bool:
    """A retrieval task: the toy world's aligned sentence pairs (BUCC adds distractors)."""
    return analog(name).generator == "bitext"


def _mlm_text(rng, lang, i):
    """Continued MLM's text: a document of the pretraining corpus's kind, in ``lang`` (1-4 sentences)."""
    from xltlib.registry.examples import TextExample
    from xltlib.toy.pretrain import sentence

    return TextExample(str(i), " ".join(T.text_of(sentence(rng, lang)) for _ in range(rng.randint(1, 4))), lang.code)


GENERATED = {"mlm_text": _mlm_text}  # generators outside xltlib.toy.tasks


def _mnli_genre(rng, lang, i):
    """MNLI's genres: each training example from one of the world's verb domains (drawn independently
    of the label, which follows the index)."""
    return T.nli(rng, lang, i, genre=rng.choice(("home", "market", "farm")))


@lru_cache(maxsize=None)
def toy_spec(name: str, languages: tuple[str, ...] = ALL) -> TaskSpec:
    """The real task's spec with a toy world's ``languages`` (English first; default: the default world's)
    and lengths (same format, labels, metrics)."""
    toy = analog(name)
    spec = get_task(name)
    non_en = tuple(c for c in languages if c != "en")
    langs = non_en if _bitext(name) else (languages if spec.role == "target" or name == "mlm" else ("en",))
    changes = dict(languages=langs, train_languages=languages, hub={}, test_only=(), benchmarks=spec.benchmarks,
                   train_before=(), notes=f"toy analog of {spec.title}",
                   qa_rules="squad")  # toy languages have no MLQA normalization rules
    if toy.max_length is not None:
        changes["max_length"] = toy.max_length
    if name == "ccg":
        changes["labels"], changes["open_labels"] = T.CCG_TAGS, False
    if name == "xcopa":
        changes["languages"] = languages
    if spec.retrieval:  # measured on toy-base Tatoeba nh: 9% nearest-neighbour accuracy raw, 30% centred
        changes["retrieval"] = dataclasses.replace(spec.retrieval, center=True)
    return dataclasses.replace(spec, **changes)


def generate(name: str, lang: str, split: str, world: ToyWorld = ToyWorld()) -> list:
    spec = world.spec(name)
    language = world.language(lang)
    toy = analog(name)
    if toy.generator == "bitext":
        n = world.retrieval_pairs
        return T.bitext(world.seed, name, language, split, n, n if spec.threshold_on_dev else 0)
    fn, kwargs = GENERATED.get(toy.generator) or getattr(T, toy.generator), dict(toy.kwargs)
    if name == "mnli" and split == "train":
        fn, kwargs = _mnli_genre, {}
    size = {"train": world.train, "dev": world.dev, "test": world.test}[split]
    if split == "train":
        scale = world.intermediate_scale if spec.role == "intermediate" else 1.0
        size = max(1, round(size * TRAIN_SIZE.get(name, 1.0) * scale))
    return [fn(T._rng(world.seed, name, split, i), language, i, **kwargs) for i in range(size)]


def load(task: str | TaskSpec, lang: str, split: str, world: ToyWorld, *, on_error: str, limit: int | None) -> TaskData:
    name = task.name if isinstance(task, TaskSpec) else task
    spec = world.spec(name)
    if split == "train" and spec.train_task:
        spec = world.spec(spec.train_task)
        name = spec.name
    world.language(lang)  # one of this world's, or an error naming them
    if split == "train" and _bitext(name):
        raise ConfigError(f"toy {name} has no train split (it is evaluated without training, as in XTREME)")
    examples = generate(name, lang, split, world)[:limit]
    return collect(spec, lang, split, f"toy world (seed {world.seed}) {name}", enumerate(examples), on_error)
