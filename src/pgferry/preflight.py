"""Moved to :mod:`pgferry.safety.preflight`; this name stays so existing imports
(``from pgferry.preflight import ...``, ``from pgferry import preflight``) keep working.  Patch
the new module, not this one: it only re-exports."""

from .safety.preflight import *  # noqa: F403
from .safety.preflight import __all__ as __all__
