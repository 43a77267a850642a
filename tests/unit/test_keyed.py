"""The keyed building blocks of masking (issue 14): deterministic, key-sensitive,
and a true bijection wherever a unique column depends on it.  No server needed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgferry.errors import ConfigError, ExitCode
from pgferry.masking import Keyed

KEY = Keyed(b"0123456789abcdef-test-key")
OTHER = Keyed(b"0123456789abcdef-other-key")


@pytest.mark.parametrize("n", [1, 2, 3, 10, 97, 256, 1000, 4097])
def test_permute_is_a_bijection_of_the_whole_range(n: int) -> None:
    images = [KEY.permute("digits", x, n) for x in range(n)]
    assert sorted(images) == list(range(n))
    assert [KEY.unpermute("digits", y, n) for y in images] == list(range(n))


@given(st.integers(min_value=2, max_value=2**64), st.data())
def test_permute_round_trips_on_large_ranges(n: int, data: st.DataObject) -> None:
    x = data.draw(st.integers(min_value=0, max_value=n - 1))
    y = KEY.permute("ipv4", x, n, tweak=b"t")
    assert 0 <= y < n
    assert KEY.unpermute("ipv4", y, n, tweak=b"t") == x


def test_same_key_same_output_and_other_key_or_kind_differs() -> None:
    again = Keyed(b"0123456789abcdef-test-key")
    xs = range(1000)
    ours = [KEY.permute("digits", x, 10**6) for x in xs]
    assert ours == [again.permute("digits", x, 10**6) for x in xs]
    assert ours != [OTHER.permute("digits", x, 10**6) for x in xs]
    assert ours != [KEY.permute("card", x, 10**6) for x in xs]
    assert ours != [KEY.permute("digits", x, 10**6, tweak=b"7") for x in xs]
    assert KEY.digest("email", "a@b.c") == again.digest("email", "a@b.c")
    assert KEY.digest("email", "a@b.c") != OTHER.digest("email", "a@b.c")
    assert KEY.digest("email", "a@b.c") != KEY.digest("name", "a@b.c")


def test_permutation_moves_most_values() -> None:
    n = 10**6
    fixed = sum(KEY.permute("digits", x, n) == x for x in range(10_000))
    assert fixed < 5


def test_integer_stays_in_range_and_spreads() -> None:
    picks = [KEY.integer("name", f"user{i}", 50) for i in range(5000)]
    assert set(picks) == set(range(50))
    with pytest.raises(ValueError):
        KEY.integer("name", "x", 0)


def test_out_of_range_input_is_refused() -> None:
    with pytest.raises(ValueError):
        KEY.permute("digits", 10, 10)
    with pytest.raises(ValueError):
        KEY.unpermute("digits", -1, 10)


def test_missing_or_short_key_is_a_usage_error_that_names_the_variable() -> None:
    with pytest.raises(ConfigError) as missing:
        Keyed.from_env("PGFERRY_MASK_KEY", environ={})
    assert "PGFERRY_MASK_KEY" in str(missing.value)
    assert missing.value.exit_code == ExitCode.USAGE
    with pytest.raises(ConfigError) as short:
        Keyed.from_env("K", environ={"K": "hunter2"})
    assert "hunter2" not in str(short.value) and "hunter2" not in (short.value.hint or "")
    assert "hunter2" not in repr(Keyed.from_env("K", environ={"K": "hunter2-is-long-enough"}))
