"""Keyed, deterministic building blocks that every masking kind is made of.

One secret (read from the environment variable the ``[mask] key_env`` setting
names, never from the config file or a flag, so it stays out of shell history,
reports and server logs) yields one independent subkey per kind through
HMAC-SHA256 with a versioned domain label.  The same secret and input give the
same output on every run and every machine, which is what keeps joins intact:
``clients.email`` and ``users.email`` masked with the same kind and key agree.

:meth:`Keyed.permute` is a bijection on ``range(n)``: a balanced Feistel
network whose round function is HMAC-SHA256, with cycle-walking to stay inside
``n``.  A bijection is what keeps a unique column unique after masking (issue
14: "keeps keys unique").  Format-preserving encryption (NIST FF1) would do the
same job; the ``cryptography`` package does not ship FF1, and a Feistel network
over the standard library's HMAC is twenty lines with a test of every value,
so it is written here rather than pulled in from an unmaintained FF1 package.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

from ..errors import ConfigError

#: a secret shorter than this is refused: 16 bytes is 128 bits of key
MIN_KEY_BYTES = 16

#: bump when any derivation changes, so old and new masks never silently mix
DOMAIN = b"pgferry-mask-v1/"

_ROUNDS = 10


class Keyed:
    """Deterministic keyed functions of one secret.  Never prints the secret."""

    # the derived keys are kept once made: a masked million-row table asked for the
    # same subkey (one more HMAC) with every value
    __slots__ = ("_permute_keys", "_secret", "_subkeys")

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_KEY_BYTES:
            raise ConfigError(
                f"the masking key is {len(secret)} bytes long; it needs at least {MIN_KEY_BYTES}",
                hint="generate one with: python -c 'import secrets; print(secrets.token_hex(32))'",
            )
        self._secret = secret
        self._subkeys: dict[str, bytes] = {}
        self._permute_keys: dict[tuple[str, bytes], bytes] = {}

    @classmethod
    def from_env(cls, name: str, environ: Mapping[str, str] | None = None) -> Keyed:
        """The key held in environment variable *name* (as text, UTF-8 encoded)."""
        value = (os.environ if environ is None else environ).get(name)
        if not value:
            raise ConfigError(
                f"masking needs a key in environment variable {name}, which is not set",
                hint=(
                    f"set {name} to a secret kept outside the repository, e.g. "
                    f"export {name}=$(python -c 'import secrets; print(secrets.token_hex(32))')"
                ),
            )
        return cls(value.encode())

    def __repr__(self) -> str:
        return "Keyed(<secret>)"

    def subkey(self, kind: str) -> bytes:
        """The independent key of one masking *kind* (e.g. ``"email"``)."""
        found = self._subkeys.get(kind)
        if found is None:
            found = hmac.digest(self._secret, DOMAIN + kind.encode(), hashlib.sha256)
            self._subkeys[kind] = found
        return found

    def digest(self, kind: str, value: str | bytes) -> bytes:
        """32 bytes that depend on *kind*, *value* and the secret, and nothing else."""
        data = value.encode() if isinstance(value, str) else value
        subkey = self._subkeys.get(kind) or self.subkey(kind)
        return hmac.digest(subkey, data, hashlib.sha256)

    def integer(self, kind: str, value: str | bytes, n: int) -> int:
        """A number in ``range(n)`` chosen by *value*: for picking from word lists.

        Reduced from 256 bits, so the bias towards small numbers is below 2**-200.
        """
        if n < 1:
            raise ValueError("n must be at least 1")
        return int.from_bytes(self.digest(kind, value), "big") % n

    def permute(self, kind: str, x: int, n: int, tweak: bytes = b"") -> int:
        """The image of *x* under a keyed bijection of ``range(n)``.

        Distinct *x* give distinct results, so masking a unique column with it keeps
        the column unique.  *tweak* selects an independent permutation (e.g. one per
        digit count).
        """
        return self._walk(kind, x, n, tweak, forward=True)

    def unpermute(self, kind: str, y: int, n: int, tweak: bytes = b"") -> int:
        """The inverse of :meth:`permute` (for tests and for reading masks back)."""
        return self._walk(kind, y, n, tweak, forward=False)

    def _walk(self, kind: str, x: int, n: int, tweak: bytes, *, forward: bool) -> int:
        """The Feistel network on the smallest even bit width holding ``range(n)``,
        cycle-walked until the result falls inside it (a few steps at most: the
        width holds fewer than four times *n* values)."""
        if not 0 <= x < n:
            raise ValueError(f"{x} is outside range({n})")
        if n == 1:
            return 0
        half = max(1, ((n - 1).bit_length() + 1) // 2)
        key = self._permute_keys.get((kind, tweak))
        if key is None:
            key = hmac.digest(self.subkey(kind), b"permute/" + tweak, hashlib.sha256)
            self._permute_keys[(kind, tweak)] = key
        x = _feistel(key, x, half, forward=forward)
        while x >= n:
            x = _feistel(key, x, half, forward=forward)
        return x


def _round(key: bytes, number: int, value: int, half: int) -> int:
    data = bytes([number]) + value.to_bytes((half + 7) // 8 or 1, "big")
    return int.from_bytes(hmac.digest(key, data, hashlib.sha256), "big") & ((1 << half) - 1)


def _feistel(key: bytes, x: int, half: int, *, forward: bool) -> int:
    """One pass of a balanced Feistel network on ``2 * half`` bits."""
    mask = (1 << half) - 1
    left, right = x >> half, x & mask
    if forward:
        for number in range(_ROUNDS):
            left, right = right, left ^ _round(key, number, right, half)
    else:
        for number in reversed(range(_ROUNDS)):
            left, right = right ^ _round(key, number, left, half), left
    return (left << half) | right
