"""Fixtures of the end-to-end suite: the whole product on loopback, and a headless Chromium page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.e2e.stack import BROWSER_ARGS, CHROMIUM, Stack, running_stack


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """Sandbox providers + the real container + worker threads + the gateway over HTTP + a demo owner."""
    with running_stack(tmp_path) as s:
        yield s


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[Page]:
    """A Chromium page at phone width (390x844), or the width given by ``@pytest.mark.viewport(w, h)``."""
    marker = request.node.get_closest_marker("viewport")
    width, height = marker.args if marker else (390, 844)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        context = browser.new_context(viewport={"width": width, "height": height})
        yield context.new_page()
        context.close()
        browser.close()
