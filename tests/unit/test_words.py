"""The frozen word lists (issue 14): shipped, clean, and unchanged unless their
version says so.  No server needed."""

from __future__ import annotations

import hashlib
from importlib import resources

import pytest

from pgferry.masking import words

#: each version's lists, by sha256 of the file.  A list that changes changes masked
#: outputs: bump words.VERSION, add its hashes here and say so in CHANGELOG.md.
PINNED: dict[int, dict[str, str]] = {
    1: {
        "cities": "6d843a041b1d4685569fd188baced8d0edf3019daa2060397f44e384f5f154e6",
        "companies": "818a938980d09fd024f84deb513e77f5071cbf3829db29011ba75763c1acef43",
        "countries": "3646d2204b7a093de5611de5b16c1a457d5958a4e2c9b0ac3f16ae20d05d5854",
        "first_names": "a0ecb898b567bab92d031c4b3ca00fe13f960a1bd3582f2ce4f30aac40cf7564",
        "last_names": "57ff0e7870db1c2ac91f3339460746f447a4ff53f1e200de82b7c332afe3db6d",
        "lorem": "241ac942226861403b5e25d5f52d94fb8c2992af3ee82b297a05ebdb45bf0953",
        "streets": "6e8074d1cbbd9f3b63cacc3926e61b8343f66c1d4ac20582f05d39a0d5b53334",
    },
}

#: fewest entries a list may have: a short list makes two values share a mask often
MINIMUM = {
    **{"first_names": 3000, "last_names": 3000, "companies": 3000, "streets": 3000},
    **{"cities": 3000, "countries": 200, "lorem": 150},
}

FOLDER = resources.files("pgferry.masking").joinpath("words")


def _file(name: str) -> bytes:
    return FOLDER.joinpath(f"{name}.txt").read_bytes()


def test_every_file_is_a_named_list_and_every_list_a_file() -> None:
    files = {entry.name for entry in FOLDER.iterdir() if entry.name.endswith(".txt")}
    assert files == {f"{name}.txt" for name in words.NAMES}
    assert set(MINIMUM) == set(words.NAMES)


def test_the_lists_are_those_of_their_version() -> None:
    assert words.VERSION in PINNED, f"word lists version {words.VERSION} has no hashes here"
    changed = [
        name
        for name, digest in PINNED[words.VERSION].items()
        if hashlib.sha256(_file(name)).hexdigest() != digest
    ]
    assert set(PINNED[words.VERSION]) == set(words.NAMES)
    assert not changed, (
        f"word lists {', '.join(changed)} changed, which changes masked values: bump "
        "pgferry.masking.words.VERSION, pin the new hashes in PINNED under it and write a "
        "CHANGELOG.md line saying so (see scripts/build_wordlists.py)"
    )


@pytest.mark.parametrize("name", words.NAMES)
def test_a_list_is_clean_ascii_sorted_and_unique(name: str) -> None:
    raw = _file(name)
    assert raw.isascii()
    assert raw.endswith(b"\n") and b"\r" not in raw
    entries = words.load(name)
    assert list(entries) == sorted(set(entries)), "sorted, without duplicates"
    assert len(entries) >= MINIMUM[name]
    for entry in entries:
        assert entry == " ".join(entry.split()), f"{entry!r}: stray whitespace"
        assert entry.isprintable() and "\\" not in entry, repr(entry)
        assert not any(c.isdigit() for c in entry), repr(entry)


def test_load_is_cached_and_refuses_an_unknown_list() -> None:
    assert words.load("cities") is words.load("cities")
    with pytest.raises(ValueError, match="no word list is named 'towns'; the lists are first_"):
        words.load("towns")
