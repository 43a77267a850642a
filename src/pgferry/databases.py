"""Moved to :mod:`pgferry.safety.databases`; this name stays so existing imports keep
working.  Patch the new module, not this one: it only re-exports."""

from .safety.databases import *  # noqa: F403
from .safety.databases import __all__ as __all__
