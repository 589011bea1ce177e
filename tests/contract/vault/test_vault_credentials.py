"""Credential vault contract: encryption binding, tamper detection, rotation, auditing, no leaks. Every backend."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.errors import ConfigurationError, NotFound
from core.ports import Vault
from vault import crypto
from vault.audit_verify import verify
from vault.credentials import CredentialRevoked, CredentialUnreadable, Secret
from vault.keyring import KeyRing
from vault.schema import audit_events, credentials, owner_keys
from vault.services import VaultServices

WOO = {"consumer_key": "ck_live_7f3a9be1c0", "consumer_secret": "cs_live_93ddf01e5a"}
STRIPE = {"api_key": "rk_live_51Hx0secretvalue"}


def _ciphertext(engine: Engine, cid: str) -> bytes:
    with engine.connect() as conn:
        return bytes(conn.execute(sa.select(credentials.c.ciphertext).where(credentials.c.id == cid)).scalar_one())


def _audit_bodies(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            json.loads(b) for b in conn.execute(sa.select(audit_events.c.body).order_by(audit_events.c.seq)).scalars()
        ]


def test_put_get_list_roundtrip_and_implements_vault_port(services: VaultServices) -> None:
    meta = services.vault.put("own_a", "woocommerce", "Main shop", WOO, metadata={"store_url": "https://shop.test"})
    port: Vault = services.vault  # structural: mypy checks CredentialVault satisfies core.ports.Vault
    assert services.vault.get(meta.id, owner_id="own_a", run_id="run_1", step_id="st_1").reveal() == WOO
    listed = port.list("own_a")
    assert [m.id for m in listed] == [meta.id]
    assert listed[0].service == "woocommerce" and listed[0].expires_at is None  # no invented expiry
    assert services.vault.list("own_b") == []
    assert services.vault.find("own_a", "woocommerce") == listed[0]


def test_provider_expiry_is_stored_as_given(services: VaultServices) -> None:
    expires = dt.datetime(2027, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    meta = services.vault.put("own_a", "stripe", "OAuth", STRIPE, expires_at=expires)
    assert services.vault.list("own_a")[0].expires_at == expires == meta.expires_at


def test_every_get_is_audited_with_run_and_step(services: VaultServices) -> None:
    meta = services.vault.put("own_a", "woocommerce", "shop", WOO)
    services.vault.get(meta.id, owner_id="own_a", run_id="run_42", step_id="create_webhook")
    with pytest.raises(NotFound):
        services.vault.get(meta.id, owner_id="own_intruder", run_id="run_43", step_id="peek")
    accessed = [b for b in _audit_bodies(services.engine) if b["action"] == "credential.accessed"]
    assert accessed[0]["run_id"] == "run_42" and accessed[0]["detail"]["step_id"] == "create_webhook"
    assert accessed[0]["credentials_accessed"] == [meta.id] and accessed[0]["success"] is True
    assert accessed[1]["run_id"] == "run_43" and accessed[1]["success"] is False


def test_wrong_associated_data_fails(services: VaultServices) -> None:
    meta = services.vault.put("own_a", "woocommerce", "shop", WOO)
    aead = services.keyring.owner_aead("own_a", create=False)
    blob = _ciphertext(services.engine, meta.id)
    assert json.loads(aead.decrypt(blob, crypto.credential_ad("own_a", "woocommerce", meta.id))) == WOO
    for wrong in (
        crypto.credential_ad("own_b", "woocommerce", meta.id),
        crypto.credential_ad("own_a", "stripe", meta.id),
        crypto.credential_ad("own_a", "woocommerce", "cred_other"),
    ):
        with pytest.raises(crypto.CryptoError):
            aead.decrypt(blob, wrong)


def test_flipped_ciphertext_byte_fails(services: VaultServices) -> None:
    meta = services.vault.put("own_a", "woocommerce", "shop", WOO)
    blob = bytearray(_ciphertext(services.engine, meta.id))
    blob[len(blob) // 2] ^= 0x01
    with services.engine.begin() as conn:
        conn.execute(credentials.update().where(credentials.c.id == meta.id).values(ciphertext=bytes(blob)))
    with pytest.raises(CredentialUnreadable):
        services.vault.get(meta.id, owner_id="own_a", run_id=None, step_id=None)


def test_ciphertext_moved_to_another_row_does_not_decrypt(services: VaultServices) -> None:
    victim = services.vault.put("own_a", "stripe", "live", STRIPE)
    same_owner = services.vault.put("own_a", "stripe", "test", {"api_key": "rk_test_x"})
    other_owner = services.vault.put("own_b", "stripe", "live", {"api_key": "rk_live_b"})
    stolen = _ciphertext(services.engine, victim.id)
    with services.engine.begin() as conn:
        for target in (same_owner.id, other_owner.id):
            conn.execute(credentials.update().where(credentials.c.id == target).values(ciphertext=stolen))
    with pytest.raises(CredentialUnreadable):
        services.vault.get(same_owner.id, owner_id="own_a", run_id=None, step_id=None)
    with pytest.raises(CredentialUnreadable):
        services.vault.get(other_owner.id, owner_id="own_b", run_id=None, step_id=None)
    assert services.vault.get(victim.id, owner_id="own_a", run_id=None, step_id=None).reveal() == STRIPE


def test_database_alone_does_not_decrypt_without_the_root_key(
    build: Any, services: VaultServices, tmp_path: Path
) -> None:
    services.vault.put("own_a", "woocommerce", "shop", WOO)
    with services.engine.connect() as conn:
        blob = conn.execute(sa.select(owner_keys.c.keyset)).scalar_one()
    other_root = crypto.RootKey.load(tmp_path / "attacker-root.json", create_if_missing=True)
    with pytest.raises(crypto.CryptoError):
        crypto.unwrap(blob, other_root.aead, crypto.keyset_ad("own_a"))
    assert WOO["consumer_secret"].encode() not in bytes(blob)
    with pytest.raises(crypto.CryptoError):  # a keyset wrapped for one owner cannot be passed off as another's
        crypto.unwrap(blob, services.keyring.root.aead, crypto.keyset_ad("own_b"))


def test_revoke_and_delete(services: VaultServices) -> None:
    a = services.vault.put("own_a", "woocommerce", "shop", WOO)
    b = services.vault.put("own_a", "stripe", "live", STRIPE)
    assert services.vault.revoke(a.id, owner_id="own_a").revoked
    with pytest.raises(CredentialRevoked):
        services.vault.get(a.id, owner_id="own_a", run_id=None, step_id=None)
    services.vault.delete(b.id, owner_id="own_a")
    assert [m.id for m in services.vault.list("own_a")] == [a.id]
    with pytest.raises(NotFound):
        services.vault.get(b.id, owner_id="own_a", run_id=None, step_id=None)
    with services.engine.connect() as conn:
        assert conn.execute(sa.select(credentials.c.ciphertext).where(credentials.c.id == b.id)).scalar() is None
    with pytest.raises(NotFound):
        services.vault.revoke(b.id, owner_id="own_a")


def test_rotation_keeps_old_data_readable(services: VaultServices, build: Any) -> None:
    before = [services.vault.put(f"own_{i}", "woocommerce", "shop", {**WOO, "n": i}) for i in range(3)]
    old_ciphertext = _ciphertext(services.engine, before[0].id)
    old_root = services.keyring.root.primary_key_id
    report = services.vault.rotate()
    assert report.root_version == 2 and report.owners_rotated == 3 and report.credentials_rewrapped == 3
    assert services.keyring.root.primary_key_id != old_root
    assert old_root in services.keyring.root.key_ids()
    after = services.vault.put("own_0", "stripe", "live", STRIPE)
    for i, meta in enumerate(before):
        assert services.vault.get(meta.id, owner_id=f"own_{i}", run_id=None, step_id=None).reveal() == {**WOO, "n": i}
    # Data encrypted under the pre-rotation key still opens (old keys stay in the keyset).
    aead = services.keyring.owner_aead("own_0", create=False)
    assert (
        json.loads(aead.decrypt(old_ciphertext, crypto.credential_ad("own_0", "woocommerce", before[0].id)))["n"] == 0
    )
    # A fresh process (new root key object, new cache) reads everything too.
    fresh = build()
    assert fresh.vault.get(after.id, owner_id="own_0", run_id=None, step_id=None).reveal() == STRIPE
    assert fresh.vault.get(before[2].id, owner_id="own_2", run_id=None, step_id=None).reveal()["n"] == 2
    # The audit keys were re-wrapped under the new root version and still verify the chain written before.
    assert verify(fresh.engine, fresh.keyring).ok


def test_another_process_reloads_the_root_key_after_rotation(
    services: VaultServices, tmp_path: Path, engine: Engine
) -> None:
    meta = services.vault.put("own_a", "woocommerce", "shop", WOO)
    other = KeyRing(engine, crypto.RootKey.load(tmp_path / "root-key.json"))  # loaded before the rotation
    services.vault.rotate()
    assert (
        other.owner_aead("own_a", create=False).decrypt(
            _ciphertext(engine, meta.id), crypto.credential_ad("own_a", "woocommerce", meta.id)
        )
        == json.dumps(WOO, sort_keys=True).encode()
    )


@pytest.mark.slow
def test_1000_reads_during_rotation_all_succeed(services: VaultServices) -> None:
    owners = [f"own_{i}" for i in range(4)]
    creds = [(o, services.vault.put(o, "woocommerce", "shop", {**WOO, "owner": o}).id) for o in owners]
    total, threads_n = 1000, 3
    results: list[bool] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    started = threading.Event()
    per_thread = [total // threads_n + (1 if k < total % threads_n else 0) for k in range(threads_n)]

    def reader(k: int) -> None:
        for i in range(per_thread[k]):
            owner, cid = creds[(i + k) % len(creds)]
            try:
                ok = services.vault.get(cid, owner_id=owner, run_id="run_r", step_id=str(i)).reveal()["owner"] == owner
            except BaseException as err:  # any failure counts, so record it
                with lock:
                    errors.append(err)
                continue
            with lock:
                results.append(ok)
                if len(results) >= 50:
                    started.set()

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(threads_n)]
    for t in threads:
        t.start()
    started.wait(timeout=120)
    rotations = 0
    reads_when_first_rotation_done = -1
    while any(t.is_alive() for t in threads) or rotations == 0:
        services.vault.rotate(root=rotations % 2 == 0)
        rotations += 1
        if rotations == 1:
            with lock:
                reads_when_first_rotation_done = len(results)
        time.sleep(0.05)  # let readers through between rotations (SQLite has one writer at a time)
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == total and all(results)
    assert 0 < reads_when_first_rotation_done < total  # the rotation really ran while reads were going on
    assert len(services.keyring.root.key_ids()) >= 2


def test_rotate_if_due_follows_the_policy(services: VaultServices) -> None:
    services.vault.put("own_a", "woocommerce", "shop", WOO)
    now = services.keyring.now()
    assert services.vault.rotate_if_due(now=now) is None
    report = services.vault.rotate_if_due(now=now + dt.timedelta(days=91))
    assert report is not None and report.root_version == 2 and report.owners_rotated == 1
    assert services.vault.rotate_if_due(now=now + dt.timedelta(days=30)) is None


def test_secrets_never_in_repr_str_logs_or_errors(services: VaultServices, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    meta = services.vault.put("own_a", "woocommerce", "shop", WOO)
    secret = services.vault.get(meta.id, owner_id="own_a", run_id="run_1", step_id="s")
    services.vault.rotate()
    shown = [
        repr(secret),
        str(secret),
        f"{secret}",
        repr(meta),
        str(meta),
        repr(services.vault),
        repr(services.keyring),
    ]
    with services.engine.begin() as conn:
        conn.execute(credentials.update().where(credentials.c.id == meta.id).values(ciphertext=b"\x01garbage"))
    with pytest.raises(CredentialUnreadable) as err:
        services.vault.get(meta.id, owner_id="own_a", run_id="run_2", step_id="s")
    shown += [str(err.value), repr(err.value), json.dumps(err.value.problem())]
    haystack = "\n".join([*shown, caplog.text, json.dumps(_audit_bodies(services.engine))])
    for value in WOO.values():
        assert value not in haystack
    assert isinstance(secret, Secret) and secret["consumer_key"] == WOO["consumer_key"]


def test_a_root_key_file_that_matches_nothing_stored_is_refused(
    build: Any, services: VaultServices, tmp_path: Path
) -> None:
    services.vault.put("own_a", "woocommerce", "shop", WOO)
    with pytest.raises(ConfigurationError, match="none of the root keys"):
        build(root_key_file=tmp_path / "fresh-by-mistake.json")  # e.g. a lost key file regenerated in embedded mode
