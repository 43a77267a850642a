"""Moved to :mod:`pgferry.safety.restore`; this name stays so existing imports
(``from pgferry.restore import ...``, ``from pgferry import restore``) keep working.  Patch
the new module, not this one: it only re-exports."""

from .safety.restore import *  # noqa: F403
from .safety.restore import __all__ as __all__
