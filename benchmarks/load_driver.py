"""The load generator of ``gateway_load_bench``: a separate process with concurrent clients, one thread each.

``python -m benchmarks.load_driver CONFIG.json OUT.json``. Closed-loop clients (each sends its next request as
soon as the previous one is answered) for a warm-up, then for ``duration`` seconds; only requests started inside
the measured window count. Kinds (gateway target): ``alexa`` (signed IntentRequests, help/status), ``siri``
(owner token, text), ``poll`` (``GET /v1/runs/<id>``), ``chat`` (widget session, paced under the product's
per-IP/per-owner chat limits, each client from its own loopback source address), ``sse`` (``GET
/v1/chat/events`` held open for the whole run). Bare target: ``GET /`` from ``bare`` clients.
Every loop is bounded by the deadline; only loopback addresses are contacted.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.voice_testkit import alexa_envelope, signed

ALEXA_INTENTS = ("AMAZON.HelpIntent", "JobStatusIntent")
SIRI_TEXTS = ("help", "what's the status of my setup")
CHAT_TEXTS = ("help", "what is running right now")


@dataclass
class Tally:
    """What one client saw inside the measured window."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, status: int | str, latency: float | None) -> None:
        key = str(status)
        self.statuses[key] = self.statuses.get(key, 0) + 1
        if latency is not None:
            self.latencies.append(latency)


class Clock:
    """The shared timeline: warm-up ends at ``start``, the measured window ends at ``end``."""

    def __init__(self, warmup: float, duration: float) -> None:
        now = time.monotonic()
        self.start = now + warmup
        self.end = self.start + duration

    def measuring(self, t: float) -> bool:
        return self.start <= t < self.end


def _timed(client: httpx.Client, tally: Tally, clock: Clock, method: str, url: str, **kw: Any) -> httpx.Response | None:
    began = time.monotonic()
    try:
        resp = client.request(method, url, **kw)
    except httpx.HTTPError as err:
        if clock.measuring(began):
            tally.add("exception", None)
            tally.errors.append(f"{type(err).__name__}: {err}"[:200])
        return None
    if clock.measuring(began):
        tally.add(resp.status_code, time.monotonic() - began)
        if resp.status_code >= 500:
            tally.errors.append(f"{resp.status_code} {url}: {resp.text[:200]}")
    return resp


