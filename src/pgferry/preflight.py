"""Moved to :mod:`pgferry.safety.preflight`.  This name stays for existing imports: it *is*
that module (``pgferry.preflight is pgferry.safety.preflight``), so every name it holds and a
patch of one work as before."""

import sys

from .safety import preflight as _moved
from .safety.preflight import *  # noqa: F403  (for type checkers, which do not follow the alias)

sys.modules[__name__] = _moved
