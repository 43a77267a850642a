"""Rules as pgferry.toml writes them, and the masks built from them (no server)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iban, luhn

from pgferry.errors import ConfigError
from pgferry.masking import Keyed
from pgferry.masking.columns import build, shifter, unique_safe
from pgferry.masking.fakes import fake
from pgferry.masking.rules import Rule, parse, steps

KEY = Keyed(b"0123456789abcdef-rules-key")
OTHER = Keyed(b"0123456789abcdef-other-key")


def test_rules_read_from_strings_and_tables() -> None:
    assert parse("email") == Rule("email")
    assert parse({"fixed": "x"}) == Rule("fixed", "x")
    assert parse({"fixed": 0}) == Rule("fixed", "0")
    assert parse({"date_shift": "30 days", "by": "clientId"}) == Rule(
        "date_shift", "30 days", by="clientId"
    )
    assert parse("date_shift").span_seconds == 30 * 86400
    assert parse({"noise": "10%"}).share == pytest.approx(0.1)
    rule = parse({"json": {"$.phone": "phone", "$.address.street": "street"}})
    assert rule.paths == (("$.phone", Rule("phone")), ("$.address.street", Rule("street")))
    assert str(parse({"fixed": "s3cret"})) == "fixed"  # a rule's text never shows a value


@pytest.mark.parametrize(
    "value",
    [
        3,
        {"fixed": "a", "sql": "b"},
        {"date_shift": "soon"},
        {"date_shift": "0 days"},
        {"noise": 2},
        {"email": "x"},
        {"fixed": "x", "by": "id"},
        {"json": {"phone": "phone"}},
        {"json": {"$.a": {"sql": "1"}}},
        "json",
    ],
)
def test_malformed_rules_say_what_they_should_be(value: object) -> None:
    with pytest.raises(ConfigError):
        parse(value)


def test_json_paths_read_keys_indexes_and_wildcards() -> None:
    assert steps("$.a.b") == ("a", "b")
    assert steps("$.items[*].email") == ("items", None, "email")
    assert steps('$["odd key"][0]') == ("odd key", 0)


def test_unique_safety_is_known_per_kind() -> None:
    assert unique_safe(Rule("email")) and unique_safe(Rule("iban")) and unique_safe(Rule("keep"))
    assert not unique_safe(Rule("name")) and not unique_safe(Rule("fixed", "x"))
    assert not unique_safe(Rule("phone")) and not unique_safe(Rule("null"))


def test_fixed_null_and_keep() -> None:
    assert build(Rule("fixed", "redacted"), KEY)("anything") == "redacted"
    assert build(Rule("null"), KEY)("anything") is None
    assert build(Rule("keep"), KEY)("anything") == "anything"


def test_date_shift_by_subject_keeps_intervals_and_moves_every_date() -> None:
    shift = shifter(parse({"date_shift": "30 days", "by": "clientId"}), KEY)
    a = datetime.fromisoformat(str(shift("2024-01-01 10:00:00+00", "7")))
    b = datetime.fromisoformat(str(shift("2024-03-01 12:30:00+00", "7")))
    assert b - a == datetime(2024, 3, 1, 12, 30) - datetime(2024, 1, 1, 10)
    moved = abs((a - datetime.fromisoformat("2024-01-01 10:00:00+00")).total_seconds())
    assert 0 < moved <= 30 * 86400
    day = date.fromisoformat(str(shift("2024-01-01", "7")))
    assert 0 < abs((day - date(2024, 1, 1)).days) <= 30
    assert shift("infinity", "7") == "infinity"


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_noise_stays_within_its_share_and_keeps_integers_integers(n: int) -> None:
    noisy = build(parse({"noise": 0.1}), KEY)
    out = noisy(str(n))
    assert out is not None and "." not in out
    assert abs(int(out) - n) <= abs(n) * 0.1 + 1
    decimal = noisy(f"{n}.25")
    assert decimal is not None and len(decimal.partition(".")[2]) == 2
    assert abs(Decimal(decimal) - Decimal(f"{n}.25")) <= abs(Decimal(f"{n}.25")) * Decimal("0.1")


def test_json_rules_mask_their_paths_only() -> None:
    mask = build(
        parse({"json": {"$.phone": "phone", "$.items[*].email": "email", "$.pin": "null"}}), KEY
    )
    doc = {"phone": "+44 20 7946 0958", "theme": "dark", "items": [{"email": "a@b.org"}], "pin": 1}
    out = json.loads(str(mask(json.dumps(doc))))
    assert out["theme"] == "dark" and out["pin"] is None
    assert phonenumbers.is_valid_number(phonenumbers.parse(out["phone"]))
    assert out["items"][0]["email"].endswith("@example.com")
    assert mask('{"other": 1}') == '{"other": 1}'


def test_codes_validate_where_their_libraries_say() -> None:
    phone, account, number = fake("phone", KEY), fake("iban", KEY), fake("card", KEY)
    for value in ("+1-555-0000001", "+44 20 7946 0958", "(415) 555-0100", "+49 30 123456"):
        out = str(phone(value))
        assert phonenumbers.is_valid_number(phonenumbers.parse(out, "US")), out
    for value in ("GB82WEST12345698765432", "DE89 3704 0044 0532 0130 00", "BE68539007547034"):
        out = str(account(value))
        assert iban.is_valid(out) and iban.compact(out)[:2] == iban.compact(value)[:2]
        assert len(out) == len(value) and out != value
    for value in ("4111 1111 1111 1111", "378282246310005"):
        out = str(number(value))
        digits = out.replace(" ", "")
        assert luhn.is_valid(digits) and len(out) == len(value) and out[0] == value[0]


def test_distinct_valid_cards_stay_distinct() -> None:
    number = fake("card", KEY)
    bodies = (str(body) for body in range(400000000000, 400000020000))
    out = {number(body + luhn.calc_check_digit(body)) for body in bodies}
    assert len(out) == 20000


def test_a_different_key_changes_every_setting_kind() -> None:
    for rule, value in (
        (parse("date_shift"), "2024-01-01"),
        (parse("noise"), "123456.78"),
        (parse({"json": {"$.e": "email"}}), '{"e": "a@b.org"}'),
    ):
        assert build(rule, KEY)(value) != build(rule, OTHER)(value)
        assert build(rule, KEY)(value) == build(rule, KEY)(value)
