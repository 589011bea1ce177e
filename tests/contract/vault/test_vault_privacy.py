"""Privacy contract: export everything about an owner; erase by crypto-shredding while the audit chain verifies."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from core.errors import NotFound
from core.ports import AuditEntry, CredentialMeta
from vault import crypto
from vault.audit_verify import verify
from vault.credentials import Secret
from vault.keyring import KeysetDestroyed
from vault.privacy import ErasureBlocked
from vault.schema import audit_events, credentials
from vault.services import VaultServices

WOO = {"consumer_key": "ck_erase_me_1234", "consumer_secret": "cs_erase_me_5678"}
STRIPE = {"api_key": "rk_live_erase_me_9"}
IP, UA = "203.0.113.77", "Alexa/2.0 (Echo Dot)"


def _seed(services: VaultServices) -> tuple[CredentialMeta, CredentialMeta]:
    woo = services.vault.put("own_gone", "woocommerce", "shop", WOO)
    stripe = services.vault.put("own_gone", "stripe", "live", STRIPE)
    services.vault.put("own_stays", "stripe", "live", {"api_key": "rk_live_keep"})
    services.audit.append(
        AuditEntry(
            owner_id="own_gone",
            action="command.handled",
            agent="channel:alexa",
            success=True,
            ip_address=IP,
            user_agent=UA,
        )
    )
    services.audit.append(
        AuditEntry(
            owner_id="own_stays", action="command.handled", agent="channel:sms", success=True, ip_address="192.0.2.5"
        )
    )
    services.vault.get(woo.id, owner_id="own_gone", run_id="run_1", step_id="s1")
    return woo, stripe


def test_export_contains_metadata_audit_and_plugged_sections_but_no_secrets(services: VaultServices) -> None:
    woo, stripe = _seed(services)
    archive = services.privacy.export_data(
        "own_gone",
        extra_sections={"consents": lambda o: [{"id": "con_1", "owner": o}], "runs": lambda o: [{"id": "run_1"}]},
    )
    text = json.dumps(archive)  # JSON-able
    assert {c["id"] for c in archive["credentials"]} == {woo.id, stripe.id}
    assert archive["consents"] == [{"id": "con_1", "owner": "own_gone"}] and archive["runs"] == [{"id": "run_1"}]
    personal = [r["personal"] for r in archive["audit"] if "personal" in r]
    assert personal == [{"ip_address": IP, "user_agent": UA}]
    assert any(r["action"] == "credential.accessed" and r["run_id"] == "run_1" for r in archive["audit"])
    for value in [*WOO.values(), *STRIPE.values(), "rk_live_keep", "192.0.2.5"]:
        assert value not in text
    with pytest.raises(ValueError, match="clashes"):
        services.privacy.export_data("own_gone", extra_sections={"audit": lambda o: []})


def test_delete_data_shreds_secrets_and_personal_fields_and_verify_still_passes(services: VaultServices) -> None:
    woo, stripe = _seed(services)
    aead_before = services.keyring.owner_aead("own_gone", create=False)
    with services.engine.connect() as conn:
        old_ciphertexts = {
            r.id: bytes(r.ciphertext)
            for r in conn.execute(sa.select(credentials).where(credentials.c.owner_id == "own_gone"))
        }
        pii_rows = conn.execute(
            sa.select(audit_events.c.event_id, audit_events.c.pii).where(audit_events.c.pii.is_not(None))
        ).all()
    revoked_upstream: list[tuple[str, dict[str, Any]]] = []

    def revoke_woo(meta: CredentialMeta, secret: Secret) -> None:
        revoked_upstream.append((meta.id, secret.reveal()))

    erased_runs: list[str] = []
    report = services.privacy.delete_data(
        "own_gone",
        revokers={"woocommerce": revoke_woo},
        erasers={"runs": lambda o: erased_runs.append(o) or 3},
    )
    assert revoked_upstream == [(woo.id, WOO)]
    assert report.revoked_upstream == (woo.id,) and report.no_revoke_hook == (stripe.id,)
    assert report.keyset_destroyed and report.credentials_deleted == 2 and report.erased == {"runs": 3}
    assert erased_runs == ["own_gone"]

    # The secrets are gone: no rows, no keyset; a fresh keyring over the same database cannot open old copies.
    assert services.vault.list("own_gone") == []
    with pytest.raises(NotFound):
        services.vault.get(woo.id, owner_id="own_gone", run_id=None, step_id=None)
    with pytest.raises(KeysetDestroyed):
        services.keyring.owner_aead("own_gone", create=False)
    new_aead = services.keyring.owner_aead("own_gone", create=True)  # a later sign-up gets unrelated keys
    for cid, blob in old_ciphertexts.items():
        service = "woocommerce" if cid == woo.id else "stripe"
        with pytest.raises(crypto.CryptoError):
            new_aead.decrypt(blob, crypto.credential_ad("own_gone", service, cid))
        assert json.loads(
            aead_before.decrypt(blob, crypto.credential_ad("own_gone", service, cid))
        )  # sanity: it was real
    # Personal fields in the audit rows can no longer be decrypted ...
    for event_id, blob in pii_rows:
        with pytest.raises(crypto.CryptoError):
            new_aead.decrypt(bytes(blob), crypto.audit_pii_ad("own_gone", event_id))
    rows = services.audit.rows_for_owner("own_gone")
    assert [r["personal"] for r in rows if "personal" in r] == ["undecryptable"]
    assert IP not in json.dumps(rows)
    # ... the audit skeleton is kept and the chain still verifies; the other owner is untouched.
    erasure = [(r["phase"], r["success"]) for r in rows if r["action"] == "privacy.erasure"]
    assert erasure == [("started", None), ("finished", True)]
    result = verify(services.engine, services.keyring)
    assert result.ok, result.problem
    kept = [r["personal"] for r in services.audit.rows_for_owner("own_stays") if "personal" in r]
    assert kept == [{"ip_address": "192.0.2.5", "user_agent": None}]
    assert services.vault.get(services.vault.list("own_stays")[0].id, owner_id="own_stays", run_id=None, step_id=None)


def test_after_erasure_without_new_keyset_personal_fields_read_as_erased(services: VaultServices) -> None:
    _seed(services)
    services.privacy.delete_data("own_gone")
    assert [r["personal"] for r in services.audit.rows_for_owner("own_gone") if "personal" in r] == ["erased"]
    assert services.privacy.delete_data("own_gone").credentials_deleted == 0  # idempotent
    assert verify(services.engine, services.keyring).ok


def test_failed_upstream_revoke_blocks_shredding_unless_forced(services: VaultServices) -> None:
    woo, _ = _seed(services)

    def broken(meta: CredentialMeta, secret: Secret) -> None:
        raise RuntimeError("provider down")

    with pytest.raises(ErasureBlocked):
        services.privacy.delete_data("own_gone", revokers={"woocommerce": broken})
    assert (
        services.vault.get(woo.id, owner_id="own_gone", run_id=None, step_id=None).reveal() == WOO
    )  # nothing shredded
    report = services.privacy.delete_data("own_gone", revokers={"woocommerce": broken}, force=True)
    assert report.revoke_failed == (woo.id,) and report.keyset_destroyed
    assert verify(services.engine, services.keyring).ok


def test_other_process_cache_never_confuses_a_recreated_keyset(services: VaultServices, build: Any) -> None:
    other = build()  # another gateway/worker process with its own keyset cache
    old = services.vault.put("own_gone", "woocommerce", "shop", WOO)
    assert other.vault.get(old.id, owner_id="own_gone", run_id=None, step_id=None).reveal() == WOO  # cached there
    services.privacy.delete_data("own_gone")
    new = services.vault.put("own_gone", "woocommerce", "shop again", STRIPE)  # the owner signs up again
    assert other.vault.get(new.id, owner_id="own_gone", run_id=None, step_id=None).reveal() == STRIPE
    assert verify(services.engine, services.keyring).ok
