"""pgferry: refresh QA and staging PostgreSQL databases from production.

The library does the work; the ``pgferry`` command is a thin layer on top, and
every command's function is importable from here::

    import pgferry

    qa = pgferry.resolve(None, role="qa")          # QA_DATABASE_URL, DATABASE_URL, PG*
    with pgferry.connect(qa) as conn:
        report = pgferry.check_sequences(conn)
    print(report.behind)

=========================  ===============================================
command                    function
=========================  ===============================================
``migrate``                :func:`run_migrate` (``--strategy swap``:
                           :func:`migrate_swap`), then :func:`check_counts`;
                           to keep a stopped run's report:
                           :class:`Refresh` + :func:`execute_refresh`
``verify``                 :func:`run_verify`
``schema diff``            :func:`schema_diff` (two catalogs: :func:`diff`)
``schema push``            :func:`push` (the plan only: :func:`plan_push`)
``sequences check``        :func:`check_sequences` (a connection)
``sequences fix``          :func:`fix_database` (an endpoint: locks, puts back,
                           fixes; one connection: :func:`fix_sequences`)
``preflight``              :func:`run_preflight`
``backup``                 :func:`run_backup`
``backups``                :func:`list_backups`
``rollback``               :func:`rollback`
``doctor``                 :func:`diagnose` (a message), :func:`health`
``init``                   :func:`run_init`
``demo``                   :func:`run_demo`
``config show``            :func:`resolve_settings` (:mod:`pgferry.config`'s
                           ``resolve``: ``pgferry.resolve`` is an endpoint's)
=========================  ===============================================

A command's function has the command's name, except where a module of this
package already has it: ``pgferry.migrate``, ``pgferry.verify``,
``pgferry.preflight``, ``pgferry.backup``, ``pgferry.init`` and ``pgferry.demo``
stay the modules (``from pgferry import backup`` keeps meaning the module), and
their functions are ``run_migrate``, ``run_verify``, ``run_preflight``,
``run_backup``, ``run_init`` and ``run_demo`` (the same objects as
``pgferry.verify.verify`` and so on).

Closed sets are :class:`~enum.StrEnum` members that compare equal to the strings
they replace: :class:`Role`, :class:`Strategy`, :class:`BackupMethod`,
:class:`LoadMode`, :class:`InsertStatus`, :class:`ForeignKeyStatus`.

Errors are :class:`PgferryError` subclasses with the exit code the CLI uses
(see :mod:`pgferry.errors` for the tree): a server's error reaches a caller as
:class:`ConnectionFailed`, :class:`PrivilegeError`, :class:`ServerLimit` or
:class:`DatabaseError`, never as a raw psycopg error.
"""

from .catalog import Catalog, read_catalog
from .config import Flags, Settings
from .config import resolve as resolve_settings
from .demo import DemoResult
from .demo import run as run_demo
from .doctor import Diagnosis, diagnose, health
from .endpoints import Endpoint, Role, connect, mask, parse, resolve
from .errors import (
    BackupError,
    ClusterError,
    ConfigError,
    ConnectionFailed,
    CopyFailed,
    DatabaseError,
    ExitCode,
    LockWaitTimeout,
    PgferryError,
    PrivilegeError,
    PushFailed,
    RefreshFailed,
    RefusedError,
    SchemaMismatch,
    ServerLimit,
    SessionsOpen,
    Stopped,
)
from .init import InitResult
from .init import init as run_init
from .integrity import ForeignKeyStatus, InsertStatus
from .migrate import MigrateOptions, MigrateReport, Refresh, VerificationFailed, check_counts
from .migrate import execute as execute_refresh
from .migrate import migrate as run_migrate
from .pii import scan as scan_pii
from .refresh.aside import LoadMode
from .refresh.maskreview import preview as preview_masks
from .refresh.maskreview import review as check_masks
from .refresh.options import Strategy
from .safety.backup import Backup, BackupMethod, list_backups
from .safety.backup import backup as run_backup
from .safety.preflight import PreflightReport, Scope
from .safety.preflight import preflight as run_preflight
from .safety.restore import rollback
from .schema import SchemaDiff, diff
from .schema.compare import schema_diff
from .schema.push import PushPlan, PushResult, plan_push, push
from .sequencefix import FixResult, fix_database
from .sequences import SequenceReport, check_sequences, fix_sequences
from .swap import migrate_swap
from .verify import VerifyReport
from .verify import verify as run_verify

__version__ = "0.1.0.dev0"


__all__ = [
    "Backup",
    "BackupError",
    "BackupMethod",
    "Catalog",
    "ClusterError",
    "ConfigError",
    "ConnectionFailed",
    "CopyFailed",
    "DatabaseError",
    "DemoResult",
    "Diagnosis",
    "Endpoint",
    "ExitCode",
    "FixResult",
    "Flags",
    "ForeignKeyStatus",
    "InitResult",
    "InsertStatus",
    "LoadMode",
    "LockWaitTimeout",
    "MigrateOptions",
    "MigrateReport",
    "PgferryError",
    "PreflightReport",
    "PrivilegeError",
    "PushFailed",
    "PushPlan",
    "PushResult",
    "Refresh",
    "RefreshFailed",
    "RefusedError",
    "Role",
    "SchemaDiff",
    "SchemaMismatch",
    "Scope",
    "SequenceReport",
    "ServerLimit",
    "SessionsOpen",
    "Settings",
    "Stopped",
    "Strategy",
    "VerificationFailed",
    "VerifyReport",
    "__version__",
    "check_counts",
    "check_masks",
    "check_sequences",
    "connect",
    "diagnose",
    "diff",
    "execute_refresh",
    "fix_database",
    "fix_sequences",
    "health",
    "list_backups",
    "mask",
    "migrate_swap",
    "parse",
    "plan_push",
    "preview_masks",
    "push",
    "read_catalog",
    "resolve",
    "resolve_settings",
    "rollback",
    "run_backup",
    "run_demo",
    "run_init",
    "run_migrate",
    "run_preflight",
    "run_verify",
    "scan_pii",
    "schema_diff",
]
