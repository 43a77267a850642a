"""Masking a COPY text stream row by row, without a round trip through Python values.

libpq hands ``COPY ... TO STDOUT (FORMAT text)`` a row at a time.  A row is its
fields joined by tabs and ended by a newline, each field escaped (a tab, newline
or backslash inside a value is written ``\\t``, ``\\n``, ``\\\\``), so splitting
on tabs is exact.  Only the masked fields are unescaped, passed through their
kind and escaped again; the others go on as the bytes production sent, so a
value is never re-rendered by a client with other settings (issue 14 keeps
the brief's third failure, text through a lossy client, away).  ``\\N`` (NULL)
stays NULL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from .kind import Fake

#: a mask reading a value and its subject's (see pgferry.masking.columns.Shift)
Shift = Callable[[str, str | None], str | None]

RowRewrite = Callable[[bytes], bytes]

_ESCAPE = re.compile(rb"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|(.))", re.DOTALL)
_SIMPLE = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}
_NEEDS = re.compile(rb"[\\\b\f\n\r\t\v]")
_OUT = {b"\\": b"\\\\", b"\b": b"\\b", b"\f": b"\\f", b"\n": b"\\n", b"\r": b"\\r"}
_OUT |= {b"\t": b"\\t", b"\v": b"\\v"}

NULL = b"\\N"


def _unescape_one(match: re.Match[bytes]) -> bytes:
    octal, hexa, other = match.groups()
    if octal is not None:
        return bytes([int(octal, 8) & 0xFF])
    if hexa is not None:
        return bytes([int(hexa, 16)])
    return _SIMPLE.get(other, other)


def unescape(field: bytes) -> bytes:
    """One COPY text field as the value's bytes (every escape COPY FROM reads)."""
    return _ESCAPE.sub(_unescape_one, field) if b"\\" in field else field


def escape(value: bytes) -> bytes:
    """A value's bytes as one COPY text field."""
    return _NEEDS.sub(lambda m: _OUT[m.group()], value) if _NEEDS.search(value) else value


def rewriter(
    columns: Sequence[str],
    fakes: Mapping[str, Fake],
    encoding: str = "utf-8",
    shifts: Mapping[str, tuple[str, Shift]] | None = None,
) -> RowRewrite:
    """A function masking the fields of *fakes*' columns in one COPY text row whose
    fields are *columns*, in order.  *shifts* maps a column to its subject's column
    and a mask that reads both (``date_shift`` with ``by``): the subject's value is
    production's, read before any field of the row is masked."""
    at = [(columns.index(column), fake) for column, fake in fakes.items()]
    by = [(columns.index(c), columns.index(s), f) for c, (s, f) in (shifts or {}).items()]

    def field(value: str | None) -> bytes:
        return NULL if value is None else escape(value.encode(encoding))

    def rewrite(row: bytes) -> bytes:
        body, end = (row[:-1], row[-1:]) if row.endswith(b"\n") else (row, b"")
        fields = body.split(b"\t")
        if by:
            subjects = [fields[s] for _, s, _ in by]
            for (i, _, shift), subject in zip(by, subjects, strict=True):
                if fields[i] != NULL:
                    who = None if subject == NULL else unescape(subject).decode(encoding)
                    fields[i] = field(shift(unescape(fields[i]).decode(encoding), who))
        for i, fake in at:
            if fields[i] != NULL:
                fields[i] = field(fake(unescape(fields[i]).decode(encoding)))
        return b"\t".join(fields) + end

    return rewrite
