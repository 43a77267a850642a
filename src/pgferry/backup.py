"""Moved to :mod:`pgferry.safety.backup`; this name stays so existing imports
(``from pgferry.backup import ...``, ``from pgferry import backup``) keep working.  Patch
the new module, not this one: it only re-exports."""

from .safety.backup import *  # noqa: F403
from .safety.backup import __all__ as __all__