def _alexa(cfg: dict[str, Any], tally: Tally, clock: Clock, index: int) -> None:
    key = serialization.load_pem_private_key(Path(cfg["alexa_key_file"]).read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    url = f"{cfg['base']}/v1/channels/alexa"
    n = index
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < clock.end:
            envelope = alexa_envelope(intent=ALEXA_INTENTS[n % 2], token=None, skill_id=cfg["skill_id"])
            envelope["context"]["System"]["apiEndpoint"] = cfg["base"]  # loopback only, never used by these intents
            headers, body = signed(envelope, key, url=cfg["cert_url"])
            resp = _timed(client, tally, clock, "POST", url, headers=headers, content=body)
            if resp is not None and resp.status_code == 200 and "response" not in resp.json():
                tally.errors.append(f"alexa answer without a response: {resp.text[:200]}")
            n += 1


def _siri(cfg: dict[str, Any], tally: Tally, clock: Clock, index: int) -> None:
    url = f"{cfg['base']}/v1/channels/siri"
    headers = {"Authorization": f"Bearer {cfg['siri_token']}"}
    n = index
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < clock.end:
            _timed(client, tally, clock, "POST", url, json={"text": SIRI_TEXTS[n % 2]}, headers=headers)
            n += 1


def _poll(cfg: dict[str, Any], tally: Tally, clock: Clock, index: int) -> None:
    url = f"{cfg['base']}/v1/runs/{cfg['run_id']}"
    headers = {"Authorization": f"Bearer {cfg['siri_token']}"}
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < clock.end:
            _timed(client, tally, clock, "GET", url, headers=headers)


def _session(client: httpx.Client, cfg: dict[str, Any], key: str) -> str:
    resp = client.post(
        f"{cfg['base']}/v1/chat/sessions", params={"key": key}, headers={"Origin": cfg["origin"]}, json={}
    )
    resp.raise_for_status()
    return str(resp.json()["token"])


def _chat(cfg: dict[str, Any], tally: Tally, clock: Clock, index: int) -> None:
    transport = httpx.HTTPTransport(local_address=f"127.0.0.{20 + index}")
    interval = 1.0 / float(cfg["chat_rate"])
    with httpx.Client(timeout=30, transport=transport) as client:
        token = _session(client, cfg, cfg["chat_keys"][index])
        headers = {"Authorization": f"Bearer {token}", "Origin": cfg["origin"]}
        url = f"{cfg['base']}/v1/chat/messages"
        n = index
        while (now := time.monotonic()) < clock.end:
            _timed(client, tally, clock, "POST", url, json={"text": CHAT_TEXTS[n % 2]}, headers=headers)
            n += 1
            time.sleep(max(0.0, now + interval - time.monotonic()))


def _sse(cfg: dict[str, Any], tally: Tally, clock: Clock, index: int) -> None:
    transport = httpx.HTTPTransport(local_address=f"127.0.0.{60 + index}")
    with httpx.Client(timeout=httpx.Timeout(30, read=40), transport=transport) as client:
        token = _session(client, cfg, cfg["sse_key"])
        headers = {"Authorization": f"Bearer {token}", "Origin": cfg["origin"], "Accept": "text/event-stream"}
        began = time.monotonic()
        try:
            with client.stream("GET", f"{cfg['base']}/v1/chat/events", headers=headers) as resp:
                tally.add(resp.status_code, time.monotonic() - began)
                if resp.status_code != 200:
                    tally.errors.append(f"sse {resp.status_code}")
                    return
                for _chunk in resp.iter_bytes():
                    if time.monotonic() >= clock.end:
                        tally.statuses["held_to_end"] = tally.statuses.get("held_to_end", 0) + 1
                        return
        except httpx.HTTPError as err:
            tally.add("exception", None)
            tally.errors.append(f"sse {type(err).__name__}: {err}"[:200])
            return
        tally.errors.append("sse stream ended early")


def _bare(cfg: dict[str, Any], tally: Tally, clock: Clock, index: int) -> None:
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < clock.end:
            _timed(client, tally, clock, "GET", f"{cfg['base']}/")


KINDS = {"alexa": _alexa, "siri": _siri, "poll": _poll, "chat": _chat, "sse": _sse, "bare": _bare}


def run(cfg: dict[str, Any]) -> dict[str, Any]:
    """Run every client thread to the deadline; per kind: latencies (s) and status counts."""
    clock = Clock(float(cfg["warmup"]), float(cfg["duration"]))
    tallies: dict[str, list[Tally]] = {}
    threads = []
    for kind, count in cfg["clients"].items():
        for index in range(int(count)):
            tally = Tally()
            tallies.setdefault(kind, []).append(tally)
            thread = threading.Thread(target=_guard, args=(KINDS[kind], cfg, tally, clock, index), daemon=True)
            threads.append(thread)
            thread.start()
    for thread in threads:
        thread.join(timeout=float(cfg["warmup"]) + float(cfg["duration"]) + 60)
    out: dict[str, Any] = {"duration": float(cfg["duration"]), "kinds": {}}
    for kind, group in tallies.items():
        statuses: dict[str, int] = {}
        for t in group:
            for k, v in t.statuses.items():
                statuses[k] = statuses.get(k, 0) + v
        out["kinds"][kind] = {
            "latencies": [x for t in group for x in t.latencies],
            "statuses": statuses,
            "errors": [e for t in group for e in t.errors][:20],
            "clients": len(group),
        }
    return out


def _guard(fn: Any, cfg: dict[str, Any], tally: Tally, clock: Clock, index: int) -> None:
    try:
        fn(cfg, tally, clock, index)
    except Exception as err:  # a client that dies is an error of the run, reported, not a crash of the driver
        tally.errors.append(f"client died: {type(err).__name__}: {err}"[:200])
        tally.add("client_died", None)


def main(argv: list[str]) -> int:
    """``CONFIG.json OUT.json``."""
    cfg = json.loads(Path(argv[0]).read_text())
    Path(argv[1]).write_text(json.dumps(run(cfg)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
