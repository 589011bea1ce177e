"""Gateway load benchmark: the gateway under gunicorn, exactly as ``omniops serve`` runs it, in embedded mode
(SQLite) and distributed mode (a PostgreSQL schema of its own + a private Redis), against a bare Flask app
returning a constant under the same gunicorn settings, measured in the same run.

Setup per mode: a seeded owner (identity store: owner, person, verified phone, Siri token with ``runs:read``),
widget keys for chat/SSE owners, one queued run to poll, Alexa verification ON (a test CA in
``OMNIOPS_ALEXA_CA_BUNDLE``, the signing chain served over loopback HTTP through ``OMNIOPS_ALEXA_CERT_MIRROR``;
each gunicorn worker caches it after its first request). Then ``python -m gateway.cli serve --workers W
--threads T`` and a separate driver process (``benchmarks.load_driver``) with concurrent clients: signed Alexa
intents (help/status), Siri requests, run status polls, chat messages, SSE subscribers held open.

Run: ``python -m benchmarks gateway_load`` (or ``python -m benchmarks.gateway_load_bench --duration 60``);
writes ``benchmarks/results/gateway_load.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from benchmarks.common import percentile, write_fragment
from benchmarks.procs import ROOT, PgDatabase, Proc, RedisServer, free_port, omniops_env, start_gateway, wait_http
from tests.voice_testkit import CERT_URL, SKILL_ID, local_server, make_pki, pem

ORIGIN = "https://shop.example"
ALEXA_BUDGET_S = 8.0
P99_BOUND_S = 2.0
COMMAND = "python -m benchmarks gateway_load"
KIND_NAMES = {
    "alexa": "Alexa signed intent (help/status)",
    "siri": "Siri request (owner token)",
    "poll": "Run status poll",
    "chat": "Chat message (paced under the chat rate limits)",
    "sse": "SSE subscriber (connect; held open)",
    "bare": "Bare Flask constant",
}


def _seed(settings: dict[str, str], *, chat_clients: int) -> dict[str, Any]:
    """Create the owners, tokens, widget keys and one queued run through the real container."""
    from core.commands import Channel, ReplyRoute
    from core.ports import Plan
    from gateway.bootstrap import build_container
    from gateway.identity.cli import seed_demo_owner
    from gateway.settings import Settings
    from gateway.widget_sessions import signer_for

    container = build_container(Settings(**settings))  # type: ignore[arg-type]
    try:
        seed = seed_demo_owner(container.owners, phone="+15005550006")
        signer = signer_for(container.secret_key)
        now = datetime.now(UTC)
        keys = []
        for i in range(chat_clients):
            owner = container.owners.create_owner(name=f"Load Shop {i}", plan=Plan.AI_ASSISTED, agent="operator:bench")
            keys.append(signer.issue_key(owner_id=owner.id, origins=[ORIGIN], person_id=owner.id, now=now))
        sse_key = signer.issue_key(owner_id=seed.owner_id, origins=[ORIGIN], person_id=seed.owner_id, now=now)
        run = container.executor.runner.submit(
            owner_id=seed.owner_id,
            recipe="woocommerce.setup",
            params={"store_url": "https://shop.example"},
            consent_id=None,
            reply_route=ReplyRoute(channel=Channel.SIRI),
        )
        return {"siri_token": seed.siri_token, "run_id": run.id, "chat_keys": keys, "sse_key": sse_key}
    finally:
        container.close()


@contextmanager
def _mode_backends(mode: str, tmp: Path) -> Iterator[dict[str, str]]:
    """Database (and Redis) settings for ``mode``; created here and dropped afterwards."""
    if mode == "embedded":
        yield {}
        return
    db = PgDatabase("load").create()
    redis = RedisServer().start()
    try:
        yield {"database_url": db.url, "redis_url": redis.url}
    finally:
        redis.stop()
        db.drop()


def _drive(cfg: dict[str, Any], tmp: Path, name: str) -> dict[str, Any]:
    cfg_file, out_file = tmp / f"{name}-config.json", tmp / f"{name}-out.json"
    cfg_file.write_text(json.dumps(cfg))
    timeout = float(cfg["warmup"]) + float(cfg["duration"]) + 120
    subprocess.run(
        [sys.executable, "-m", "benchmarks.load_driver", str(cfg_file), str(out_file)],
        cwd=ROOT,
        env=omniops_env({}),
        check=True,
        timeout=timeout,
    )
    return dict(json.loads(out_file.read_text()))


def run_mode(mode: str, args: argparse.Namespace, tmp: Path, pki_files: dict[str, str]) -> dict[str, Any]:
    """Measure the gateway and the bare app in ``mode``; returns the driver outputs."""
    work = tmp / mode
    work.mkdir()
    with ExitStack() as stack:
        backend = stack.enter_context(_mode_backends(mode, work))
        port = free_port()
        settings = {
            "env": "test",
            "var_dir": str(work / "var"),
            "secret_key": secrets.token_urlsafe(32),
            "public_url": f"http://127.0.0.1:{port}",
            "log_level": "WARNING",
            "alexa_skill_id": SKILL_ID,
            "alexa_ca_bundle": pki_files["bundle"],
            "alexa_cert_mirror": pki_files["mirror"],
            **backend,
        }
        seeded = _seed(settings, chat_clients=args.chat)
        log = stack.enter_context((work / "gateway.log").open("wb"))
        gateway = start_gateway(settings, port=port, workers=args.workers, threads=args.threads, log=log)
        try:
            cfg = {
                "base": f"http://127.0.0.1:{port}",
                "warmup": args.warmup,
                "duration": args.duration,
                "clients": {
                    "alexa": args.alexa,
                    "siri": args.siri,
                    "poll": args.poll,
                    "chat": args.chat,
                    "sse": args.sse,
                },
                "alexa_key_file": pki_files["key"],
                "cert_url": CERT_URL,
                "skill_id": SKILL_ID,
                "origin": ORIGIN,
                "chat_rate": args.chat_rate,
                **seeded,
            }
            gateway_out = _drive(cfg, work, "gateway")
        finally:
            gateway_code = gateway.stop()
        bare_port = free_port()
        server_flags = ["--workers", str(args.workers), "--threads", str(args.threads)]
        bare_log = stack.enter_context((work / "bare.log").open("wb"))
        bare = Proc(
            [sys.executable, "-m", "benchmarks.bare_gunicorn", "--port", str(bare_port), *server_flags],
            env=omniops_env({}),
            log=bare_log,
        )
        try:
            wait_http(f"http://127.0.0.1:{bare_port}/healthz", proc=bare)
            bare_clients = args.alexa + args.siri + args.poll + args.chat
            bare_cfg = {
                "base": f"http://127.0.0.1:{bare_port}",
                "warmup": args.warmup,
                "duration": args.duration,
                "clients": {"bare": bare_clients},
            }
            bare_out = _drive(bare_cfg, work, "bare")
        finally:
            bare.stop()
    return {"gateway": gateway_out, "bare": bare_out, "gateway_exit": gateway_code}


def _row(kind: str, data: dict[str, Any], duration: float, bare_p50: float) -> tuple[str, int, int]:
    lat = data["latencies"]
    statuses: dict[str, int] = data["statuses"]
    errors = sum(v for k, v in statuses.items() if k in ("exception", "client_died") or (k.isdigit() and int(k) >= 500))
    limited = statuses.get("429", 0)
    rejected = sum(v for k, v in statuses.items() if k.isdigit() and 400 <= int(k) < 500 and k != "429")
    rps = len(lat) / duration if kind != "sse" else 0.0
    ms = [x * 1000 for x in lat]
    p50, p95, p99 = (percentile(ms, p) for p in (50, 95, 99))
    if kind == "sse":
        held = statuses.get("held_to_end", 0)
        line = (
            f"| {KIND_NAMES[kind]} | {data['clients']} | {held}/{data['clients']} held to the end | "
            f"{p50:.1f} | {p95:.1f} | {p99:.1f} | {errors} | {limited} | — |"
        )
    else:
        line = (
            f"| {KIND_NAMES[kind]} | {data['clients']} | {rps:.1f} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {errors} | "
            f"{limited} | {p50 / bare_p50:.1f}× |"
        )
    return line, errors + rejected, len(lat) if kind != "sse" else 0


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    """The markdown body of the fragment."""
    parts = [
        f"gunicorn `--workers {args.workers} --threads {args.threads}` (gthread), started as `python -m gateway.cli "
        f"serve`; {args.warmup:g} s warm-up then {args.duration:g} s measured per target; closed-loop clients in a "
        "separate driver process on the same 2-core machine (the driver competes for the CPU; the bare baseline "
        "pays the same). Latencies in ms. Ratio = the kind's p50 over the bare endpoint's p50 in the same mode. "
        f"Load average when the run started: {args.loadavg} (other work shares this machine).",
        "",
    ]
    for mode, res in results.items():
        gw, bare = res["gateway"], res["bare"]
        b = bare["kinds"]["bare"]
        bare_rps = len(b["latencies"]) / bare["duration"]
        bare_p50 = percentile([x * 1000 for x in b["latencies"]], 50)
        backend = "SQLite (WAL) + SqliteHuey" if mode == "embedded" else "PostgreSQL + Redis (RedisHuey, pub/sub)"
        parts += [
            f"### {mode.capitalize()} mode — {backend}",
            "",
            "| traffic | clients | req/s | p50 | p95 | p99 | errors (5xx, failures) | 429 (rate limit) | p50 vs bare |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        total, bad, all_ms = 0, 0, []
        for kind in ("alexa", "siri", "poll", "chat", "sse"):
            line, wrong, count = _row(kind, gw["kinds"][kind], gw["duration"], bare_p50)
            parts.append(line)
            bad += wrong
            total += count
            if kind != "sse":
                all_ms += [x * 1000 for x in gw["kinds"][kind]["latencies"]]
        b_line, _, _ = _row("bare", b, bare["duration"], bare_p50)
        parts.append(b_line)
        gw_rps = total / gw["duration"]
        alexa_p99 = percentile(gw["kinds"]["alexa"]["latencies"], 99)
        parts += [
            "",
            f"- **Gateway, all request kinds: {gw_rps:.1f} req/s, p99 {percentile(all_ms, 99):.0f} ms** — "
            f"bare endpoint {bare_rps:.1f} req/s, p99 {percentile([x * 1000 for x in b['latencies']], 99):.0f} ms "
            f"(throughput ratio gateway/bare {gw_rps / bare_rps:.2f}).",
            f"- Alexa request → acknowledgement p99: **{alexa_p99:.3f} s against the {ALEXA_BUDGET_S:g} s budget** "
            f"({'within' if alexa_p99 < ALEXA_BUDGET_S else 'OVER'}), full signature + certificate-chain "
            "verification on every request (chain cached per worker).",
            f"- Unexpected 4xx or errors: {bad}; gunicorn exited {res['gateway_exit']} on SIGTERM.",
            "",
        ]
        for kind, data in gw["kinds"].items():
            for err in data["errors"][:3]:
                parts.append(f"  - {kind} error sample: `{err}`")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Run both modes (or ``--modes``), write the fragment, print it."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gateway_load_bench", description=__doc__)
    parser.add_argument("--duration", type=float, default=12.0, help="measured seconds per target (default 12)")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--modes", default="embedded,distributed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--alexa", type=int, default=4, help="Alexa clients")
    parser.add_argument("--siri", type=int, default=3, help="Siri clients")
    parser.add_argument("--poll", type=int, default=3, help="status-poll clients")
    parser.add_argument("--chat", type=int, default=3, help="chat clients (one owner and source address each)")
    parser.add_argument("--chat-rate", type=float, default=1.8, help="messages/s per chat client (limit: 2/s per IP)")
    parser.add_argument("--sse", type=int, default=3, help="SSE subscribers held open")
    args = parser.parse_args(argv)
    args.loadavg = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="omniops-load-") as tmp_name, local_server() as mirror:
        tmp = Path(tmp_name)
        pki = make_pki()
        mirror.route("GET", "/echo.api/echo-api-cert-test.pem", 200, pki.chain_pem, "application/x-pem-file")
        (tmp / "root.pem").write_bytes(pem(pki.root.cert))
        key_file = tmp / "alexa-signing-key.pem"
        key_file.write_bytes(
            pki.leaf.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key_file.chmod(0o600)
        files = {"bundle": str(tmp / "root.pem"), "mirror": mirror.base_url, "key": str(key_file)}
        results = {mode: run_mode(mode, args, tmp, files) for mode in args.modes.split(",")}
        cert_fetches = len(mirror.hits("/echo.api/echo-api-cert-test.pem"))
    body = report(results, args)
    body += f"\nCertificate chain fetched {cert_fetches} time(s) over the whole run (cached per gunicorn worker).\n"
    command = COMMAND if args.duration == 12.0 else f"{COMMAND}  (here: --duration {args.duration:g})"
    path = write_fragment("gateway_load", "Gateway load (gunicorn, embedded and distributed)", body, command=command)
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
