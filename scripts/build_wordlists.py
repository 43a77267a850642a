"""Write the frozen word lists of pgferry's realistic masking kinds.

The lists in ``src/pgferry/masking/words/`` are data of the package, not built
when it installs: Faker changes its outputs between releases and costs about
100 µs a value, while a masked value must be the same on every run of every
release.  This script is how they were made, so they can be made again.

Rebuild (Faker is in the ``wordlists`` extra, never a dependency of pgferry)::

    .venv/bin/pip install -e '.[wordlists]'
    .venv/bin/python scripts/build_wordlists.py          # rewrite the lists
    .venv/bin/python scripts/build_wordlists.py --check  # exit 1 if they would change

A list that changes changes masked outputs.  Such a change must bump
``pgferry.masking.words.VERSION``, add the new lists' sha256 under that version
in ``tests/unit/test_words.py``, and say so in CHANGELOG.md ("word lists
version N: ...").  Version 1 was written by Faker 40.63.0.

Every entry is ASCII (NFKD with the combining marks dropped, a few letters
spelt out first, e.g. ``ß`` -> ``ss``; an entry with anything else left that is
not ASCII is left out rather than cut), so a masked value fits any server
encoding, SQL_ASCII and LATIN1 included; holds no digit, tab, newline or
backslash; and is unique in its list.  Files are sorted, one entry a line,
without a header.  Each list's draws come from a Faker seeded with
:data:`SEED`, one Faker per list and locale, so a list does not depend on the
others.  Some of Faker's lists are built from sets (it_IT's cities), whose order
follows string hashing, so the script runs itself again with
``PYTHONHASHSEED=0`` when that is not already set.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from faker import Faker

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "pgferry" / "masking" / "words"

SEED = 14  # issue 14

#: Latin-script locales
LOCALES = (
    *("en_US", "en_GB", "en_IE", "de_DE", "de_AT", "fr_FR", "es_ES", "it_IT", "nl_NL"),
    *("pt_PT", "sv_SE", "da_DK", "no_NO", "fi_FI", "pl_PL", "cs_CZ"),
)

#: letters NFKD does not take apart
_SPELT = str.maketrans(
    {
        **{"ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "ø": "o"},
        **{"Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D"},
        **{"þ": "th", "Þ": "Th", "ı": "i", "’": "'", "‘": "'", "–": "-", "—": "-"},
    }
)
_ALLOWED = re.compile(r"'?[A-Za-z][A-Za-z '&,.()/-]*")


@dataclass(frozen=True)
class WordList:
    """One list: the Faker method drawn, from which locales, how many draws each."""

    method: str
    locales: tuple[str, ...]
    draws: int


LISTS: dict[str, WordList] = {
    "first_names": WordList("first_name", LOCALES, 8000),
    "last_names": WordList("last_name", LOCALES, 8000),
    "companies": WordList("company", LOCALES, 400),
    "streets": WordList("street_name", LOCALES, 400),
    "cities": WordList("city", LOCALES, 400),
    # English names only: a mix of languages would give one country several names
    "countries": WordList("country", ("en_US", "en_GB"), 4000),
    "lorem": WordList("word", ("la",), 4000),
}


def ascii_only(text: str) -> str | None:
    """*text* spelt in ASCII with its spaces collapsed, or None if it cannot be or
    holds something no list may hold (a digit, a tab, a backslash...)."""
    spelt = unicodedata.normalize("NFKD", text.translate(_SPELT))
    plain = " ".join("".join(c for c in spelt if not unicodedata.combining(c)).split())
    return plain if _ALLOWED.fullmatch(plain) else None


def draw(spec: WordList) -> Iterable[str]:
    for locale in spec.locales:
        fake = Faker(locale)
        fake.seed_instance(SEED)
        method = getattr(fake, spec.method)
        for _ in range(spec.draws):
            yield str(method())


def build(spec: WordList) -> list[str]:
    """The sorted, deduplicated ASCII entries of one list."""
    return sorted({word for word in map(ascii_only, draw(spec)) if word})


def main(argv: list[str] | None = None) -> int:
    if os.environ.get("PYTHONHASHSEED") != "0":  # see the module's docstring
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        os.execve(sys.executable, [sys.executable, __file__, *sys.argv[1:]], env)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a list would change")
    parser.add_argument("--out", type=Path, default=OUT, help="folder of the lists")
    args = parser.parse_args(argv)
    changed = []
    for name, spec in LISTS.items():
        text = "".join(f"{word}\n" for word in build(spec))
        path = args.out / f"{name}.txt"
        if path.exists() and path.read_text(encoding="ascii") == text:
            continue
        changed.append(name)
        if not args.check:
            args.out.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="ascii", newline="\n")
        print(f"{name}: {text.count(chr(10))} entries {'differ' if args.check else 'written'}")
    if changed and args.check:
        print("the word lists would change: bump pgferry.masking.words.VERSION", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
