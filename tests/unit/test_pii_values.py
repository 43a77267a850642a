"""``pgferry.pii.values``: the validators of sampled values (no server)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iban, luhn

from pgferry.pii import values
from pgferry.pii.values import Share


def card(prefix: str, length: int = 16) -> str:
    body = prefix + "".join(random.Random(prefix).choice("0123456789") for _ in range(length))
    body = body[: length - 1]
    return body + luhn.calc_check_digit(body)


def an_iban(country: str, bban: str) -> str:
    return country + iban.calc_check_digits(country + "00" + bban) + bban


@pytest.mark.parametrize(
    "value",
    ["ann@example.com", "Ann.Lee+qa@mail.corp.example", "MARY.SMITH@sakilacustomer.org"],
)
def test_emails(value: str) -> None:
    assert values.is_email(value)


@pytest.mark.parametrize(
    "value",
    [
        "ann@",
        "@example.com",
        "ann@example",
        "ann@@example.com",
        "a..b@example.com",
        "ann@example.com and bob@example.com",
        "ann @example.com",
        "x" * 250 + "@example.com",
    ],
)
def test_not_emails(value: str) -> None:
    assert not values.is_email(value)


@pytest.mark.parametrize(
    "value",
    [
        "+44 20 7946 0958",
        "+1 202 456 1111",
        "+1-202-456-1111",
        "(202) 456-1111",
        "030 1234567",
        "06 12 34 56 78",
        "+49 30 1234567",
    ],
)
def test_phone_numbers(value: str) -> None:
    assert values.is_phone(value)


@pytest.mark.parametrize(
    "value",
    [
        "+1-555-0000001",  # 555 is no area code
        "2024-01-15",
        "15.01.2024",
        "10.0.1.2",
        "1234567890",  # bare digits: too often not a phone
        "12345",
        "call 030 1234567",
        "+",
        "SKU-4711",
    ],
)
def test_not_phone_numbers(value: str) -> None:
    assert not values.is_phone(value)


def test_card_numbers_pass_luhn() -> None:
    assert values.is_card("4111111111111111")
    assert values.is_card("4111 1111 1111 1111")
    assert values.is_card("4111-1111-1111-1111")
    assert values.is_card(card("5500", 16))
    assert values.is_card(card("378282", 15))
    assert not values.is_card("4111111111111112")  # the check digit is wrong
    assert not values.is_card("0000000000000000")  # one digit repeated
    assert not values.is_card("411111111111")  # 12 digits
    assert not values.is_card("+4111111111111111")


def test_ibans() -> None:
    assert values.is_iban("DE89370400440532013000")
    assert values.is_iban("DE89 3704 0044 0532 0130 00")
    assert values.is_iban(an_iban("GB", "WEST12345698765432"))
    assert not values.is_iban("DE88370400440532013000")
    assert not values.is_iban("4111111111111111")


def test_ip_addresses() -> None:
    assert values.is_ipv4("10.0.1.2") and not values.is_ipv6("10.0.1.2")
    assert values.is_ipv4("192.168.0.1/24")
    assert values.is_ipv6("2001:db8::1") and not values.is_ipv4("2001:db8::1")
    assert not values.is_ipv4("10.0.1") and not values.is_ipv4("999.0.0.1")


def test_national_identifiers_in_their_written_form() -> None:
    assert values.is_national_id("536-90-4399")  # US SSN
    assert not values.is_national_id("078-05-1120")  # the famous wallet SSN, refused
    assert not values.is_national_id("536904399")  # bare digits: too common
    assert values.is_national_id("390.533.447-05")  # Brazilian CPF
    assert values.is_national_id("54362315K")  # Spanish DNI
    assert not values.is_national_id("54362315A")


def test_a_share_is_strong_only_over_a_high_share() -> None:
    sample = ["ann@example.com"] * 9 + ["n/a"]
    found = values.shares(sample)
    email = values.for_kind(found, "email")
    assert email == Share("email", 9, 10)
    assert str(email) == "email: 9/10 sampled values are emails"
    assert values.strongest(found) == email
    assert values.strongest(values.shares(["ann@example.com"] + ["n/a"] * 9)) is None


def test_digits_that_pass_luhn_by_chance_are_not_cards() -> None:
    rng = random.Random(7)
    sample = [str(rng.randrange(10**15, 10**16)) for _ in range(1000)]
    found = values.shares(sample)
    cards = next(s for s in found if s.validator == "card")
    assert 50 < cards.matched < 150  # about one in ten
    assert values.strongest(found) is None


def test_few_weak_values_are_not_enough() -> None:
    assert values.strongest(values.shares(["4111111111111111"] * 4)) is None
    assert values.strongest(values.shares(["4111111111111111"] * 5)) is not None


@given(st.lists(st.text(), max_size=30))
def test_validators_never_fail(sample: list[str]) -> None:
    found = values.shares(sample)
    assert all(0 <= s.matched <= s.sampled == len(sample) for s in found)


def test_a_share_holds_counts_only() -> None:
    found = values.shares(["secret.person@example.com"])
    assert "secret" not in repr(found) and "secret" not in str(found[0])
    assert found[0].to_dict() == {"validator": "email", "matched": 1, "sampled": 1}
