"""Realistic masking kinds: names, companies, addresses and text from word lists.

Each kind is a deterministic function of the value under the key: the same
value gives the same mask on every run, every table and every column.  Each
uses its own label for the key's picks (``name`` picks its first name under
``name.first``, never under ``first_name``'s label), so two kinds never make
the same choice for one value.  The picks come from the frozen lists of
:mod:`pgferry.masking.words`, so every mask is ASCII.

None of them is unique-safe but ``url``: a list of a few thousand entries
gives two values the same pick often enough to break a unique column, so such
a rule on a unique column must be refused.  ``url`` carries 64 bits of a keyed
digest.  An empty value stays empty in every kind.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
from collections.abc import Callable
from itertools import accumulate

from .keyed import Keyed
from .kind import Fake
from .words import load

#: a kind's function as built here: text in, text out (never NULL)
Text = Callable[[str], str]
#: how a kind is made from a key
Builder = Callable[[Keyed], Fake]

_LEADING = re.compile(r"\s*([0-9]+)")
_TRAILING = re.compile(r"([0-9]+)\s*$")
#: one HMAC-SHA256 block as four big-endian 8-byte draws
_DRAWS = struct.Struct(">4Q")


class _Stream:
    """Keyed pseudo-random numbers drawn from a seed (a keyed digest of one value):
    HMAC-SHA256 of the seed in counter mode, 8 bytes a draw (four a block, read at
    once: lorem draws once a word, and slicing bytes per draw was most of its time)."""

    __slots__ = ("_block", "_draws", "_seed")

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._block = 0
        self._draws: list[int] = []  # the block's draws not yet taken, last first

    def below(self, n: int) -> int:
        """A number in ``range(n)`` (modulo bias below n / 2**64)."""
        if not self._draws:
            block = hmac.digest(self._seed, self._block.to_bytes(8, "big"), hashlib.sha256)
            self._draws = list(reversed(_DRAWS.unpack(block)))
            self._block += 1
        return self._draws.pop() % n


def _keep_empty(fake: Text) -> Text:
    return lambda value: fake(value) if value else ""


def _pick(key: Keyed, kind: str, words: tuple[str, ...]) -> Text:
    return _keep_empty(lambda value: words[key.integer(kind, value, len(words))])


def _first_name(key: Keyed) -> Text:
    return _pick(key, "first_name", load("first_names"))


def _last_name(key: Keyed) -> Text:
    return _pick(key, "last_name", load("last_names"))


def _name(key: Keyed) -> Text:
    first = _pick(key, "name.first", load("first_names"))
    last = _pick(key, "name.last", load("last_names"))
    return _keep_empty(lambda value: f"{first(value)} {last(value)}")


def _company(key: Keyed) -> Text:
    return _pick(key, "company", load("companies"))


def _city(key: Keyed) -> Text:
    return _pick(key, "city", load("cities"))


def _country(key: Keyed) -> Text:
    return _pick(key, "country", load("countries"))


def _street(key: Keyed) -> Text:
    name = _pick(key, "street", load("streets"))

    def number(value: str, digits: int) -> str:
        low = 10 ** (digits - 1)  # no leading zero: 47 -> 83, never 03
        return str(low + key.integer("street.number", value, 10**digits - low))

    def fake(value: str) -> str:
        if leading := _LEADING.match(value):
            return f"{number(value, len(leading.group(1)))} {name(value)}"
        if trailing := _TRAILING.search(value):
            return f"{name(value)} {number(value, len(trailing.group(1)))}"
        return name(value)

    return _keep_empty(fake)


def _postcode(key: Keyed) -> Text:
    def fake(value: str) -> str:
        stream = _Stream(key.digest("postcode", value))
        out = []
        for char in value:
            if char.isdigit():
                out.append(chr(ord("0") + stream.below(10)))
            elif char.isalpha():
                out.append(chr(ord("A" if char.isupper() else "a") + stream.below(26)))
            else:
                out.append(char)
        return "".join(out)

    return fake


def _lorem(key: Keyed) -> Text:
    ordered = sorted(load("lorem"), key=lambda word: (len(word), word))
    longest = len(ordered[-1])
    # upto[n]: how many words are n characters long or shorter
    upto = list(accumulate(sum(len(w) == n for w in ordered) for n in range(longest + 1)))
    everything = len(ordered)

    def fake(value: str) -> str:
        """Words picked among those that still fit, so the text never passes the
        value's length and ends within a shortest word (and its space) of it: with
        the one-letter ``a`` in the list, and a full stop where one character is
        left, exactly at it."""
        below = _Stream(key.digest("lorem", value)).below
        target = len(value)
        words: list[str] = []
        room = target  # left for the next word, and from the second word on its space
        while room > 0 and (fits := upto[room] if room < longest else everything):
            word = ordered[below(fits)]
            words.append(word)
            room -= len(word) + 1
        if not words:  # shorter than every word
            return ordered[below(everything)][:target].capitalize()
        text = " ".join(words)
        return text[0].upper() + text[1:] + ("." if room >= 0 else "")

    return _keep_empty(fake)


def _url(key: Keyed) -> Text:
    host = _pick(key, "url.host", load("lorem"))
    return _keep_empty(
        lambda value: f"https://{host(value)}.example.com/{key.digest('url', value)[:8].hex()}"
    )


WORD_KINDS: dict[str, tuple[Builder, str]] = {
    "name": (_name, "First Last, each picked from a list; not unique-safe"),
    "first_name": (_first_name, "a first name from a list; not unique-safe"),
    "last_name": (_last_name, "a last name from a list; not unique-safe"),
    "company": (_company, "a company name from a list; not unique-safe"),
    "street": (
        _street,
        "a street name, with a house number as long as the value's (leading or "
        "trailing) if it has one; not unique-safe",
    ),
    "city": (_city, "a city name from a list; not unique-safe"),
    "country": (_country, "an English country name from a list; not unique-safe"),
    "postcode": (
        _postcode,
        "each digit and letter replaced in place, case kept (SW1A 1AA -> KP7C 2XM); "
        "not unique-safe",
    ),
    "lorem": (
        _lorem,
        "lorem ipsum words on one line, as long as the value, never longer; not unique-safe",
    ),
    "url": (_url, "https://<word>.example.com/<16 hex of a keyed digest>; unique-safe"),
}
