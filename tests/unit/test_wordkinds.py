"""Realistic masking kinds from word lists (issue 14): the same mask on every run,
another under another key, and the shape each kind promises.  No server needed."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgferry.masking import Keyed
from pgferry.masking.kind import Fake
from pgferry.masking.wordkinds import WORD_KINDS
from pgferry.masking.words import load

KEY = Keyed(b"0123456789abcdef-test-key")
OTHER = Keyed(b"0123456789abcdef-other-key")

SAMPLES = {
    "name": "Ann Smith",
    "first_name": "Ann",
    "last_name": "Smith",
    "company": "Acme Widgets Ltd",
    "street": "47 MyakasaStreet",
    "city": "Nairobi",
    "country": "Kenya",
    "postcode": "SW1A 1AA",
    "lorem": "Called about the invoice; wants a refund by Friday.\nSee ticket.",
    "url": "https://ann.example.org/profile?id=7",
}

#: each kind's output, as a pattern (the word-list kinds are checked against the lists)
LORE = r"[A-Za-z]+(?: [a-z]+)*\.?"


def build(kind: str, key: Keyed = KEY) -> Fake:
    return WORD_KINDS[kind][0](key)


def test_the_kinds_and_their_docs() -> None:
    assert set(SAMPLES) == set(WORD_KINDS)
    for kind, (_, doc) in WORD_KINDS.items():
        assert doc and "\n" not in doc
        assert doc.endswith("; unique-safe" if kind == "url" else "; not unique-safe"), kind


@pytest.mark.parametrize("kind", sorted(WORD_KINDS))
def test_a_kind_is_deterministic_and_key_sensitive(kind: str) -> None:
    values = [f"{SAMPLES[kind]} {i}" for i in range(50)]
    ours = [build(kind)(v) for v in values]
    assert ours == [build(kind, Keyed(b"0123456789abcdef-test-key"))(v) for v in values]
    theirs = [build(kind, OTHER)(v) for v in values]
    assert sum(a != b for a, b in zip(ours, theirs, strict=True)) >= 45
    assert len(set(ours)) >= 40, "the value chooses the mask"
    assert build(kind)(SAMPLES[kind]) != SAMPLES[kind]


@pytest.mark.parametrize("kind", sorted(WORD_KINDS))
def test_empty_stays_empty(kind: str) -> None:
    assert build(kind)("") == ""


@pytest.mark.parametrize("kind", sorted(set(WORD_KINDS) - {"postcode"}))
@given(value=st.text(min_size=1, max_size=60))
def test_a_mask_is_one_line_of_ascii_whatever_the_value(kind: str, value: str) -> None:
    out = build(kind)(value)
    assert out.isascii() and out.isprintable() and "\\" not in out


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("first_name", "first_names"),
        ("last_name", "last_names"),
        ("company", "companies"),
        ("city", "cities"),
        ("country", "countries"),
    ],
)
def test_a_pick_comes_from_its_list(kind: str, words: str) -> None:
    entries = set(load(words))
    fake = build(kind)
    assert all(fake(f"value {i}") in entries for i in range(500))


def test_name_is_a_first_and_a_last_name_picked_apart_from_the_other_kinds() -> None:
    firsts, lasts = set(load("first_names")), set(load("last_names"))
    name, first_name, last_name = build("name"), build("first_name"), build("last_name")
    values = [f"Person {i}" for i in range(500)]
    for value in values:
        out = name(value)
        splits = [i for i, c in enumerate(out) if c == " "]
        assert any(out[:i] in firsts and out[i + 1 :] in lasts for i in splits), out
    # name's picks have labels of their own: they agree with first_name's by chance only
    assert sum(name(v).startswith(first_name(v) + " ") for v in values) < 10
    assert sum(name(v).endswith(" " + last_name(v)) for v in values) < 10
    # ... and its first and last names are picked independently of each other
    assert len({name(v).split(" ")[0] for v in values}) > 400


@given(number=st.integers(min_value=0, max_value=10**12), rest=st.text(min_size=1, max_size=30))
def test_street_keeps_a_leading_house_numbers_length(number: int, rest: str) -> None:
    digits = str(number)
    out = build("street")(f"{digits} {rest}")
    found, _, street = out.partition(" ")
    assert re.fullmatch(rf"[1-9][0-9]{{{len(digits) - 1}}}", found), out
    assert street in set(load("streets"))


def test_street_keeps_a_trailing_house_number_and_adds_none() -> None:
    street = build("street")
    streets = set(load("streets"))
    number, _, name = street("47 MyakasaStreet").partition(" ")
    assert re.fullmatch(r"[1-9][0-9]", number) and name in streets
    name, _, number = street("Hauptstraße 12").rpartition(" ")
    assert name in streets and re.fullmatch(r"[1-9][0-9]", number)
    assert street("Myakasa Street") in streets
    assert street("7 x") != street("8 x"), "the number is keyed by the whole value"


@given(value=st.text(alphabet="ABCXYZabcxyz0123456789 -", min_size=1, max_size=12))
def test_postcode_keeps_its_shape(value: str) -> None:
    def shape(text: str) -> str:
        return re.sub("[a-z]", "a", re.sub("[A-Z]", "A", re.sub("[0-9]", "9", text)))

    assert shape(build("postcode")(value)) == shape(value)


def test_postcode_examples() -> None:
    postcode = build("postcode")
    assert re.fullmatch(r"[A-Z]{2}[0-9][A-Z] [0-9][A-Z]{2}", postcode("SW1A 1AA"))
    assert re.fullmatch(r"[0-9]{5}", postcode("02134"))
    assert postcode("02134") != postcode("02135")
    # the whole value seeds the replacement: a shared prefix gives no shared prefix
    masks = [postcode(f"0213{i}") for i in range(10)] + [postcode(f"SW1A {i}AA") for i in range(10)]
    assert len({mask[:4] for mask in masks}) >= 18


@given(value=st.text(max_size=400))
def test_lorem_is_as_long_as_the_value_or_nearly(value: str) -> None:
    out = build("lorem")(value)
    assert len(out) <= len(value)
    assert len(out) >= 0.8 * len(value)
    assert "\n" not in out and "\r" not in out
    assert bool(out) == bool(value)


def test_lorem_is_lorem_words() -> None:
    lorem = build("lorem")
    known = set(load("lorem"))
    for i in range(200):
        out = lorem("x" * (i + 1))
        assert len(out) == i + 1
        assert re.fullmatch(LORE, out), out
        assert all(word in known for word in out.rstrip(".").lower().split(" ")), out


def test_url_is_unique_over_one_hundred_thousand_values() -> None:
    url = build("url")
    out = {url(f"https://site{i}.example.org/") for i in range(100_000)}
    assert len(out) == 100_000
    hosts = set(load("lorem"))
    for each in list(out)[:1000]:
        found = re.fullmatch(r"https://([a-z]+)\.example\.com/[0-9a-f]{16}", each)
        assert found and found.group(1) in hosts, each
