"""Fixtures: a gateway with the chat and SMS blueprints over a real MessageBus, served on real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask

from gateway.app import create_app
from gateway.serve import BackgroundServer
from tests.chat_support import ChatTestContainer, build_chat_container


@pytest.fixture
def container(tmp_path: Path) -> Iterator[ChatTestContainer]:
    c = build_chat_container(tmp_path)
    yield c
    c.close()


@pytest.fixture
def app(container: ChatTestContainer) -> Flask:
    return create_app(container=container)


@pytest.fixture
def server(app: Flask) -> Iterator[BackgroundServer]:
    srv = BackgroundServer(app).start()
    yield srv
    srv.stop()


@pytest.fixture
def http(server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client
