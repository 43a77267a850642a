"""doctor's parser over the messages PostgreSQL 18 and 15 printed through psql (frozen)."""

from __future__ import annotations

from typing import Any

import pytest

from pgferry.doctor.messages import Kind, normalise, recognise
from tests.unit.frozen import messages

EXPECTED: dict[str, tuple[Kind, str | None, dict[str, Any]]] = {
    "unique": (
        Kind.UNIQUE,
        "23505",
        {"constraint": "Order_pkey", "columns": ("id",), "key_values": "5"},
    ),
    "unique_email": (
        Kind.UNIQUE,
        "23505",
        {"constraint": "clients_email_key", "key_values": "one@example.com"},
    ),
    "foreign_key": (
        Kind.FOREIGN_KEY,
        "23503",
        {"table": "Order", "ref_table": "clients", "constraint": "Order_clientId_fkey"},
    ),
    "still_referenced": (
        Kind.STILL_REFERENCED,
        "23503",
        {"table": "Order", "ref_table": "clients", "key_values": "1"},
    ),
    "missing_table": (Kind.MISSING_TABLE, "42P01", {"table": "AuditLog"}),
    "missing_column": (
        Kind.MISSING_COLUMN,
        "42703",
        {"table": "Order", "columns": ("couponCode",)},
    ),
    "missing_column_alias": (Kind.MISSING_COLUMN, "42703", {"columns": ("couponCode",)}),
    "enum": (Kind.ENUM, "22P02", {"value": "AUDITOR", "type_name": '"OrderStatus"'}),
    "datetime_range": (Kind.DATETIME, "22008", {"value": "25/12/2023 10:00"}),
    "datetime_syntax": (
        Kind.DATETIME,
        "22007",
        {"value": "2024-13-45T99", "type_name": "timestamp"},
    ),
    "integer_syntax": (Kind.INPUT_SYNTAX, "22P02", {"value": "SKU-17", "type_name": "integer"}),
}


@pytest.mark.parametrize("side", ["prod", "qa"])
@pytest.mark.parametrize("situation", sorted(EXPECTED))
def test_the_servers_own_wording_is_recognised(side: str, situation: str) -> None:
    text = messages(side)[situation]
    assert text.startswith("ERROR:"), text  # really provoked, not an empty capture
    kind, code, names = EXPECTED[situation]
    s = recognise(text)
    assert s is not None, text
    assert (s.kind, s.code) == (kind, code)
    for key, value in names.items():
        assert getattr(s, key) == value, (key, s)
    assert s.to_dict()["kind"] == kind.value


def test_a_setting_the_older_server_lacks() -> None:
    assert messages("prod")["transaction_timeout"] == ""  # PostgreSQL 18 knows it
    s = recognise(messages("qa")["transaction_timeout"])
    assert s is not None and s.kind is Kind.TRANSACTION_TIMEOUT and s.kind.is_tool


def test_both_servers_word_the_data_errors_alike() -> None:
    prod, qa = messages("prod"), messages("qa")
    for situation in EXPECTED:
        a, b = recognise(prod[situation]), recognise(qa[situation])
        assert a is not None and b is not None
        assert a.to_dict() == b.to_dict(), situation


def test_normalise_strips_colour_and_escapes() -> None:
    text = messages("qa")["unique"]
    coloured = "\x1b[31m" + text.replace('"', '\\"') + "\x1b[39m"
    assert recognise(normalise(coloured)) == recognise(text)
