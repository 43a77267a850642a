"""Moved to :mod:`pgferry.safety.restore`.  This name stays for existing imports: it *is*
that module (``pgferry.restore is pgferry.safety.restore``), so every name it holds and a
patch of one work as before."""

import sys

from .safety import restore as _moved
from .safety.restore import *  # noqa: F403  (for type checkers, which do not follow the alias)

sys.modules[__name__] = _moved
