"""Processes the load benchmark and the chaos suite start on loopback: a private Redis, a PostgreSQL database of
their own, the gateway under gunicorn exactly as ``omniops serve`` runs it, and ``omniops worker``.

Every process is started by the caller and stopped by the caller, by its own pid (never by name).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("OMNIOPS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, *, host: str = "127.0.0.1", timeout: float = 20.0) -> None:
    """Block until something accepts connections on ``host:port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout} s")


class RedisServer:
    """A private ``redis-server`` (no persistence) on a free loopback port; ``restart()`` keeps the port."""

    def __init__(self, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        """Start the server and wait until it accepts connections."""
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)
        return self

    def kill(self) -> None:
        """SIGKILL the server (every key is lost: no persistence)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self, *, down_seconds: float = 0.0) -> None:
        """Kill, stay down for ``down_seconds``, start again on the same port."""
        self.kill()
        time.sleep(down_seconds)
        self.start()

    def stop(self) -> None:
        """Terminate the server."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


class PgDatabase:
    """A PostgreSQL schema of its own (``omniops_<tag>_<hex>``) reached through a URL whose connections carry
    that name as ``search_path`` and ``application_name``, so they can be found and terminated; created and
    dropped by its owner."""

    def __init__(self, tag: str) -> None:
        self.name = f"omniops_{tag}_{secrets.token_hex(4)}"
        base = sa.engine.make_url(PG_URL)
        query = {"options": f"-csearch_path={self.name}", "application_name": self.name}
        self.url = base.update_query_dict(query).render_as_string(hide_password=False)
        self._admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_size=1)

    def create(self) -> PgDatabase:
        """CREATE SCHEMA."""
        with self._admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{self.name}"'))
        return self

    def terminate_backends(self) -> int:
        """``pg_terminate_backend`` every connection opened through ``url`` (by any process); returns how many."""
        with self._admin.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": self.name},
            ).all()
        return sum(1 for (ok,) in rows if ok)

    def drop(self) -> None:
        """Terminate what is left connected, then DROP SCHEMA … CASCADE."""
        self.terminate_backends()
        with self._admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        self._admin.dispose()


class Proc:
    """A child process of ours with its log file; ``stop()`` terminates it by pid (SIGKILL after a grace)."""

    def __init__(self, argv: list[str], *, env: Mapping[str, str], log: IO[bytes], cwd: Path = ROOT) -> None:
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill9(self) -> None:
        """SIGKILL the process group (a gunicorn master and its workers, or a worker process)."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, *, grace: float = 15.0) -> int:
        """SIGTERM, then SIGKILL after ``grace`` seconds; returns the exit code."""
        if self.alive():
            self.proc.terminate()
            try:
                return self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=10)


def omniops_env(settings: Mapping[str, str]) -> dict[str, str]:
    """The process environment plus ``OMNIOPS_*`` settings (keys given without the prefix)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIOPS_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update({f"OMNIOPS_{k.upper()}": v for k, v in settings.items()})
    return env


def start_gateway(settings: Mapping[str, str], *, port: int, workers: int, threads: int, log: IO[bytes]) -> Proc:
    """``omniops serve --workers W --threads T`` (gunicorn) with ``settings``; returns once /healthz answers."""
    argv = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)]
    argv += ["--workers", str(workers), "--threads", str(threads)]
    proc = Proc(argv, env=omniops_env(settings), log=log)
    wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
    return proc


def start_worker(settings: Mapping[str, str], *, concurrency: int, log: IO[bytes]) -> Proc:
    """``omniops worker --concurrency N`` with ``settings``."""
    argv = [sys.executable, "-m", "gateway.cli", "worker", "--concurrency", str(concurrency)]
    return Proc(argv, env=omniops_env(settings), log=log)


def wait_http(url: str, *, proc: Proc | None = None, timeout: float = 60.0) -> None:
    """Block until ``url`` answers 200 (fails early when ``proc`` exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"process exited with {proc.proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer 200 within {timeout} s")
