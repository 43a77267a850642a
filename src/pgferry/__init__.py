"""pgferry: refresh QA and staging PostgreSQL databases from production.

The library does the work; the ``pgferry`` command is a thin layer on top::

    import pgferry

    qa = pgferry.resolve(None, role="qa")          # QA_DATABASE_URL, DATABASE_URL, PG*
    with pgferry.connect(qa) as conn:
        report = pgferry.check_sequences(conn)
    print(report.behind)
"""

from .catalog import Catalog, read_catalog
from .endpoints import Endpoint, connect, mask, parse, resolve
from .errors import ExitCode, PgferryError
from .sequences import SequenceReport, check_sequences, fix_sequences

__version__ = "0.1.0.dev0"

__all__ = [
    "Catalog",
    "Endpoint",
    "ExitCode",
    "PgferryError",
    "SequenceReport",
    "__version__",
    "check_sequences",
    "connect",
    "fix_sequences",
    "mask",
    "parse",
    "read_catalog",
    "resolve",
]
