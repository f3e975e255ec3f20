"""scripts/postgres.sh as scripts/test uses it: each folder its own cluster on a free port, recorded with the
folder so restart and stop find it; stop leaves no server running. Real PostgreSQL (Debian's package)."""

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
                                 and not shutil.which("apt-get"), reason="PostgreSQL is not installed")]


def pg(action: str, folder: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "XL_PG_PORT"} | {"XL_PG_DIR": str(folder)}
    return subprocess.run(["bash", str(ROOT / "scripts" / "postgres.sh"), action], capture_output=True, text=True,
                          env=env, timeout=300)


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_two_folders_get_two_servers_and_stop_stops_each():
    import tempfile

    # as scripts/test does: folders straight in the temp directory (the server's user must reach them)
    a, b = Path(tempfile.mkdtemp(prefix="xl-logistics-pg.")), Path(tempfile.mkdtemp(prefix="xl-logistics-pg."))
    pa = pb = 0
    try:
        ua, ub = pg("start", a), pg("start", b)
        assert ua.returncode == 0 and ub.returncode == 0, ua.stderr + ub.stderr
        pa, pb = int(ua.stdout.strip().rsplit(":", 1)[1].split("/")[0]), int(ub.stdout.strip().rsplit(":", 1)[1].split("/")[0])
        assert pa != pb and pa != 54329 and listening(pa) and listening(pb)
        assert (a / "port").read_text().strip() == str(pa)
        again = pg("restart", a)
        assert again.returncode == 0 and again.stdout.strip() == ua.stdout.strip() and listening(pa)
    finally:
        pg("stop", a)
        pg("stop", b)
        shutil.rmtree(a, ignore_errors=True)
        shutil.rmtree(b, ignore_errors=True)
    assert not listening(pa) and not listening(pb)
