"""Moved to :mod:`pgferry.safety.backup`.  This name stays for existing imports: it *is*
that module (``pgferry.backup is pgferry.safety.backup``), so every name it holds and a
patch of one work as before."""

import sys

from .safety import backup as _moved
from .safety.backup import *  # noqa: F403  (for type checkers, which do not follow the alias)

sys.modules[__name__] = _moved
