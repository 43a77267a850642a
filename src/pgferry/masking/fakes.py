"""Masking kinds by name, each a deterministic function of text under the key.

A kind turns one column value (as COPY's text carries it) into its mask, the
same on every run for the same key.  A *unique-safe* kind gives distinct
outputs for distinct inputs (a keyed bijection, or for ``hash`` and ``email``
a 128-bit keyed digest, whose collisions are not a practical concern), so a
primary key, a unique column and every foreign key that points at it stay
consistent when all are masked with the same kind; the others (``phone``, the
word-list kinds) are refused on a unique column.
"""

from __future__ import annotations

import ipaddress
import re
import uuid

from . import codes
from .keyed import Keyed
from .kind import Fake, Kind
from .wordkinds import WORD_KINDS

_DIGIT_RUN = re.compile(r"[0-9]+")


def _hash(key: Keyed) -> Fake:
    return lambda value: key.digest("hash", value)[:16].hex()


def _email(key: Keyed) -> Fake:
    def fake(value: str) -> str:
        # lower-cased first: a case-insensitive unique index (citext, lower(email))
        # and a join across differently cased copies still agree after masking
        return f"user.{key.digest('email', value.strip().lower())[:16].hex()}@example.com"

    return fake


def _digits(key: Keyed) -> Fake:
    def run(match: re.Match[str]) -> str:
        text = match.group()
        length = len(text)
        tweak = str(length).encode()
        if text[0] != "0":  # no leading zero stays so: 42 -> 87, never 07
            low = 10 ** (length - 1) if length > 1 else 1
            return str(low + key.permute("digits", int(text) - low, 10**length - low, tweak))
        if length == 1:
            return text
        return str(key.permute("digits0", int(text), 10 ** (length - 1), tweak)).zfill(length)

    return lambda value: _DIGIT_RUN.sub(run, value)


def _uuid(key: Keyed) -> Fake:
    def fake(value: str) -> str:
        number = uuid.UUID(value.strip()).int
        return str(uuid.UUID(int=key.permute("uuid", number, 2**128)))

    return fake


def _ip(key: Keyed) -> Fake:
    def fake(value: str) -> str:
        address, slash, prefix = value.strip().partition("/")
        parsed = ipaddress.ip_address(address)
        bits = parsed.max_prefixlen
        masked = key.permute(f"ipv{parsed.version}", int(parsed), 2**bits)
        out = ipaddress.ip_address(masked) if bits == 32 else ipaddress.IPv6Address(masked)
        return f"{out}{slash}{prefix}"

    return fake


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("hash", True, _hash, "32 hex characters, a keyed digest of the value"),
        Kind("email", True, _email, "user.<32 hex>@example.com, case-insensitive"),
        Kind("digits", True, _digits, "every run of digits permuted, same length"),
        Kind("uuid", True, _uuid, "a keyed permutation of all UUIDs"),
        Kind("ip", True, _ip, "a keyed permutation of all IPv4 (or IPv6) addresses"),
        Kind("ipv4", True, _ip, "the same as ip"),
        Kind("ipv6", True, _ip, "the same as ip"),
        Kind("phone", False, codes.phone, "a valid number of the same region and type"),
        Kind("iban", True, codes.iban_, "a valid IBAN of the same country and shape"),
        Kind("card", True, codes.card, "a Luhn-valid number, same length and first digit"),
    )
}
KINDS |= {
    name: Kind(name, name == "url", build, doc.partition(";")[0])
    for name, (build, doc) in WORD_KINDS.items()
}


def fake(kind: str, key: Keyed) -> Fake:
    """The function of *kind* under *key*; a ``KeyError`` names no kind we know."""
    return KINDS[kind].build(key)
