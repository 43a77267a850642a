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

from ..errors import CopyFailed
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


#: Per masked column, the masks of the last values seen are kept, field for field:
#: columns whose values repeat (a status, a city, ``orders.notes``) then cost one
#: dictionary look-up a row instead of unescaping, masking and escaping again.  A
#: mask is a function of the value alone, so a kept one is the one it would give.
#: At most this many fields a column are kept (then they are dropped and kept
#: anew), each at most :data:`MEMO_LONGEST` bytes: a few MB a column at worst.
MEMO_ENTRIES = 4096
MEMO_LONGEST = 256


def rewriter(
    columns: Sequence[str],
    fakes: Mapping[str, Fake],
    encoding: str = "utf-8",
    shifts: Mapping[str, tuple[str, Shift]] | None = None,
    *,
    table: str = "",
    kinds: Mapping[str, str] | None = None,
) -> RowRewrite:
    """A function masking the fields of *fakes*' columns in one COPY text row whose
    fields are *columns*, in order.  *shifts* maps a column to its subject's column
    and a mask that reads both (``date_shift`` with ``by``): the subject's value is
    production's, read before any field of the row is masked.

    A mask that fails on a value (an ``ip`` rule meeting a host name) stops the
    copy with :class:`~pgferry.errors.CopyFailed` naming *table*, the column and
    its kind (*kinds*), never the value: the error is shown, written to the
    report and sent to QA's server as the COPY's failure reason."""
    said = dict(kinds or {})

    def failed(column: str) -> CopyFailed:
        kind = said.get(column, "its rule")
        where = f"{table}.{column}" if table else column
        return CopyFailed(
            f"masking {where} as {kind} failed on a value that is not what {kind} masks "
            "(the value is not shown)",
            hint=f"pick a rule that fits every value of {where} (hash fits any), then rerun; "
            "QA keeps this table empty",
            table=table or None,
            column=column,
        )

    last = len(columns) - 1
    by = [(columns.index(c), columns.index(s), f) for c, (s, f) in (shifts or {}).items()]
    shifted = {columns.index(c): c for c in shifts or {}}

    def field(value: str | None) -> bytes:
        return NULL if value is None else escape(value.encode(encoding))

    def masker(column: str, fake: Fake) -> Callable[[bytes], bytes]:
        memo: dict[bytes, bytes] = {}

        def mask(raw: bytes) -> bytes:
            out = memo.get(raw)
            if out is None:
                try:
                    out = field(fake(unescape(raw).decode(encoding)))
                except Exception:  # its message may hold the value: never passed on
                    raise failed(column) from None
                if len(raw) <= MEMO_LONGEST:
                    if len(memo) >= MEMO_ENTRIES:
                        memo.clear()
                    memo[raw] = out
            return out

        return mask

    at = [(columns.index(c), masker(c, f)) for c, f in fakes.items()]
    # the row's newline stays on its last field: only a mask of that field sees it
    inner = [(i, mask) for i, mask in at if i != last]
    outer = [mask for i, mask in at if i == last]
    # the fields after the last one read are left as one piece, never split apart
    reach = max([i for i, _ in at], default=-1)
    limit = reach + 1 if reach < last and not by else -1

    def rewrite(row: bytes) -> bytes:
        fields = row.split(b"\t", limit)
        changed = False
        if by:
            body = fields if not row.endswith(b"\n") else [*fields[:-1], fields[-1][:-1]]
            subjects = [body[s] for _, s, _ in by]
            for (i, _, shift), subject in zip(by, subjects, strict=True):
                if body[i] != NULL:
                    who = None if subject == NULL else unescape(subject).decode(encoding)
                    try:
                        body[i] = field(shift(unescape(body[i]).decode(encoding), who))
                    except Exception:  # its message may hold the value: never passed on
                        raise failed(shifted[i]) from None
                    changed = True
            fields = body if body is fields else [*body[:-1], body[-1] + b"\n"]
        for i, mask in inner:
            raw = fields[i]
            if raw != NULL:
                fields[i] = mask(raw)
                changed = True
        for mask in outer:
            end = fields[last]
            raw, newline = (end[:-1], b"\n") if end.endswith(b"\n") else (end, b"")
            if raw != NULL:
                fields[last] = mask(raw) + newline
                changed = True
        # a row whose masked fields are all NULL goes on as it came
        return b"\t".join(fields) if changed else row

    return rewrite
