"""Real processes on loopback for the reliability tests: `hoster-compliance serve` and `worker`
started from a configuration file, each in its own process group so that kill -9 reaches the
gunicorn master and every worker it forked; and dedicated PostgreSQL databases."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
import sqlalchemy as sa

from hoster_compliance.store.engine import make_engine
from tests.helpers import ISSUER_SECRET, POSTGRES_URL, TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAINTENANCE_URL = POSTGRES_URL.rsplit("/", 1)[0] + "/postgres"
CLI = [sys.executable, "-c", "from hoster_compliance.cli import main; main()"]


def pg_admin() -> sa.Engine:
    """An AUTOCOMMIT engine on the maintenance database (CREATE/ALTER/DROP DATABASE)."""
    return make_engine(MAINTENANCE_URL, isolation_level="AUTOCOMMIT")


def _own(name: str) -> str:
    """The database name of this test process: runs in parallel on one server never share one."""
    return f"{name}_{os.getpid()}"


def recreate_pg_database(name: str) -> str:
    """A new, empty PostgreSQL database of this process (dropped first if a previous run left
    it)."""
    name = _own(name)
    admin = pg_admin()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(name: str) -> None:
    name = _own(name)
    admin = pg_admin()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's choice, released at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(path: Path, db_url: str, api_base: str, **settings: Any) -> Path:
    """A configuration file with the issuer ``nl-atkm`` calling back to ``api_base``."""
    extra = "".join(f"{key} = {value!r}\n" for key, value in settings.items())
    path.write_text(
        f'hoster_id = "example-hosting"\n'
        f'database_url = "{db_url}"\n'
        f'operator_tokens = ["{TOKEN}"]\n'
        f"{extra}\n"
        f"[[issuers]]\n"
        f'id = "nl-atkm"\n'
        f'member_state = "NL"\n'
        f'secrets = ["{ISSUER_SECRET}"]\n'
        f'api_base = "{api_base}"\n'
        f'default_regime = "NL_ATKM"\n'
    )
    return path


class Proc:
    """One `hoster-compliance` command in its own session (process group), logging to a file."""

    def __init__(self, args: Sequence[str], log: Path) -> None:
        self.args = [*CLI, *args]
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kill9(self) -> None:
        """SIGKILL to the whole process group: the master and every worker, at once."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to the group (graceful), SIGKILL if it is still there after ``timeout``."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                pass
        self.kill9()

    def __enter__(self) -> Proc:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class Receiver(Proc):
    """`hoster-compliance serve` on a loopback port."""

    def __init__(self, config: Path, port: int, log: Path, *, processes: int = 1,
                 threads: int = 4, worker: bool = True) -> None:
        args = ["serve", "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
                "--processes", str(processes), "--threads", str(threads)]
        super().__init__(args if worker else [*args, "--no-worker"], log)
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> Receiver:
        super().start()
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Until /healthz answers 200; fails with the log's tail if the process exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise AssertionError(f"receiver exited:\n{self.log_tail()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise AssertionError(f"receiver not healthy after {timeout} s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        """The gunicorn worker processes (the master's children)."""
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return sorted(int(pid) for pid in children.read_text().split())

    def replace_a_worker(self, timeout: float = 30.0) -> int:
        """kill -9 one gunicorn worker; returns the pid of the one the master starts instead,
        once it serves requests (any answer)."""
        old = self.worker_pids()[0]
        os.kill(old, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise AssertionError(f"gunicorn halted:\n{self.log_tail()}")
            fresh = [pid for pid in self.worker_pids() if pid != old]
            if fresh:
                try:
                    requests.get(self.url + "/healthz", timeout=5)
                    return fresh[0]
                except requests.RequestException:
                    pass
            time.sleep(0.05)
        raise AssertionError(f"no worker replaced {old} after {timeout} s:\n{self.log_tail()}")

    def __enter__(self) -> Receiver:
        return self.start()


class Worker(Proc):
    """`hoster-compliance worker`: delivery workers on their own."""

    def __init__(self, config: Path, log: Path, *, threads: int = 2) -> None:
        super().__init__(["worker", "--config", str(config), "--threads", str(threads)], log)
