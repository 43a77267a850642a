"""Personal columns told by their names and types alone: no database, no values.

:func:`match` is the conservative half of ``pgferry pii scan`` (its other half
validates sampled values, :mod:`pgferry.pii.values`), and what strict masking
uses to tell which columns must have a rule.  A column name is split into
words whatever its style (``e_mail``, ``passwordHash``, ``EMAIL_ADDRESS``,
``date-of-birth``); it matches a rule when some run of consecutive words spells
one of the rule's names (``e`` + ``mail`` spells ``email``) and every other
word is a harmless qualifier (``billing_email``, ``phone_number_2``).  Any
other word stops the match, so ``email_verified``, ``phone_country_code``,
``address_id`` or ``is_mobile`` are not personal; neither is a type that cannot
hold the data (a boolean ``email``, an array, an enum).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..masking.fakes import KINDS

#: kinds that keep distinct values distinct: the ones a unique or primary-key column takes
#: (masking's own judgement, so a suggestion is never a rule the run then refuses)
UNIQUE_SAFE = frozenset(name for name, kind in KINDS.items() if kind.unique)

# -- types ----------------------------------------------------------------------------

TEXT, INTEGER, NUMBER, DATE, INET, BYTEA = "text", "integer", "number", "date", "inet", "bytea"

_CATEGORIES = {
    TEXT: ("text", "varchar", "character varying", "bpchar", "character", "char", "citext"),
    INTEGER: ("int2", "int4", "int8", "smallint", "integer", "int", "bigint", "numeric"),
    NUMBER: ("decimal", "float4", "float8", "real", "double precision", "money"),
    DATE: (
        "date",
        "timestamp",
        "timestamptz",
        "timestamp without time zone",
        "timestamp with time zone",
    ),
    INET: ("inet", "cidr"),
    BYTEA: ("bytea",),
}
_CATEGORY = {name: category for category, names in _CATEGORIES.items() for name in names}


def category(type_name: str) -> str | None:
    """The family of a type as the rules need it: ``text``, ``integer`` (numbers a
    digit-for-digit mask fits), ``number``, ``date``, ``inet``, ``bytea``, or None
    (booleans, json, uuid, arrays, enums, anything else).  *type_name* may be
    qualified and may carry a modifier: ``pg_catalog.int4``, ``character varying(80)``,
    ``timestamp(3) without time zone``."""
    name = type_name.strip().lower()
    if name.endswith("]") or name.startswith("_"):  # an array: element-wise masks only
        return None
    name = re.sub(r"\([^)]*\)", "", name)
    name = name.rpartition(".")[2].strip('" ')
    return _CATEGORY.get(" ".join(name.split()))


# -- words ----------------------------------------------------------------------------

_PARTS = re.compile(r"[^A-Za-z0-9]+")
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def words(name: str) -> tuple[str, ...]:
    """*name* split into lower-case words: ``passwordHash`` -> (password, hash),
    ``IPAddress`` -> (ip, address), ``address_line1`` -> (address, line, 1)."""
    return tuple(w.lower() for part in _PARTS.split(name) for w in _CAMEL.findall(part))


#: words that qualify a personal column without changing what it holds
QUALIFIERS = frozenset(
    (
        "primary secondary main alt alternate alternative other backup emergency "
        "home work office business personal private public contact billing shipping "
        "delivery invoice postal current previous old new original last "
        "user customer client member owner person employee staff "
        "raw normalized normalised formatted plain full "
        "number num no nr value text str " + " ".join(str(n) for n in range(10))
    ).split()
)

#: table words for people and for companies, singular (``name`` means one of them there)
PEOPLE = frozenset(
    [
        "user",
        "person",
        "people",
        "customer",
        "member",
        "employee",
        "staff",
        "contact",
        "patient",
        "student",
        "teacher",
        "author",
        "subscriber",
        "applicant",
        "candidate",
        "guest",
        "driver",
        "passenger",
        "buyer",
        "seller",
        "profile",
        "lead",
        "recipient",
        "traveler",
        "traveller",
        "worker",
        "volunteer",
    ]
)
COMPANIES = frozenset(
    [
        "client",
        "company",
        "companie",
        "organization",
        "organisation",
        "org",
        "business",
        "supplier",
        "vendor",
        "partner",
        "shipper",
        "merchant",
        "firm",
        "employer",
    ]
)


def _singular(word: str) -> str:
    if word == "people":
        return "person"
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _table_kind(table: str) -> str | None:
    """``company`` for a table of companies, ``name`` for one of people, else None."""
    found = {_singular(w) for w in words(table)}
    if found & COMPANIES:
        return "company"
    if found & PEOPLE:
        return "name"
    return None


# -- rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """Names (as their words run together) that hold one kind of personal data."""

    label: str  # what the name looks like: "an email"
    names: frozenset[str]
    kinds: dict[str, str]  # type category -> the kind suggested for it
    argument: str | None = None  # the kind's setting: fixed's value, date_shift's bound
    qualifiers: frozenset[str] = field(default=QUALIFIERS)


def _rule(
    label: str,
    names: str,
    kinds: dict[str, str],
    argument: str | None = None,
    more: str = "",
) -> Rule:
    return Rule(label, frozenset(names.split()), kinds, argument, QUALIFIERS | set(more.split()))


def _text(kind: str) -> dict[str, str]:
    return {TEXT: kind}


def _digits(kind: str) -> dict[str, str]:
    return {TEXT: kind, INTEGER: "digits"}


_IP = "ip ipaddress ipaddr remoteaddr remoteaddress remoteip clientip"
_IP_MORE = "sign signin signup in login registration registered created updated source "
_IP_MORE += "origin request remote forwarded"

#: in order: the first that matches wins (``email_address`` before ``address``)
RULES: tuple[Rule, ...] = (
    _rule("an email", "email emailaddress emailaddr mail mailaddress", _text("email")),
    _rule(
        "a password",
        "password passwd pwd passphrase",
        {TEXT: "fixed", BYTEA: "fixed"},
        "redacted",
        "hash hashed digest encrypted crypted enc salt bcrypt sha md5",
    ),
    _rule(
        "a birth date",
        "dob birthdate dateofbirth birthday birthdt bornon",
        {DATE: "date_shift", TEXT: "date_shift"},
        "365 days",
    ),
    _rule(
        "a national or tax identifier",
        "ssn socialsecuritynumber socialsecurity nationalid nationalidentifier "
        "nationalidentitynumber nationalinsurancenumber nino nin taxid taxidentifier "
        "taxnumber taxno tin vatid vatnumber vatno ein itin nif nie cpf cnpj bsn "
        "personnummer passport passportnumber driverslicense driverlicense driverslicence "
        "drivinglicence drivinglicense idnumber idcardnumber identitynumber identitycard",
        _digits("digits"),
    ),
    _rule("an IBAN", "iban", _text("iban")),
    _rule("a bank account", "bankaccount bankaccountnumber", _digits("digits")),
    _rule(
        "a card number",
        "cardnumber cardno creditcard creditcardnumber debitcard ccnumber ccnum ccno",
        _digits("card"),
    ),
    _rule("a card number", "cc", _text("card")),  # a number named cc is an engine's
    _rule("a card security code", "cvv cvc cvv2 cvc2 cardcvv cardcvc", _digits("digits")),
    _rule(
        "a phone number",
        "phone telephone tel mobile mobilephone cellphone cellnumber fax msisdn phonenumber "
        "mobilenumber telno telnumber faxnumber whatsapp",
        _digits("phone"),
    ),
    _rule("a first name", "firstname fname givenname forename middlename", _text("first_name")),
    _rule("a last name", "lastname lname surname familyname maidenname", _text("last_name")),
    _rule(
        "a company name",
        "company companyname organization organisation organizationname organisationname "
        "orgname employer employername businessname",
        _text("company"),
    ),
    _rule(
        "a person's name",
        "fullname displayname contactname realname legalname personname customername "
        "membername employeename patientname holdername cardholdername cardholder "
        "recipientname sendername username",
        _text("name"),
    ),
    _rule("an IPv6 address", "ipv6 ipv6address", {TEXT: "ipv6", INET: "ipv6"}, more=_IP_MORE),
    _rule("an IP address", _IP + " ipv4 ipv4address", {TEXT: "ipv4", INET: "ipv4"}, more=_IP_MORE),
    _rule(
        "a street address",
        "street streetaddress streetname address addr addressline houseaddress",
        _text("street"),
        more="line",
    ),
    _rule("a city", "city town cityname hometown", _text("city")),
    _rule(
        "a postcode",
        "zip zipcode postcode postalcode plz",
        _digits("postcode"),
    ),
    _rule("a country", "country countrycode countryname nationality", _text("country")),
    _rule(
        "a web address",
        "website homepage webpage websiteurl homepageurl profileurl personalurl",
        _text("url"),
    ),
    _rule(
        "free text",
        "notes note comment comments bio biography about aboutme remarks remark memo",
        _text("lorem"),
        more="internal admin additional extra order delivery customer",
    ),
    _rule("a salary", "salary salaries income wage wages", {INTEGER: "noise", NUMBER: "noise"}),
)

#: names that are personal only in a table of people or companies
_BY_TABLE = {"name": "name", "url": "url"}


@dataclass(frozen=True)
class NameMatch:
    """A column whose name (or type) says it holds personal data."""

    kind: str  #: the masking kind to suggest
    pattern: str  #: the evidence, for a person: 'name looks like an email ("e_mail")'
    argument: str | None = None  #: the kind's setting (``fixed``'s value, ``date_shift``'s)


def _spells(found: tuple[str, ...], names: frozenset[str], qualifiers: frozenset[str]) -> bool:
    """Whether consecutive words of *found* spell one of *names* and the rest qualify."""
    for start in range(len(found)):
        for end in range(start + 1, len(found) + 1):
            if "".join(found[start:end]) in names and all(
                w in qualifiers for w in found[:start] + found[end:]
            ):
                return True
    return False


def match(table: str, column: str, type_name: str) -> NameMatch | None:
    """The masking kind *column* of *table* needs, told by its name and type, or None.

    *type_name* is the column's type (a domain's base type), as ``format_type``
    writes it or as ``pg_type`` names it.  A ``name`` (or ``url``) column counts
    only in a table of people (``users``, ``customers``: ``name``) or companies
    (``clients``, ``companies``, ``organizations``: ``company``).  An ``inet``
    column holds IP addresses whatever its name.
    """
    cat = category(type_name)
    if cat is None:
        return None
    found = words(column)
    for rule in RULES:
        kind = rule.kinds.get(cat)
        if kind is not None and _spells(found, rule.names, rule.qualifiers):
            return NameMatch(kind, f'name looks like {rule.label} ("{column}")', rule.argument)
    if cat == TEXT and len(found) == 1 and found[0] in _BY_TABLE:
        table_kind = _table_kind(table)
        if table_kind is not None:
            kind = table_kind if found[0] == "name" else "url"
            whose = "companies" if table_kind == "company" else "people"
            return NameMatch(kind, f'{found[0]} in a table of {whose} ("{table}.{column}")')
    if cat == INET and type_name.strip().lower().rpartition(".")[2] == "inet":
        return NameMatch("ipv4", f'type inet holds IP addresses ("{column}")')
    return None


def unique_safe(kind: str, type_name: str) -> str:
    """*kind*, or a kind that keeps distinct values distinct (``hash`` for text,
    ``digits`` for numbers) when a unique or primary-key column needs one."""
    if kind in UNIQUE_SAFE:
        return kind
    cat = category(type_name)
    if cat in (TEXT, BYTEA):
        return "hash"
    if cat in (INTEGER, NUMBER):
        return "digits"
    return kind
