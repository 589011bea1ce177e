"""Audit log contract: append-only triggers, chain, checkpoints, tamper detection, concurrency. Every backend."""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import io
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from core.ports import AuditEntry
from vault import schema
from vault.audit import checkpoint_message
from vault.audit_verify import verify
from vault.cli import register_cli, run_export_checkpoints, run_verify
from vault.schema import audit_checkpoints, audit_events, audit_head
from vault.services import VaultServices

REPO = Path(__file__).resolve().parents[3]


def entry(i: int, owner: str | None = "own_a", **kw: Any) -> AuditEntry:
    return AuditEntry(
        owner_id=owner, action="command.handled", agent="channel:sms", success=True, detail={"i": i}, **kw
    )


def fill(services: VaultServices, n: int, **kw: Any) -> list[int]:
    return [services.audit.append(entry(i, **kw)) for i in range(n)]


def test_appends_chain_and_verify(services: VaultServices) -> None:
    assert fill(services, 25) == list(range(1, 26))
    result = verify(services.engine, services.keyring)
    assert result.ok and result.rows == 25 and result.head_seq == 25
    assert result.checkpoints == 2  # every 10 rows
    schema.install(services.engine)  # idempotent
    assert verify(services.engine, services.keyring).ok


def test_update_delete_truncate_are_refused_by_triggers(services: VaultServices, engine: Engine) -> None:
    fill(services, 3)
    services.audit.checkpoint()
    attempts = [
        "UPDATE audit_events SET action = 'x' WHERE seq = 2",
        "DELETE FROM audit_events WHERE seq = 3",
        "UPDATE audit_checkpoints SET head_mac = 'x'",
        "DELETE FROM audit_checkpoints",
    ]
    if engine.dialect.name == "postgresql":
        attempts += ["TRUNCATE audit_events", "TRUNCATE audit_checkpoints"]
    for statement in attempts:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar() == 3
    assert verify(engine, services.keyring).ok


def test_edited_row_is_detected(services: VaultServices, attacker: Any) -> None:
    fill(services, 12)
    attacker.drop_triggers()
    attacker.sql(
        "UPDATE audit_events SET body = replace(body, :a, :b) WHERE seq = 7", a='"success":true', b='"success":false'
    )
    result = verify(services.engine, services.keyring)
    assert not result.ok and result.first_bad_seq == 7 and "altered" in (result.problem or "")


def test_edited_personal_field_ciphertext_is_detected(services: VaultServices, attacker: Any) -> None:
    fill(services, 5, ip_address="203.0.113.9")
    attacker.drop_triggers()
    attacker.sql("UPDATE audit_events SET pii = NULL WHERE seq = 4")
    assert verify(services.engine, services.keyring).first_bad_seq == 4


def test_deleted_row_is_detected(services: VaultServices, attacker: Any) -> None:
    fill(services, 12)
    attacker.drop_triggers()
    attacker.sql("DELETE FROM audit_events WHERE seq = 5")
    result = verify(services.engine, services.keyring)
    assert not result.ok and result.first_bad_seq == 5 and "missing" in (result.problem or "")


