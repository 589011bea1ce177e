"""Unit tests for the vault's pure parts: Secret, Tink helpers, chain MAC, checkpoint bytes."""

from __future__ import annotations

import logging
import pickle

import pytest

from core.ports import AuditEntry
from vault import crypto
from vault.audit import GENESIS, audited, canonical, checkpoint_message, row_mac
from vault.audit_verify import VerifyResult
from vault.credentials import Secret

VALUES = {"consumer_key": "ck_unit_abc", "consumer_secret": "cs_unit_def"}


def test_secret_never_shows_values() -> None:
    secret = Secret(VALUES)
    logged = logging.LogRecord("t", logging.INFO, __file__, 1, "got %s %r", (secret, secret), None).getMessage()
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", logged):
        assert "ck_unit_abc" not in shown and "cs_unit_def" not in shown
        assert "redacted" in shown
    assert secret.fields() == ("consumer_key", "consumer_secret")
    assert secret.reveal() == VALUES and secret["consumer_secret"] == "cs_unit_def"
    assert secret == Secret(dict(VALUES))
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    with pytest.raises(TypeError):
        dict(secret)  # type: ignore[call-overload]
    revealed = secret.reveal()
    revealed["consumer_key"] = "changed"
    assert secret["consumer_key"] == "ck_unit_abc"  # reveal hands out a copy


def test_wrong_associated_data_fails() -> None:
    aead = crypto.primitive(crypto.new_keyset())
    ct = aead.encrypt(b"secret", crypto.credential_ad("o", "woocommerce", "c1"))
    assert len(ct) == len(b"secret") + 33  # 5-byte Tink prefix + 12-byte IV + 16-byte tag
    with pytest.raises(crypto.CryptoError):
        aead.decrypt(ct, crypto.credential_ad("o", "woocommerce", "c2"))


def test_flipped_byte_fails() -> None:
    aead = crypto.primitive(crypto.new_keyset())
    ad = crypto.credential_ad("o", "s", "c")
    ct = bytearray(aead.encrypt(b"secret", ad))
    for i in (0, 5, len(ct) - 1):
        broken = bytearray(ct)
        broken[i] ^= 0x80
        with pytest.raises(crypto.CryptoError):
            aead.decrypt(bytes(broken), ad)


def test_new_primary_keeps_old_keys_decrypting() -> None:
    old = crypto.new_keyset()
    ad = b"ad"
    old_ct = crypto.primitive(old).encrypt(b"before", ad)
    new = crypto.with_new_primary(old)
    assert len(crypto.key_ids(new)) == 2 and crypto.primary_key_id(new) != crypto.primary_key_id(old)
    new_ct = crypto.primitive(new).encrypt(b"after", ad)
    assert int.from_bytes(new_ct[1:5], "big") == crypto.primary_key_id(new)  # key id travels in the prefix
    assert crypto.primitive(new).decrypt(old_ct, ad) == b"before"
    with pytest.raises(crypto.CryptoError):
        crypto.primitive(old).decrypt(new_ct, ad)


def test_wrapped_keyset_is_bound_to_its_owner_and_kek() -> None:
    kek = crypto.primitive(crypto.new_keyset())
    keyset = crypto.new_keyset()
    blob = crypto.wrap(keyset, kek, crypto.keyset_ad("own_a"))
    assert crypto.key_ids(crypto.unwrap(blob, kek, crypto.keyset_ad("own_a"))) == crypto.key_ids(keyset)
    with pytest.raises(crypto.CryptoError):
        crypto.unwrap(blob, kek, crypto.keyset_ad("own_b"))
    with pytest.raises(crypto.CryptoError):
        crypto.unwrap(blob, crypto.primitive(crypto.new_keyset()), crypto.keyset_ad("own_a"))


def test_row_mac_covers_every_field_and_the_previous_mac() -> None:
    key = b"k" * 32
    row = {
        "seq": 1,
        "ts": "2026-01-01T00:00:00+00:00",
        "event_id": "e1",
        "owner_ref": "r",
        "action": "a",
        "phase": "finished",
        "body": canonical({"x": 1}),
        "pii": b"\x01\x02",
    }
    base = row_mac(key, row, GENESIS)
    assert base == row_mac(key, dict(row), GENESIS)
    changes = {
        "seq": 2,
        "ts": "2026-01-01T00:00:01+00:00",
        "event_id": "e2",
        "owner_ref": None,
        "action": "b",
        "phase": "started",
        "body": canonical({"x": 2}),
        "pii": None,
    }
    for field, value in changes.items():
        assert row_mac(key, {**row, field: value}, GENESIS) != base, field
    assert row_mac(key, row, "1" * 64) != base
    assert row_mac(b"other" * 8, row, GENESIS) != base


def test_canonical_json_and_checkpoint_bytes_are_stable() -> None:
    assert canonical({"b": 1, "a": [1, "é"]}) == '{"a":[1,"é"],"b":1}'
    assert checkpoint_message(3, "ab", "t", "") == b'{"head_mac":"ab","prev_signature":"","seq":3,"ts":"t","v":1}'


def test_verify_result_summary() -> None:
    assert "OK" in VerifyResult(True, 3, 1, 3).summary()
    bad = VerifyResult(False, 2, 0, 2, 3, "row 3 is missing")
    assert bad.summary() == "audit log TAMPERED at row 3: row 3 is missing"


class FakeAuditLog:
    """In-memory `core.ports.AuditLog`."""

    def __init__(self, *, fail: bool = False) -> None:
        self.entries: list[AuditEntry] = []
        self.fail = fail

    def append(self, entry: AuditEntry) -> int:
        if self.fail:
            raise RuntimeError("audit store down")
        self.entries.append(entry)
        return len(self.entries)


def _entry() -> AuditEntry:
    return AuditEntry(
        owner_id="own_a", action="recipe.connect_woocommerce", agent="worker:w1", success=None, run_id="run_1"
    )


def test_audited_writes_started_then_finished() -> None:
    log = FakeAuditLog()
    with audited(log, _entry()) as scope:
        assert [e.phase for e in log.entries] == ["started"]
        scope.steps.append("create_key")
        scope.credentials.append("cred_1")
    started, finished = log.entries
    assert started.success is None and started.run_id == "run_1"
    assert finished.phase == "finished" and finished.success is True and finished.duration_ms is not None
    assert finished.steps_executed == ("create_key",) and finished.credentials_accessed == ("cred_1",)


def test_audited_records_failure_without_the_message() -> None:
    log = FakeAuditLog()
    with pytest.raises(ValueError), audited(log, _entry()):
        raise ValueError("token=sk_live_dont_log_me")
    finished = log.entries[-1]
    assert finished.success is False and finished.detail["error"] == "ValueError"
    assert "sk_live_dont_log_me" not in finished.model_dump_json()


def test_audited_fails_closed() -> None:
    ran: list[bool] = []
    with pytest.raises(RuntimeError), audited(FakeAuditLog(fail=True), _entry()):
        ran.append(True)
    assert ran == []
