"""`omniops widget snippet`: the embed tag for an owner, logged in unless --visitor."""

from __future__ import annotations

import argparse
import re
from types import SimpleNamespace

import pytest

from chat.sessions import WidgetSigner
from gateway.widget_sessions import register_cli
from tests.chat_support import SECRET


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    parser = argparse.ArgumentParser(prog="omniops")
    sub = parser.add_subparsers(dest="command", required=True)
    container = SimpleNamespace(secret_key=SECRET, settings=SimpleNamespace(public_url="https://gw.example"))
    register_cli(sub, lambda: container)
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    return capsys.readouterr().out.strip()


def test_snippet_prints_one_script_tag_with_a_logged_in_key(capsys: pytest.CaptureFixture[str]) -> None:
    out = _run(["widget", "snippet", "--owner", "own_1", "--origin", "https://Shop.example/"], capsys)
    m = re.fullmatch(r'<script src="https://gw.example/v1/chat/widget.js" data-key="([^"]+)" async></script>', out)
    assert m is not None
    key = WidgetSigner(secret=SECRET).read_key(m.group(1))
    assert key.owner_id == "own_1" and key.origins == ("https://shop.example",) and key.person_id == "own_1"


def test_visitor_snippet_has_no_person(capsys: pytest.CaptureFixture[str]) -> None:
    out = _run(
        [
            "widget",
            "snippet",
            "--owner",
            "own_1",
            "--origin",
            "https://a.example",
            "--origin",
            "https://b.example",
            "--visitor",
        ],
        capsys,
    )
    key = WidgetSigner(secret=SECRET).read_key(out.split('data-key="')[1].split('"')[0])
    assert key.person_id is None and key.origins == ("https://a.example", "https://b.example")
