"""The COPY text row rewriter (issue 14): exact escaping, NULL kept, untouched
fields passed on byte for byte.  No server needed (tests/test_masking.py runs it
between real servers)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pgferry.masking.rewrite import escape, rewriter, unescape


@given(st.binary())
def test_escape_round_trips_every_value(value: bytes) -> None:
    field = escape(value)
    assert b"\t" not in field and b"\n" not in field
    assert unescape(field) == value


def test_unescape_reads_every_escape_copy_from_reads() -> None:
    assert unescape(rb"a\tb\nc\\d\101\x42\q") == b"a\tb\nc\\dAB" + b"q"


def test_only_masked_fields_change_and_null_stays_null() -> None:
    rewrite = rewriter(["id", "email", "note"], {"email": lambda v: v.upper() + "\t!"})
    assert rewrite(b"1\tann\\tx\tkept \\\\ as\\tis\n") == b"1\tANN\\tX\\t!\tkept \\\\ as\\tis\n"
    assert rewrite(b"2\t\\N\t\\N\n") == b"2\t\\N\t\\N\n"
