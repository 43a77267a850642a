"""Validators for sampled values: what share of a column's values are emails, phone
numbers, card numbers, IBANs, IP addresses or national identifiers.

Each validator is strict on purpose (a value must *be* one, not contain one) and
those that random digits can pass by chance (Luhn is right one time in ten, many
digit strings are valid phone numbers somewhere) need a high share of the
sample and a formatted value.  Only counts leave this module: a :class:`Share`
never holds a value.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import phonenumbers
from stdnum import iban, luhn
from stdnum.br import cpf
from stdnum.es import dni
from stdnum.it import codicefiscale
from stdnum.us import ssn

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"{_LOCAL}@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}")


def is_email(value: str) -> bool:
    """An address as people write them: ``local@domain.tld``, dot-atoms only (no
    quoted local parts, no IP literals), at most 254 characters."""
    return len(value) <= 254 and _EMAIL.fullmatch(value) is not None


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_interface(value.strip()).ip
    except ValueError:
        return None


#: regions a phone number without a leading + is tried under
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN")
_PHONE = re.compile(r"\+?[0-9 ().-]{6,24}")
_PHONE_SEPARATED = re.compile(r"[0-9][ ().-]+[0-9]|^\(")
_DATE_LIKE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{1,2}[./-][0-9]{1,2}[./-][0-9]{2,4}")


def is_phone(value: str) -> bool:
    """A valid phone number (``phonenumbers``): with a leading ``+``, or written with
    separators (``(202) 555-0143``, ``030 1234567``) and valid under one of
    :data:`PHONE_REGIONS`; a bare run of digits is too often something else."""
    value = value.strip()
    if not _PHONE.fullmatch(value) or _DATE_LIKE.fullmatch(value) or _ip(value) is not None:
        return False
    if not value.startswith("+") and not _PHONE_SEPARATED.search(value):
        return False
    regions: Iterable[str | None] = (None,) if value.startswith("+") else PHONE_REGIONS
    for region in regions:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return True
    return False


_CARD = re.compile(r"[0-9]{13,19}|[0-9]{4}(?:[ -][0-9]{3,6}){2,4}")


def is_card(value: str) -> bool:
    """13 to 19 digits (bare, or in groups split by spaces or dashes) passing Luhn."""
    value = value.strip()
    if not _CARD.fullmatch(value):
        return False
    digits = re.sub(r"[ -]", "", value)
    return 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn.is_valid(digits)


def is_iban(value: str) -> bool:
    """An IBAN with its country's length and a valid check (``stdnum.iban``)."""
    value = value.strip()
    return 15 <= len(value) <= 42 and value[:2].isalpha() and iban.is_valid(value)


def is_ipv4(value: str) -> bool:
    """An IPv4 address, as text or as ``inet`` writes one (``10.0.0.1/8`` too)."""
    return isinstance(_ip(value), ipaddress.IPv4Address)


def is_ipv6(value: str) -> bool:
    """An IPv6 address, as text or as ``inet`` writes one."""
    return isinstance(_ip(value), ipaddress.IPv6Address)


_SSN = re.compile(r"[0-9]{3}-[0-9]{2}-[0-9]{4}")
_CPF = re.compile(r"[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}")
_DNI = re.compile(r"[0-9]{8}-?[A-Za-z]")
_CODICE = re.compile(
    r"[A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{2}"
    r"[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z]"
)


def is_national_id(value: str) -> bool:
    """A national identifier ``python-stdnum`` validates, in its written form only
    (bare digit runs are too common): a US SSN ``123-45-6789``, a Brazilian CPF
    ``123.456.789-09``, a Spanish DNI ``12345678Z``, an Italian codice fiscale."""
    value = value.strip()
    if _SSN.fullmatch(value):
        return ssn.is_valid(value)
    if _CPF.fullmatch(value):
        return cpf.is_valid(value)
    if _DNI.fullmatch(value):
        return dni.is_valid(value)
    if _CODICE.fullmatch(value):
        return codicefiscale.is_valid(value)
    return False


@dataclass(frozen=True)
class Validator:
    """One kind of value and the masking kind that fits it."""

    name: str  # "email"
    label: str  # "emails": "998/1000 sampled values are emails"
    kind: str
    check: Callable[[str], bool]
    #: the share of the sample that must validate to suggest *kind* from values alone
    share: float
    #: and the fewest values that must
    least: int


VALIDATORS: tuple[Validator, ...] = (
    Validator("email", "emails", "email", is_email, 0.8, 1),
    Validator("iban", "IBANs", "iban", is_iban, 0.8, 1),
    Validator("ipv4", "IPv4 addresses", "ipv4", is_ipv4, 0.8, 1),
    Validator("ipv6", "IPv6 addresses", "ipv6", is_ipv6, 0.8, 1),
    Validator("card", "card numbers (Luhn)", "card", is_card, 0.9, 5),
    Validator("phone", "phone numbers", "phone", is_phone, 0.9, 5),
    Validator("national_id", "national identifiers", "digits", is_national_id, 0.9, 5),
)
BY_NAME = {v.name: v for v in VALIDATORS}


@dataclass(frozen=True)
class Share:
    """How many of a column's sampled values one validator accepted (counts only)."""

    validator: str
    matched: int
    sampled: int

    @property
    def kind(self) -> str:
        return BY_NAME[self.validator].kind

    @property
    def strong(self) -> bool:
        """Enough to suggest the kind from the values alone."""
        v = BY_NAME[self.validator]
        return self.matched >= v.least and self.matched >= v.share * self.sampled > 0

    def __str__(self) -> str:
        label = BY_NAME[self.validator].label
        return f"{self.validator}: {self.matched}/{self.sampled} sampled values are {label}"

    def to_dict(self) -> dict[str, object]:
        return {"validator": self.validator, "matched": self.matched, "sampled": self.sampled}


def shares(values: Iterable[str]) -> tuple[Share, ...]:
    """Every validator's count over *values*, in :data:`VALIDATORS` order."""
    sample = list(values)
    return tuple(
        Share(v.name, sum(1 for value in sample if v.check(value)), len(sample)) for v in VALIDATORS
    )


def strongest(found: Iterable[Share]) -> Share | None:
    """The strong share with the most matches (ties: :data:`VALIDATORS` order)."""
    strong = [s for s in found if s.strong]
    return max(strong, key=lambda s: s.matched, default=None)


def for_kind(found: Iterable[Share], kind: str) -> Share | None:
    """The share of the validator of *kind* (``phone`` for a column named phone); None
    for ``digits``, which masks more than national identifiers."""
    return next((s for s in found if s.kind == kind != "digits"), None)
