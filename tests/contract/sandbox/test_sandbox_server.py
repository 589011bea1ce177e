"""``omniops sandbox`` entry points: --json output, register_cli wiring, index of base URLs."""

from __future__ import annotations

import argparse
import json

import httpx
import pytest

from sandbox.server import Sandbox, register_cli, run_cli


def test_json_output_lists_providers_and_stores(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="omniops")
    sub = parser.add_subparsers()
    register_cli(sub)
    args = parser.parse_args(["sandbox", "--json", "--seed", "7"])
    assert args.func(args, block=False) == 0
    out = json.loads(capsys.readouterr().out)
    for provider in ("woocommerce", "stripe", "twilio", "alexa"):
        assert out[provider].startswith("http://127.0.0.1:")
    stores = {s["slug"]: s for s in out["stores"]}
    assert {"demo": 47, "empty": 0, "big": 10_000}.items() <= {k: v["products"] for k, v in stores.items()}.items()
    demo = stores["demo"]
    assert demo["url"].endswith("/woocommerce/stores/demo")
    assert demo["admin"]["login"] == "admin" and demo["admin"]["password"]
    assert demo["rest_key"]["consumer_key"].startswith("ck_") and demo["rest_key"]["permissions"] == "read_write"


def test_plain_output_prints_base_urls(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(host="127.0.0.1", port=0, seed=0, json=False)
    run_cli(args, block=False)
    out = capsys.readouterr().out
    assert "woocommerce  http://127.0.0.1:" in out and "stripe" in out and "store demo" in out


def test_seeded_key_from_describe_works_over_http(sandbox: Sandbox) -> None:
    demo = next(s for s in sandbox.describe()["stores"] if s["slug"] == "demo")
    key = demo["rest_key"]
    r = httpx.get(f"{demo['url']}/wp-json/wc/v3/products", auth=(key["consumer_key"], key["consumer_secret"]))
    assert r.status_code == 200 and r.headers["X-WP-Total"] == "47"
    assert httpx.get(sandbox.base_url + "/").json() == sandbox.urls
