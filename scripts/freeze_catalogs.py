"""Write tests/unit/frozen/ from real servers (``make freeze``).

Starts a throwaway prod and QA cluster as the test suite does (the newest and
the oldest PostgreSQL found), loads each scenario of tests/freezer.py, reads
the catalogs and the servers' error messages, and writes them as JSON.  Run it
after a change to the catalog model or its queries; tests/test_frozen.py
(marked slow) fails while the committed files are stale.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.freezer import freeze, write  # noqa: E402
from tests.pgtest import SUPERUSER_PASSWORD, Server, choose_installs  # noqa: E402

from pgferry.embedded import Cluster  # noqa: E402


def main() -> int:
    chosen = choose_installs()
    if chosen is None:
        print("no PostgreSQL server binaries found", file=sys.stderr)
        return 1
    dirs = [Path(tempfile.mkdtemp(prefix=f"pgferry-freeze-{n}-")) for n in ("prod", "qa")]
    prod = Cluster(chosen[0], name="prod", password=SUPERUSER_PASSWORD, basedir=dirs[0])
    qa = Cluster(chosen[1], name="qa", password=SUPERUSER_PASSWORD, basedir=dirs[1])
    try:
        with prod, qa:
            files = freeze(Server(prod, "prod"), Server(qa, "qa"))
    finally:
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)
    for path in write(files):
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
