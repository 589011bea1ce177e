"""Fixtures: one sandbox server per session (real loopback HTTP), faults cleared after every test, and a
tiny recording HTTP receiver for callbacks and webhooks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sandbox_receiver import Receiver, _Quiet
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from sandbox.server import Sandbox, start_sandbox


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    sb = start_sandbox(seed=7)
    yield sb
    sb.stop()


@pytest.fixture(autouse=True)
def _clear_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").faults.clear()


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver(url="")

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        req = Request(environ)
        rec.requests.append(
            {
                "method": req.method,
                "path": req.path,
                "url": req.url,
                "headers": dict(req.headers),
                "body": req.get_data(),
                "form": req.form.to_dict(),
            }
        )
        rec.got.set()
        return Response("ok", status=rec.status)(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    rec.url = f"http://127.0.0.1:{server.port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()
