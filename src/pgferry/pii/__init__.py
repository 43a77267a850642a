"""Personal data in production: ``pgferry pii scan`` (issue 14 point 6).

:func:`scan` reads production under one read-only snapshot and returns a
:class:`Scan`: each personal column with the masking kind it needs and the
evidence (the name pattern that matched, the share of sampled values that
validate), never a value.  :func:`pgferry.pii.names.match` is the name half
alone, without a database, for strict masking.
"""

from __future__ import annotations

from .names import NameMatch, match
from .scanner import Finding, Scan, scan
from .values import Share

__all__ = ["Finding", "NameMatch", "Scan", "Share", "match", "scan"]
