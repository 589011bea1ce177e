"""The whole product on loopback for end-to-end tests: sandbox providers, the real container (SQLite, Tink vault,
SQL audit log, Huey queue, worker threads), the gateway over real HTTP, and helpers acting as the owner."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from core.ports import RunRecord
from executor.worker import start_in_process
from gateway.app import create_app
from gateway.bootstrap import Container, build_container
from gateway.demo import DEMO_OWNER_PHONE, Demo, free_port, start_demo
from gateway.identity.cli import DemoSeed, seed_demo_owner
from gateway.serve import BackgroundServer
from gateway.settings import Settings

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
LINK_RE = re.compile(r"https?://\S+/consent/[A-Za-z0-9_\-]+")
URL_RE = re.compile(r"https?://\S+")


@dataclass
class Stack:
    demo: Demo
    container: Container
    seed: DemoSeed
    url: str
    http: httpx.Client

    @property
    def sandbox(self) -> Any:
        return self.demo.sandbox

    def store_url(self, slug: str = "demo") -> str:
        return str(next(s["url"] for s in self.demo.info["stores"] if s["slug"] == slug))

    def texts(self) -> list[str]:
        """Every SMS the owner's phone has received, oldest first."""
        return [str(m["body"]) for m in self.sandbox.twilio.messages_to(DEMO_OWNER_PHONE)]

    def wait_text(self, pattern: re.Pattern[str] | str, *, after: int = 0, timeout: float = 30) -> str:
        """The first text (after index ``after``) matching ``pattern``; fails after ``timeout`` s."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for body in self.texts()[after:]:
                if regex.search(body):
                    return body
            time.sleep(0.1)
        raise AssertionError(f"no text matching {regex.pattern!r}; got {self.texts()}")

    def wait_run(self, run_id: str, statuses: tuple[str, ...], *, timeout: float = 60) -> RunRecord:
        deadline = time.monotonic() + timeout
        run = None
        while time.monotonic() < deadline:
            run = self.container.journal.get_run(run_id)
            if run is not None and run.status in statuses:
                return run  # type: ignore[no-any-return]
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} never reached {statuses}: {run}")

    def siri(self, text: str) -> dict[str, Any]:
        resp = self.http.post(
            f"{self.url}/v1/channels/siri",
            json={"text": text},
            headers={"Authorization": f"Bearer {self.seed.siri_token}"},
        )
        assert resp.status_code == 200, resp.text
        return resp.json()  # type: ignore[no-any-return]


@contextmanager
def running_stack(tmp_path: Path, *, in_process_workers: bool = True, **overrides: Any) -> Iterator[Stack]:
    """The stack; ``in_process_workers=False`` leaves the runs to worker processes the test starts itself."""
    base = Settings(var_dir=tmp_path / "var", env="test", port=free_port(), log_json=True, **overrides)
    demo = start_demo(base)
    container = build_container(demo.settings, demo=True)
    seed = seed_demo_owner(container.owners, phone=DEMO_OWNER_PHONE)
    container.demo_owner_id = seed.owner_id
    worker = start_in_process(container.executor, concurrency=2, reap_interval=0.5) if in_process_workers else None
    server = BackgroundServer(create_app(container=container), port=demo.settings.port).start()
    http = httpx.Client(timeout=30)
    try:
        yield Stack(demo=demo, container=container, seed=seed, url=server.url, http=http)
    finally:
        http.close()
        server.stop()
        if worker is not None:
            worker.stop()
        container.close()
        demo.sandbox.stop()
