"""Masking kinds whose output a well-kept library validates: phone numbers
(``phonenumbers``, Google's libphonenumber metadata), IBANs and card numbers
(``python-stdnum``'s mod 97-10 and Luhn).  The libraries check and compute the
check digits; the choice of digits is ours, keyed.

``iban`` and ``card`` are keyed bijections of their number space (the check
digits follow from the rest), so they are unique-safe.  ``phone`` picks a
valid number of the same region and type: two inputs may meet, so it is not.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from functools import cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, PhoneNumberType
from stdnum import iban, luhn

from .keyed import Keyed

#: the region a phone number without a leading + is read in
DEFAULT_REGION = "US"

_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)
_DIGIT = re.compile(r"[0-9]")
_ALNUM = string.digits + string.ascii_uppercase


def _keyed_digits(key: Keyed, label: str, value: str, count: int) -> str:
    number = int.from_bytes(key.digest("phone", f"{label}\0{value}"), "big")
    return str(number % 10**count).zfill(count)


@cache
def _example(region: str, kind: int) -> PhoneNumber | None:
    """libphonenumber's example number of *region* and *kind* (else of *region*): the
    same for every value of a region, so read once (it was a tenth of phone's time).
    Only read, never changed, by its callers."""
    return phonenumbers.example_number_for_type(region, kind) or phonenumbers.example_number(region)


@cache
def _could_be_valid(region: str) -> Callable[[str], bool]:
    """A quick necessary test of a national number's validity in *region*: its
    general pattern in libphonenumber's metadata, which ``is_valid_number`` checks
    first.  Most random candidates fail it, and it costs a microsecond where the
    full parse and check cost thirty; the full check still decides."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    general = metadata.general_desc if metadata is not None else None
    if general is None or general.national_number_pattern is None:
        return lambda digits: True
    pattern = re.compile(general.national_number_pattern)
    return lambda digits: pattern.fullmatch(digits) is not None


def phone(key: Keyed, region: str = DEFAULT_REGION) -> Callable[[str], str]:
    """A valid number (by libphonenumber's metadata) of the input's region and type,
    written as the input was: international with a leading +, else national."""

    def fake(value: str) -> str:
        text = value.strip()
        try:
            parsed = phonenumbers.parse(text, None if text.startswith("+") else region)
        except NumberParseException:
            parsed = None
        where = (parsed and phonenumbers.region_code_for_number(parsed)) or region
        kind = phonenumbers.number_type(parsed) if parsed else PhoneNumberType.MOBILE
        example = _example(where, kind if kind in _TYPES else PhoneNumberType.MOBILE)
        if example is None:  # a region without metadata: its digits, permuted
            return _DIGIT.sub(lambda m: _keyed_digits(key, "x", text, 1), text)
        national = str(example.national_number)
        candidate = example
        for attempt in range(30):  # keep 1, then 2, then 3 leading digits of a valid number
            keep = min(1 + attempt // 10, len(national) - 1)
            digits = national[:keep] + _keyed_digits(
                key, f"{where}{attempt}", text, len(national) - keep
            )
            if not _could_be_valid(where)(digits):
                continue
            trial = phonenumbers.parse(digits, where)
            if phonenumbers.is_valid_number(trial):
                candidate = trial
                break
        style = (
            PhoneNumberFormat.INTERNATIONAL
            if text.startswith("+")
            else (PhoneNumberFormat.NATIONAL)
        )
        return phonenumbers.format_number(candidate, style)

    return fake


def _stand_in(key: Keyed, kind: str, value: str) -> str:
    """For a value that is no IBAN or card number at all: keyed characters of its
    length, never the value itself."""
    text = key.digest(kind, value).hex().upper()
    return (text * (1 + len(value) // len(text)))[: max(len(value), 1)]


def _radix(chars: str) -> list[int]:
    return [10 if c.isdigit() else 26 for c in chars]


def _encode(chars: str, radix: list[int]) -> int:
    number = 0
    for c, r in zip(chars, radix, strict=True):
        number = number * r + (int(c) if r == 10 else ord(c) - ord("A"))
    return number


def _decode(number: int, radix: list[int]) -> str:
    out = []
    for r in reversed(radix):
        number, d = divmod(number, r)
        out.append(str(d) if r == 10 else chr(ord("A") + d))
    return "".join(reversed(out))


def iban_(key: Keyed) -> Callable[[str], str]:
    """A valid IBAN of the same country and shape: the account part (letters as
    letters, digits as digits) permuted under the key, walked on until the
    country's own checks pass, and the check digits computed."""

    def fake(value: str) -> str:
        compact = iban.compact(value)
        country, bban = compact[:2], compact[4:]
        if len(compact) < 5 or not all(c in _ALNUM for c in compact):
            return _stand_in(key, "iban", value)
        radix = _radix(bban)
        size = 1
        for r in radix:
            size *= r
        x = _encode(bban, radix)
        out = compact
        for _ in range(1000):  # cycle-walk: the input is valid, so the walk ends
            x = key.permute("iban", x, size, country.encode())
            body = _decode(x, radix)
            out = country + iban.calc_check_digits(country + "00" + body) + body
            if iban.is_valid(out):
                break
        return iban.format(out) if " " in value else out

    return fake


def card(key: Keyed) -> Callable[[str], str]:
    """A Luhn-valid number of the same length and first digit (the card's network),
    separators where the input had them: the digits between the first and the
    check digit permuted under the key, the check digit computed."""

    def fake(value: str) -> str:
        digits = "".join(_DIGIT.findall(value))
        if len(digits) < 3:
            return _stand_in(key, "card", value)
        middle = len(digits) - 2
        permuted = key.permute("card", int(digits[1:-1]), 10**middle, str(middle).encode())
        body = digits[0] + str(permuted).zfill(middle)
        new = iter(body + luhn.calc_check_digit(body))
        return _DIGIT.sub(lambda m: next(new), value)

    return fake


__all__ = ["DEFAULT_REGION", "card", "iban_", "phone"]
