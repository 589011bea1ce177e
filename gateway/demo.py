"""`omniops run --demo`: the sandbox providers, settings pointing at them, and a seeded demo owner."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from gateway.settings import Settings
from sandbox.server import Sandbox, start_sandbox

DEMO_OWNER_PHONE = "+15551230000"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class Demo:
    sandbox: Sandbox
    settings: Settings
    info: dict[str, Any]


def start_demo(base: Settings) -> Demo:
    """Start every simulator on loopback and return settings that route all providers to them."""
    sandbox = start_sandbox(host="127.0.0.1", port=0, seed=0)
    info = sandbox.describe()
    port = base.port or free_port(base.host)
    public_url = f"http://{base.host}:{port}"
    stripe = info["stripe_credentials"]
    twilio = info["twilio_credentials"]
    alexa = info["alexa_credentials"]
    settings = base.model_copy(
        update={
            "port": port,
            "public_url": public_url,
            "stripe_base_url": info["stripe"],
            "stripe_connect_base_url": info["stripe"],
            "stripe_client_id": stripe["client_id"],
            "stripe_secret_key": stripe["secret_key"],
            "twilio_base_url": info["twilio"],
            "twilio_account_sid": twilio["account_sid"],
            "twilio_auth_token": twilio["auth_token"],
            "twilio_from": twilio["from_numbers"][0],
            "alexa_api_base_url": info["alexa"],
            "lwa_base_url": info["alexa"],
            "alexa_client_id": alexa["client_id"],
            "alexa_client_secret": alexa["client_secret"],
        }
    )
    return Demo(sandbox=sandbox, settings=Settings.model_validate(settings.model_dump()), info=info)


def demo_lines(demo: Demo, *, seed_lines: list[str], public_url: str) -> list[str]:
    """What `omniops run --demo` prints: where to click and what to type."""
    store = next(s for s in demo.info["stores"] if s["slug"] == "demo")
    return [
        "",
        "OmniOps demo is running (everything local: SQLite, in-process worker, simulated providers).",
        f"  Chat widget demo page:   {public_url}/demo",
        f"  Try typing:              set up my WooCommerce store   (address: {store['url']})",
        f"  WooCommerce admin login: {store['admin']['login']} / {store['admin']['password']}",
        "  Then:                    connect Stripe  ·  show me your best sellers  ·  what's running low",
        "  Scheduled work:          every monday at 9am send me a sales report  ·  stop my scheduled sales report",
        f"  The owner's phone:       {demo.info['admin']}/phone?to=%2B{DEMO_OWNER_PHONE.lstrip('+')}  (its texts)",
        *seed_lines,
        "",
    ]