def test_deleted_and_renumbered_rows_are_detected(services: VaultServices, attacker: Any) -> None:
    fill(services, 8)
    attacker.drop_triggers()
    attacker.sql("DELETE FROM audit_events WHERE seq = 5")
    for seq in (6, 7, 8):  # close the gap, as a careful attacker would
        attacker.sql("UPDATE audit_events SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    attacker.sql("UPDATE audit_head SET seq = 7, mac = (SELECT mac FROM audit_events WHERE seq = 7)")
    result = verify(services.engine, services.keyring)
    assert not result.ok and result.first_bad_seq == 5


def test_reordered_rows_are_detected(services: VaultServices, attacker: Any) -> None:
    fill(services, 6)
    attacker.drop_triggers()
    attacker.sql("UPDATE audit_events SET seq = 1000 WHERE seq = 3")
    attacker.sql("UPDATE audit_events SET seq = 3 WHERE seq = 4")
    attacker.sql("UPDATE audit_events SET seq = 4 WHERE seq = 1000")
    result = verify(services.engine, services.keyring)
    assert not result.ok and result.first_bad_seq == 3


def test_truncation_below_a_stored_checkpoint_is_detected(services: VaultServices, attacker: Any) -> None:
    fill(services, 25)  # checkpoints at 10 and 20
    attacker.drop_triggers()
    attacker.sql("DELETE FROM audit_events WHERE seq > 15")
    attacker.sql("UPDATE audit_head SET seq = 15, mac = (SELECT mac FROM audit_events WHERE seq = 15)")
    result = verify(services.engine, services.keyring)
    assert not result.ok and result.first_bad_seq == 16 and "truncated" in (result.problem or "")


def test_truncation_after_the_last_checkpoint_needs_the_exported_copy(
    services: VaultServices, attacker: Any, tmp_path: Path
) -> None:
    fill(services, 20)
    fill(services, 5)
    services.audit.checkpoint()  # signs head 25
    exported = services.audit.export_checkpoints()
    attacker.drop_triggers()
    attacker.sql("DELETE FROM audit_events WHERE seq > 20")
    attacker.sql("DELETE FROM audit_checkpoints WHERE seq > 20")
    attacker.sql("UPDATE audit_head SET seq = 20, mac = (SELECT mac FROM audit_events WHERE seq = 20)")
    # Inside the database alone the shortened log is self-consistent (reference/security.md §3.1) ...
    assert verify(services.engine, services.keyring).ok
    # ... the checkpoint exported before the attack catches it.
    result = verify(services.engine, services.keyring, exported=exported)
    assert not result.ok and result.first_bad_seq == 21 and "truncated" in (result.problem or "")
    path = tmp_path / "checkpoints.json"
    path.write_text(json.dumps(exported))
    out = io.StringIO()
    assert run_verify(services, checkpoints_file=str(path), out=out) == 1
    assert "row 21" in out.getvalue()


def test_forged_checkpoint_is_detected(services: VaultServices, attacker: Any) -> None:
    fill(services, 10)
    attacker.drop_triggers()
    forger = Ed25519PrivateKey.generate()
    with services.engine.connect() as conn:
        cp = conn.execute(sa.select(audit_checkpoints)).mappings().one()
    bogus_mac = "f" * 64
    sig = base64.b64encode(forger.sign(checkpoint_message(10, bogus_mac, cp["ts"], ""))).decode()
    attacker.sql("UPDATE audit_checkpoints SET head_mac = :m, signature = :s", m=bogus_mac, s=sig)
    result = verify(services.engine, services.keyring)
    assert not result.ok and "invalid signature" in (result.problem or "")


def test_exported_checkpoints_verify_with_only_the_public_key(services: VaultServices) -> None:
    fill(services, 21)
    data = json.loads(json.dumps(services.audit.export_checkpoints()))
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(data["public_key"]))
    assert [c["seq"] for c in data["checkpoints"]] == [10, 20]
    for cp in data["checkpoints"]:
        public.verify(
            base64.b64decode(cp["signature"]),
            checkpoint_message(cp["seq"], cp["head_mac"], cp["ts"], cp["prev_signature"]),
        )
    assert verify(services.engine, services.keyring, exported=data).ok


def test_hourly_checkpoint(services: VaultServices) -> None:
    fill(services, 3)
    assert services.audit.maybe_checkpoint() is None
    real_now = services.keyring.now
    services.keyring.now = lambda: real_now() + dt.timedelta(hours=1, seconds=1)
    cp = services.audit.maybe_checkpoint()
    assert cp is not None and cp.seq == 3
    services.keyring.now = lambda: real_now() + dt.timedelta(hours=2, seconds=2)
    seq = services.audit.append(entry(99))  # the first append after another hour signs itself
    with services.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.max(audit_checkpoints.c.seq))).scalar() == seq
    assert verify(services.engine, services.keyring).ok


