"""Vault benchmark: credential get latency (p50/p99) and audit appends per second, on SQLite and PostgreSQL.

Every figure comes with a baseline measured in the same run on the same engine, so the result is a ratio that
survives a noisy machine:

* ``get`` (SELECT row + owner keyset, Tink AES-256-GCM decrypt, one chained audit append) versus a raw
  ``SELECT`` of the same row, and versus a raw ``SELECT`` plus a raw one-row ``INSERT`` transaction (the same
  I/O shape without the crypto and the chain);
* audit ``append`` (lock row, HMAC chain, insert, head update; checkpoints every 1000 rows) versus a raw
  one-row ``INSERT`` transaction into a plain table, single-threaded and with 4 threads.

Run: ``python benchmarks/vault_bench.py [--n 500] [--backends sqlite,postgres]``; writes
``benchmarks/results/vault.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.ports import AuditEntry
from gateway.db import create_schema, make_engine
from vault import schema
from vault.audit_verify import verify
from vault.services import build_vault

PG_URL = os.environ.get("OMNIOPS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
RESULTS = Path(__file__).resolve().parent / "results" / "vault.md"

bench_meta = sa.MetaData()
bench_rows = sa.Table(
    "bench_raw_rows",
    bench_meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("action", sa.String(120), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
)


@contextmanager
def backend(name: str, tmp: Path) -> Iterator[Engine]:
    if name == "sqlite":
        engine = make_engine(f"sqlite:///{tmp / 'bench.db'}")
        yield engine
        engine.dispose()
        return
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    schema_name = f"bench_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema_name}"'))
    engine = sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema_name}"}, pool_size=10)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema_name}" CASCADE'))
        admin.dispose()


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def throughput(fn: Callable[[], object], n: int, threads: int) -> float:
    per = n // threads

    def work() -> None:
        for _ in range(per):
            fn()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return per * threads / (time.perf_counter() - t0)


def run_backend(name: str, n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, backend(name, Path(tmp)) as engine:
        create_schema(engine, [schema.SCHEMA])
        bench_meta.create_all(engine)
        svc = build_vault(engine, root_key_file=Path(tmp) / "root.json", create_root_key=True)
        meta = svc.vault.put("own_bench", "woocommerce", "shop", {"consumer_key": "ck_x", "consumer_secret": "cs_y"})
        select_row = sa.select(schema.credentials.c.ciphertext).where(schema.credentials.c.id == meta.id)
        counter = iter(range(10**9))

        def raw_select() -> None:
            with engine.connect() as conn:
                conn.execute(select_row).scalar_one()

        def raw_insert() -> None:
            with engine.begin() as conn:
                conn.execute(bench_rows.insert().values(action="bench", body=f'{{"i":{next(counter)}}}'))

        def raw_select_insert() -> None:
            raw_select()
            raw_insert()

        def get() -> None:
            svc.vault.get(meta.id, owner_id="own_bench", run_id="run_bench", step_id="s")

        def append() -> None:
            svc.audit.append(AuditEntry(owner_id="own_bench", action="bench", agent="bench", success=True))

        for fn in (raw_select, raw_insert, get, append):  # warm caches, pools, compiled statements
            timed(fn, 20)
        # Interleave measured blocks so load drift hits both sides alike.
        base_sel: list[float] = []
        base_si: list[float] = []
        gets: list[float] = []
        block = max(n // 5, 1)
        for _ in range(5):
            base_sel += timed(raw_select, block)
            base_si += timed(raw_select_insert, block)
            gets += timed(get, block)
        r = {
            "get_p50": pct(gets, 50),
            "get_p99": pct(gets, 99),
            "sel_p50": pct(base_sel, 50),
            "sel_p99": pct(base_sel, 99),
            "si_p50": pct(base_si, 50),
            "si_p99": pct(base_si, 99),
            "append_1": throughput(append, n, 1),
            "insert_1": throughput(raw_insert, n, 1),
            "append_4": throughput(append, n, 4),
            "insert_4": throughput(raw_insert, n, 4),
        }
        result = verify(engine, svc.keyring)
        if not result.ok:
            raise SystemExit(f"audit chain broken after the benchmark on {name}: {result.summary()}")
        r["rows"] = result.rows
        return r


def machine() -> str:
    uname = " ".join((*platform.uname()[:3], platform.uname().machine))
    try:
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        git = "?"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}\n"
        f"- machine: `{uname}`, nproc {os.cpu_count()}, load average at start {load} (shared machine)\n"
        f"- python {platform.python_version()}, SQLAlchemy {sa.__version__}, commit {git}\n"
    )


def render(results: dict[str, dict[str, float]], n: int, header: str) -> str:
    lines = [
        "## Vault and audit log (`benchmarks/vault_bench.py`)",
        "",
        header,
        f"- {n} samples per figure, measured in interleaved blocks; baselines run in the same process on the same "
        "engine. SQLite is a WAL file (`gateway.db.make_engine`, `BEGIN IMMEDIATE`), PostgreSQL is local over TCP.",
        "",
        "Credential `get` = SELECT row + keyset, Tink AES-256-GCM decrypt, and one chained audit append "
        "(every get is audited, fail-closed).",
        "",
        "| backend | get p50 ms | get p99 ms | raw SELECT p50 / p99 ms | get ÷ SELECT (p50) "
        "| raw SELECT+INSERT p50 / p99 ms | get ÷ SELECT+INSERT (p50) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['get_p50']:.2f} | {r['get_p99']:.2f} | {r['sel_p50']:.2f} / {r['sel_p99']:.2f} "
            f"| {r['get_p50'] / r['sel_p50']:.1f}x | {r['si_p50']:.2f} / {r['si_p99']:.2f} "
            f"| {r['get_p50'] / r['si_p50']:.2f}x |"
        )
    lines += [
        "",
        "Audit `append` = lock row (`FOR UPDATE` / `BEGIN IMMEDIATE`), HMAC-SHA256 chain, insert, head update, "
        "Ed25519 checkpoint every 1000 rows; baseline = raw one-row INSERT transaction into a plain table.",
        "",
        "| backend | appends/s (1 thread) | raw INSERTs/s (1 thread) | ratio | appends/s (4 threads) "
        "| raw INSERTs/s (4 threads) | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['append_1']:.0f} | {r['insert_1']:.0f} | {r['append_1'] / r['insert_1']:.2f} "
            f"| {r['append_4']:.0f} | {r['insert_4']:.0f} | {r['append_4'] / r['insert_4']:.2f} |"
        )
    checked = ", ".join(f"{k} {int(v['rows'])} rows OK" for k, v in results.items())
    lines += ["", f"After each run `verify` re-checked the whole chain: {checked}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args()
    header = machine()
    results = {name: run_backend(name, args.n) for name in args.backends.split(",")}
    text = render(results, args.n, header)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
