"""Deterministic masking (issue 14): the keyed building blocks first.

Only :mod:`pgferry.masking.keyed` has landed so far; the fake kinds, the ``[mask]``
rules and the COPY row rewriter build on it.
"""

from __future__ import annotations

from .keyed import MIN_KEY_BYTES, Keyed

__all__ = ["MIN_KEY_BYTES", "Keyed"]
