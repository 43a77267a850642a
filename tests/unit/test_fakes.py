"""Unique-safe masking kinds (issue 14): valid output, the same on every run,
and distinct inputs kept distinct.  No server needed."""

from __future__ import annotations

import ipaddress
import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgferry.masking import Keyed
from pgferry.masking.fakes import KINDS, fake

KEY = Keyed(b"0123456789abcdef-test-key")
OTHER = Keyed(b"0123456789abcdef-other-key")


def test_every_kind_is_deterministic_and_key_sensitive() -> None:
    samples = {
        "hash": "secret",
        "email": "Ann@Example.org",
        "digits": "+44 20 7946 0958",
        "uuid": "6fa459ea-ee8a-3ca4-894e-db77e160355e",
        "ip": "192.168.1.20/24",
        "ipv4": "10.0.0.1",
        "ipv6": "2001:db8::1",
        "phone": "+44 20 7946 0958",
        "iban": "GB82 WEST 1234 5698 7654 32",
        "card": "4111 1111 1111 1111",
        "name": "Ann Smith",
        "first_name": "Ann",
        "last_name": "Smith",
        "company": "Acme Trading Ltd",
        "street": "12 High Street",
        "city": "Leeds",
        "country": "France",
        "postcode": "SW1A 1AA",
        "lorem": "called the client about the late delivery of their order",
        "url": "https://acme.example/account/42",
    }
    assert set(samples) == set(KINDS)
    for kind, value in samples.items():
        ours = fake(kind, KEY)(value)
        assert ours == fake(kind, Keyed(b"0123456789abcdef-test-key"))(value)
        assert ours != fake(kind, OTHER)(value)
        assert ours != value


def test_one_hundred_thousand_distinct_emails_stay_distinct_and_valid() -> None:
    email = fake("email", KEY)
    out = {email(f"person{i}@corp.example") for i in range(100_000)}
    assert len(out) == 100_000
    assert all(re.fullmatch(r"user\.[0-9a-f]{32}@example\.com", e) for e in out)


def test_email_ignores_case_and_surrounding_space() -> None:
    email = fake("email", KEY)
    assert email("Ann@Example.org") == email(" ann@example.ORG ")


@given(st.from_regex(r"[0-9a-z +().-]{0,30}", fullmatch=True))
def test_digits_keeps_shape_and_leading_zeros(value: str) -> None:
    out = fake("digits", KEY)(value)
    assert re.sub(r"[0-9]", "9", out) == re.sub(r"[0-9]", "9", value)
    runs = zip(re.findall("[0-9]+", value), re.findall("[0-9]+", out), strict=True)
    assert all((a[0] == "0") == (b[0] == "0") for a, b in runs)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_digits_is_a_bijection_per_width(width: int) -> None:
    digits = fake("digits", KEY)
    every = [str(n).zfill(width) for n in range(10**width)]
    assert sorted(digits(v) for v in every) == sorted(every)


def test_uuid_and_ip_are_valid_and_distinct() -> None:
    to_uuid, to_ip = fake("uuid", KEY), fake("ip", KEY)
    uuids = [str(uuid.UUID(int=i)) for i in range(2000)]
    assert len({uuid.UUID(to_uuid(u)) for u in uuids}) == 2000
    ips = [str(ipaddress.IPv4Address(i)) for i in range(2000)]
    assert len({ipaddress.IPv4Address(to_ip(a)) for a in ips}) == 2000
    assert isinstance(ipaddress.ip_address(to_ip("2001:db8::1")), ipaddress.IPv6Address)
    assert to_ip("10.0.0.1/8").endswith("/8")
    with pytest.raises(ValueError):
        to_uuid("not a uuid")