def test_personal_fields_are_encrypted_and_owner_is_pseudonymous(services: VaultServices) -> None:
    services.audit.append(entry(1, ip_address="198.51.100.23", user_agent="Mozilla/5.0 Firefox"))
    services.audit.append(entry(2, owner=None, ip_address="198.51.100.99"))
    with services.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_events)).mappings().all()
    dump = repr([dict(r) for r in rows])
    for value in ("198.51.100.23", "Firefox", "own_a", "198.51.100.99"):
        assert value not in dump
    mine = services.audit.rows_for_owner("own_a")
    assert mine[0]["personal"] == {"ip_address": "198.51.100.23", "user_agent": "Mozilla/5.0 Firefox"}
    assert verify(services.engine, services.keyring).ok


def test_concurrent_appends_from_threads_keep_the_chain(services: VaultServices) -> None:
    seqs: list[int] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        for i in range(20):
            s = services.audit.append(entry(i, owner=f"own_{k}", ip_address="192.0.2.1"))
            with lock:
                seqs.append(s)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seqs) == list(range(1, 121))
    result = verify(services.engine, services.keyring)
    assert result.ok and result.rows == 120 and result.checkpoints == 12


CHILD = """
import sys
import sqlalchemy as sa
from gateway.db import make_engine
from core.ports import AuditEntry
from vault.services import build_vault
url, search_path, root, n, tag = sys.argv[1:6]
if url.startswith("sqlite"):
    engine = make_engine(url)
else:
    engine = sa.create_engine(url, connect_args={"options": f"-csearch_path={search_path}"})
s = build_vault(engine, root_key_file=root, checkpoint_every=10)
for i in range(int(n)):
    s.audit.append(AuditEntry(owner_id="own_" + tag, action="proc", agent="worker:" + tag, success=True))
"""


@pytest.mark.slow
def test_concurrent_appends_from_processes_keep_the_chain(
    services: VaultServices, engine: Engine, tmp_path: Path
) -> None:
    services.audit.append(entry(0))  # create the keys and head before the children race
    search_path = ""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            search_path = str(conn.execute(sa.text("SELECT current_schema()")).scalar())
    url = engine.url.render_as_string(hide_password=False)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, url, search_path, str(tmp_path / "root-key.json"), "15", f"p{k}"],
            cwd=REPO,
        )
        for k in range(2)
    ]
    assert [p.wait(timeout=240) for p in procs] == [0, 0]
    result = verify(engine, services.keyring)
    assert result.ok and result.rows == 31
    with engine.connect() as conn:
        assert conn.execute(sa.select(audit_head.c.seq)).scalar() == 31


def test_cli_hooks(services: VaultServices, tmp_path: Path, attacker: Any) -> None:
    fill(services, 4)
    parser = argparse.ArgumentParser(prog="omniops")
    register_cli(parser.add_subparsers(dest="command"), lambda: services)
    out_file = tmp_path / "cps.json"
    args = parser.parse_args(["audit", "export-checkpoints", "-o", str(out_file)])
    assert args.func(args) == 0
    assert json.loads(out_file.read_text())["checkpoints"][-1]["seq"] == 4
    args = parser.parse_args(["audit", "verify", "--checkpoints", str(out_file)])
    assert args.func(args) == 0
    args = parser.parse_args(["vault", "rotate", "--if-due"])
    assert args.func(args) == 0
    out = io.StringIO()
    assert run_export_checkpoints(services, out=out) == 0 and json.loads(out.getvalue())["algorithm"] == "Ed25519"
    attacker.drop_triggers()
    attacker.sql("DELETE FROM audit_events WHERE seq = 2")
    out = io.StringIO()
    assert run_verify(services, out=out) == 1
    assert "TAMPERED at row 2" in out.getvalue()
