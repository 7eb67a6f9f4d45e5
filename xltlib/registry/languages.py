"""The language table: ISO 639-1 code -> English name, ISO 639-3 code, script, family.

The table is data (``xltlib/tables/languages.tsv``); the codes are the ones XTREME uses.

>>> from xltlib.registry.languages import language
>>> language("sw").name, language("sw").iso639_3
('Swahili', 'swh')
>>> language("xx")
Traceback (most recent call last):
...
KeyError: "unknown language code 'xx'; known codes: af, ar, az, ..."
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1, as XTREME names languages
    name: str  # English name, as in google/xtreme's udpos.<Name> configs
    iso639_3: str  # as in google/xtreme's tatoeba.<code> configs
    script: str
    family: str


@lru_cache(maxsize=1)
def languages() -> dict[str, Language]:
    """Every known language by code, in table order."""
    text = resources.files("xltlib").joinpath("tables/languages.tsv").read_text(encoding="utf-8")
    rows = csv.reader((line for line in text.splitlines() if line and not line.startswith("#")), delimiter="\t")
    return {row[0]: Language(*row) for row in rows}


def language(code: str) -> Language:
    """The language with ISO 639-1 ``code``; a KeyError lists the known codes otherwise."""
    table = languages()
    if code not in table:
        raise KeyError(f"unknown language code {code!r}; known codes: {', '.join(table)}")
    return table[code]


def is_language(code: str) -> bool:
    return code in languages()
