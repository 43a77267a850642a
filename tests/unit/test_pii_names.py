"""``pgferry.pii.names``: personal columns told by name and type alone (no server)."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgferry.pii import names, toml
from pgferry.pii.names import NameMatch, match

#: (table, column, type) -> the kind suggested
PERSONAL = [
    ("users", "email", "text", "email"),
    ("users", "e_mail", "text", "email"),
    ("users", "e-mail", "character varying(255)", "email"),
    ("users", "EMAIL_ADDRESS", "varchar", "email"),
    ("users", "emailAddress", "citext", "email"),
    ("users", "billing_email", "text", "email"),
    ("users", "passwordHash", "text", "fixed"),
    ("users", "password_digest", "text", "fixed"),
    ("users", "encrypted_password", "character varying", "fixed"),
    ("users", "dob", "date", "date_shift"),
    ("users", "birth_date", "date", "date_shift"),
    ("users", "dateOfBirth", "timestamp(3) without time zone", "date_shift"),
    ("users", "ssn", "text", "digits"),
    ("users", "taxId", "text", "digits"),
    ("users", "national_id", "text", "digits"),
    ("users", "ssn", "int8", "digits"),
    ("accounts", "iban", "text", "iban"),
    ("cards", "card_number", "text", "card"),
    ("cards", "cc", "text", "card"),
    ("cards", "cardNumber", "numeric", "digits"),
    ("users", "tel", "text", "phone"),
    ("users", "phone", "text", "phone"),
    ("users", "mobile", "text", "phone"),
    ("users", "PHONE_NUMBER", "text", "phone"),
    ("users", "home_phone", "text", "phone"),
    ("users", "phone_2", "text", "phone"),
    ("users", "phone", "bigint", "digits"),
    ("users", "first_name", "text", "first_name"),
    ("users", "firstName", "text", "first_name"),
    ("users", "fname", "text", "first_name"),
    ("users", "given_name", "text", "first_name"),
    ("users", "last_name", "text", "last_name"),
    ("users", "LastName", "text", "last_name"),
    ("users", "surname", "text", "last_name"),
    ("users", "full_name", "text", "name"),
    ("users", "name", "text", "name"),
    ("customers", "name", "text", "name"),
    ("people", "name", "text", "name"),
    ("user_profiles", "name", "text", "name"),
    ("clients", "name", "text", "company"),
    ("companies", "name", "text", "company"),
    ("organizations", "name", "varchar(80)", "company"),
    ("public.clients", "name", "text", "company"),
    ("users", "company", "text", "company"),
    ("customers", "company_name", "text", "company"),
    ("users", "street", "text", "street"),
    ("users", "address", "text", "street"),
    ("users", "address_line1", "text", "street"),
    ("users", "addressLine2", "text", "street"),
    ("address", "address2", "text", "street"),
    ("users", "city", "text", "city"),
    ("users", "zip", "text", "postcode"),
    ("users", "postcode", "text", "postcode"),
    ("users", "postal_code", "character varying(10)", "postcode"),
    ("users", "country", "text", "country"),
    ("users", "ip", "text", "ipv4"),
    ("users", "ip_address", "text", "ipv4"),
    ("users", "remote_addr", "text", "ipv4"),
    ("users", "last_ip", "inet", "ipv4"),
    ("users", "current_sign_in_ip", "inet", "ipv4"),
    ("users", "ipv6", "text", "ipv6"),
    ("sessions", "peer", "inet", "ipv4"),  # an inet column holds addresses whatever its name
    ("users", "password", "bytea", "fixed"),
    ("orders", "notes", "text", "lorem"),
    ("users", "comment", "text", "lorem"),
    ("users", "bio", "text", "lorem"),
    ("users", "website", "text", "url"),
    ("companies", "url", "text", "url"),
    ("employees", "salary", "numeric(10,2)", "noise"),
]

#: columns that are not personal, or whose type cannot hold what the name says
NOT_PERSONAL = [
    ("users", "id", "integer"),
    ("users", "createdAt", "timestamp(3) without time zone"),
    ("orders", "status", "text"),
    ("products", "sku", "text"),
    ("products", "price", "numeric(12,2)"),
    ("products", "name", "text"),  # a product's name is no one's
    ("category", "name", "text"),
    ("products", "url", "text"),
    ("products", "title", "text"),
    ("products", "description", "text"),
    ("users", "email_verified", "boolean"),
    ("users", "emailVerified", "text"),
    ("users", "email_count", "integer"),
    ("users", "is_mobile", "boolean"),
    ("users", "phone_country_code", "text"),
    ("customer", "address_id", "integer"),
    ("devices", "mac_address", "text"),
    ("users", "password_reset_token", "text"),
    ("users", "passwordChangedAt", "timestamptz"),
    ("hotels", "hotel", "text"),
    ("users", "clientId", "integer"),
    ("users", "settings", "jsonb"),
    ("users", "email", "jsonb"),
    ("users", "emails", "text[]"),
    ("users", "email", "_text"),
    ("users", "uuid", "uuid"),
    ("engines", "cc", "integer"),
    ("networks", "range", "cidr"),
    ("users", "lastLoginAt", "timestamptz"),
    ("orders", "status", 'public."OrderStatus"'),
    ("users", "dob", "integer"),
]


@pytest.mark.parametrize(("table", "column", "type_name", "kind"), PERSONAL)
def test_personal_names_suggest_a_kind(table: str, column: str, type_name: str, kind: str) -> None:
    found = match(table, column, type_name)
    assert found is not None, (table, column, type_name)
    assert found.kind == kind
    assert f'"{column}"' in found.pattern or f'.{column}"' in found.pattern


@pytest.mark.parametrize(("table", "column", "type_name"), NOT_PERSONAL)
def test_other_names_do_not_match(table: str, column: str, type_name: str) -> None:
    assert match(table, column, type_name) is None


def test_the_evidence_reads_as_a_sentence() -> None:
    assert match("users", "e_mail", "text") == NameMatch(
        "email", 'name looks like an email ("e_mail")'
    )
    assert match("clients", "name", "text") == NameMatch(
        "company", 'name in a table of companies ("clients.name")'
    )
    assert match("users", "passwordHash", "text") == NameMatch(
        "fixed", 'name looks like a password ("passwordHash")', "redacted"
    )
    assert match("users", "dob", "date") == NameMatch(
        "date_shift", 'name looks like a birth date ("dob")', "365 days"
    )


def test_words_split_every_style() -> None:
    assert names.words("passwordHash") == ("password", "hash")
    assert names.words("IPAddress") == ("ip", "address")
    assert names.words("EMAIL_ADDRESS") == ("email", "address")
    assert names.words("address_line1") == ("address", "line", "1")
    assert names.words("date-of-birth") == ("date", "of", "birth")
    assert names.words("lastIP") == ("last", "ip")


def test_categories_read_every_spelling_of_a_type() -> None:
    assert names.category("pg_catalog.int4") == names.INTEGER
    assert names.category("character varying(80)") == names.TEXT
    assert names.category("timestamp(3) with time zone") == names.DATE
    assert names.category("public.citext") == names.TEXT
    assert names.category("text[]") is None
    assert names.category("boolean") is None


def test_unique_columns_get_a_kind_that_keeps_values_apart() -> None:
    assert names.unique_safe("email", "text") == "email"
    assert names.unique_safe("name", "text") == "hash"
    assert names.unique_safe("fixed", "character varying(60)") == "hash"
    assert names.unique_safe("noise", "numeric") == "digits"
    assert names.unique_safe("date_shift", "date") == "date_shift"  # nothing safer fits


#: the kinds masking knows (issue 14 point 1)
KINDS = {
    *("keep", "null", "fixed", "sql", "hash", "email", "name", "first_name", "last_name", "ip"),
    *("company", "phone", "street", "city", "postcode", "country", "ipv4", "ipv6", "url"),
    *("uuid", "iban", "card", "lorem", "digits", "date_shift", "noise"),
}
_IDENT = st.text(min_size=1)
_TYPES = st.sampled_from(["text", "integer", "date", "inet", "bytea", "numeric", "jsonb"])


@given(table=_IDENT, column=_IDENT, type_name=_TYPES)
def test_match_never_fails_and_suggests_a_known_kind(
    table: str, column: str, type_name: str
) -> None:
    found = match(table, column, type_name)
    if found is not None:
        assert found.kind in KINDS
        assert names.unique_safe(found.kind, type_name) in KINDS


def test_every_rule_suggests_known_kinds() -> None:
    assert {k for r in names.RULES for k in r.kinds.values()} <= KINDS
    assert names.UNIQUE_SAFE <= KINDS
    assert "phone" not in names.UNIQUE_SAFE  # masking refuses phone on a unique column


@given(column=_IDENT, kind=st.sampled_from(["email", "fixed", "date_shift"]))
def test_the_toml_block_parses_back_to_the_same_rules(column: str, kind: str) -> None:
    argument = {"fixed": 'red"acted\\', "date_shift": "365 days"}.get(kind)
    block = toml.render([toml.Line('public.Odd "table"', column, kind, argument, "a\nb")])
    parsed = tomllib.loads(block)
    rule = parsed["mask"]['public.Odd "table"'][column]
    assert rule == (kind if argument is None else {kind: argument})


def test_bare_keys_stay_bare() -> None:
    block = toml.render(
        [
            toml.Line("public.users", "email", "email"),
            toml.Line("public.users", "passwordHash", "fixed", "redacted"),
            toml.Line("public.users", "date of birth", "date_shift", "365 days"),
        ]
    )
    assert block == (
        '[mask."public.users"]\n'
        'email = "email"\n'
        'passwordHash = { fixed = "redacted" }\n'
        '"date of birth" = { date_shift = "365 days" }\n'
    )
