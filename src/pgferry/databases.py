"""Moved to :mod:`pgferry.safety.databases`.  This name stays for existing imports: it *is*
that module (``pgferry.databases is pgferry.safety.databases``), so every name it holds and a
patch of one work as before."""

import sys

from .safety import databases as _moved
from .safety.databases import *  # noqa: F403  (for type checkers, which do not follow the alias)

sys.modules[__name__] = _moved
