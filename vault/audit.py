"""Append-only, tamper-evident audit log in the same database (reference/security.md §3.2).

Each row stores the non-personal fields as canonical JSON (``body``), the personal ones (IP address, user agent)
as an AEAD ciphertext under the owner's keyset (``pii``), and the owner as a keyed HMAC (``owner_ref``). Rows are
chained::

    mac_n = HMAC-SHA256(chain_key, JSON[seq, ts, event_id, owner_ref, action, phase,
                                        SHA-256(body), SHA-256(pii), mac_{n-1}])

over the *stored bytes*, so crypto-shredding an owner (their keyset is destroyed, ``pii`` becomes noise) leaves
the chain verifiable. Appends serialize on the ``audit_head`` lock row (``SELECT … FOR UPDATE`` on PostgreSQL;
SQLite's ``BEGIN IMMEDIATE`` from ``gateway.db.make_engine``). Every ``checkpoint_every`` rows or
``checkpoint_interval_seconds`` a checkpoint ``(seq, head mac, time, previous signature)`` is signed with
Ed25519 and can be exported; only an exported checkpoint catches a truncated tail (§3.1); `vault.audit_verify`
checks all of it. The chain and signing
keys are stored wrapped under the root key, so a database thief can neither re-chain nor re-sign.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from core.ports import AuditEntry, AuditLog
from vault import crypto
from vault.keyring import SYSTEM_OWNER, KeyRing, KeysetDestroyed, random_key
from vault.schema import audit_checkpoints, audit_events, audit_head

GENESIS = "0" * 64
CHAIN_KEY = "audit_chain_hmac"
REF_KEY = "audit_owner_ref"
SIGNING_KEY = "audit_signing_ed25519"
EXPORT_FORMAT = "omniops-audit-checkpoints/1"
_PERSONAL = {"owner_id", "ip_address", "user_agent"}

# Hot-path statements, built once (SQLAlchemy statement construction costs more than the SQL itself here).
_LOCK_HEAD = sa.select(audit_head).where(audit_head.c.id == 1).with_for_update()
_INSERT_EVENT = audit_events.insert()
_UPDATE_HEAD = audit_head.update().where(audit_head.c.id == 1)


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sha(data: bytes | None) -> str:
    return "" if data is None else hashlib.sha256(data).hexdigest()


def _ts(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _new_signing_key() -> tuple[bytes, bytes]:
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return raw, key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_raw(key: Ed25519PrivateKey) -> bytes:
    """Raw 32-byte public half of an Ed25519 key."""
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public: bytes) -> str:
    """Short stable id of an Ed25519 public key."""
    return hashlib.sha256(public).hexdigest()[:16]


def row_mac(chain_key: bytes, row: Mapping[Any, Any], prev_mac: str) -> str:
    """The chain MAC of one stored row given the previous row's MAC."""
    pii = row["pii"]
    material = [
        int(row["seq"]),
        row["ts"],
        row["event_id"],
        row["owner_ref"] or "",
        row["action"],
        row["phase"],
        _sha(row["body"].encode()),
        _sha(None if pii is None else bytes(pii)),
        prev_mac,
    ]
    return hmac.new(chain_key, canonical(material).encode(), hashlib.sha256).hexdigest()


def checkpoint_message(seq: int, head_mac: str, ts: str, prev_signature: str) -> bytes:
    """The bytes an audit checkpoint signature covers."""
    return canonical({"v": 1, "seq": seq, "head_mac": head_mac, "ts": ts, "prev_signature": prev_signature}).encode()


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    head_mac: str
    ts: str
    prev_signature: str
    key_id: str
    signature: str


class SqlAuditLog:
    """`core.ports.AuditLog` on SQLAlchemy Core (SQLite or PostgreSQL)."""

    def __init__(
        self,
        engine: Engine,
        *,
        keyring: KeyRing,
        checkpoint_every: int = 1000,
        checkpoint_interval_seconds: float = 3600.0,
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be >= 1")
        self.engine = engine
        self.keyring = keyring
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval = dt.timedelta(seconds=checkpoint_interval_seconds)
        self._head_ready = False
        self._signing_key: Ed25519PrivateKey | None = None

    def __repr__(self) -> str:
        return f"SqlAuditLog(engine={self.engine.url!r}, checkpoint_every={self.checkpoint_every})"

    # ------------------------------------------------------------------ keys
    def chain_key(self) -> bytes:
        """The HMAC key of the chain (stored wrapped under the root key)."""
        return self.keyring.system_key(CHAIN_KEY, make=random_key)

    def signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 checkpoint signing key (stored wrapped under the root key)."""
        if self._signing_key is None:
            raw = self.keyring.system_key(SIGNING_KEY, make=_new_signing_key)
            self._signing_key = Ed25519PrivateKey.from_private_bytes(raw)
        return self._signing_key

    def owner_ref(self, owner_id: str) -> str:
        """Keyed HMAC of an owner id: how audit rows name an owner without storing the id."""
        key = self.keyring.system_key(REF_KEY, make=random_key)
        return hmac.new(key, owner_id.encode(), hashlib.sha256).hexdigest()

    # ------------------------------------------------------------------ append
    def _ensure_head(self) -> None:
        if self._head_ready:
            return
        try:
            with self.engine.begin() as conn:
                if conn.execute(sa.select(audit_head.c.id).where(audit_head.c.id == 1)).first() is None:
                    conn.execute(
                        audit_head.insert().values(
                            id=1, seq=0, mac=GENESIS, checkpoint_seq=0, checkpoint_at=_ts(self.keyring.now())
                        )
                    )
        except IntegrityError:
            pass  # created concurrently
        self._head_ready = True

    def append(self, entry: AuditEntry) -> int:
        """Append one entry; returns its sequence number. Raises if it could not be stored (fail closed)."""
        chain_key = self.chain_key()
        self.signing_key()  # make sure the signing key exists before taking the lock
        self._ensure_head()
        event_id = secrets.token_hex(16)
        owner_ref = self.owner_ref(entry.owner_id) if entry.owner_id else None
        pii: bytes | None = None
        if entry.ip_address is not None or entry.user_agent is not None:
            key_owner = entry.owner_id or SYSTEM_OWNER
            plain = canonical({"ip_address": entry.ip_address, "user_agent": entry.user_agent}).encode()
            aead = self.keyring.owner_aead(key_owner, create=True)
            pii = aead.encrypt(plain, crypto.audit_pii_ad(key_owner, event_id))
        body = canonical(entry.model_dump(mode="json", exclude=_PERSONAL))
        with self.engine.begin() as conn:
            head = conn.execute(_LOCK_HEAD).one()
            now = self.keyring.now()
            row: dict[str, Any] = {
                "seq": head.seq + 1,
                "event_id": event_id,
                "ts": _ts(now),
                "owner_ref": owner_ref,
                "action": entry.action,
                "phase": entry.phase,
                "body": body,
                "pii": pii,
                "prev_mac": head.mac,
            }
            row["mac"] = row_mac(chain_key, row, head.mac)
            conn.execute(_INSERT_EVENT, row)
            values: dict[str, Any] = {"seq": row["seq"], "mac": row["mac"]}
            due = (
                row["seq"] - head.checkpoint_seq >= self.checkpoint_every
                or now - dt.datetime.fromisoformat(head.checkpoint_at) >= self.checkpoint_interval
            )
            if due:
                self._sign(conn, row["seq"], row["mac"], row["ts"])
                values.update(checkpoint_seq=row["seq"], checkpoint_at=row["ts"])
            conn.execute(_UPDATE_HEAD.values(**values))
            return int(row["seq"])

    # ------------------------------------------------------------------ checkpoints
    def _sign(self, conn: Connection, seq: int, head_mac: str, ts: str) -> Checkpoint:
        prev = conn.execute(
            sa.select(audit_checkpoints.c.signature).order_by(audit_checkpoints.c.seq.desc()).limit(1)
        ).scalar()
        prev_sig = prev or ""
        signer = self.signing_key()
        signature = _b64(signer.sign(checkpoint_message(seq, head_mac, ts, prev_sig)))
        cp = Checkpoint(seq, head_mac, ts, prev_sig, key_id_of(public_raw(signer)), signature)
        conn.execute(audit_checkpoints.insert().values(**asdict(cp)))
        return cp

    def checkpoint(self, *, force: bool = True) -> Checkpoint | None:
        """Sign the current head now (``force``) or only if the interval has passed; None if nothing new."""
        self.signing_key()
        self._ensure_head()
        with self.engine.begin() as conn:
            head = conn.execute(sa.select(audit_head).where(audit_head.c.id == 1).with_for_update()).one()
            now = self.keyring.now()
            if head.seq == head.checkpoint_seq and head.seq > 0:
                return None
            if head.seq == 0:
                return None
            if not force and now - dt.datetime.fromisoformat(head.checkpoint_at) < self.checkpoint_interval:
                return None
            cp = self._sign(conn, int(head.seq), head.mac, _ts(now))
            conn.execute(
                audit_head.update().where(audit_head.c.id == 1).values(checkpoint_seq=head.seq, checkpoint_at=cp.ts)
            )
            return cp

    def maybe_checkpoint(self) -> Checkpoint | None:
        """For the worker's periodic tick: sign the head if rows arrived and the interval has passed."""
        return self.checkpoint(force=False)

    def export_checkpoints(self) -> dict[str, Any]:
        """Every signed checkpoint plus the public key, as JSON-able data to store outside the database."""
        public = public_raw(self.signing_key())
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(audit_checkpoints).order_by(audit_checkpoints.c.seq)).mappings().all()
        return {
            "format": EXPORT_FORMAT,
            "algorithm": "Ed25519",
            "public_key": _b64(public),
            "key_id": key_id_of(public),
            "exported_at": _ts(self.keyring.now()),
            "checkpoints": [dict(r) for r in rows],
        }

    # ------------------------------------------------------------------ reading
    def rows_for_owner(self, owner_id: str) -> list[dict[str, Any]]:
        """The owner's audit rows, personal fields decrypted when their keyset still exists."""
        ref = self.owner_ref(owner_id)
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.select(audit_events).where(audit_events.c.owner_ref == ref).order_by(audit_events.c.seq)
                )
                .mappings()
                .all()
            )
        try:
            aead = self.keyring.owner_aead(owner_id, create=False) if any(r["pii"] for r in rows) else None
        except KeysetDestroyed:
            aead = None
        out = []
        for r in rows:
            item: dict[str, Any] = {"seq": r["seq"], "ts": r["ts"], **json.loads(r["body"])}
            if r["pii"] is not None:
                item["personal"] = _open_pii(aead, bytes(r["pii"]), owner_id, r["event_id"])
            out.append(item)
        return out


def _open_pii(aead: Any, blob: bytes, owner_id: str, event_id: str) -> dict[str, Any] | str:
    if aead is None:
        return "erased"
    try:
        value: dict[str, Any] = json.loads(aead.decrypt(blob, crypto.audit_pii_ad(owner_id, event_id)))
    except crypto.CryptoError:
        return "undecryptable"
    return value


class AuditScope:
    """What the body of :func:`audited` can add to the "finished" entry."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.credentials: list[str] = []
        self.detail: dict[str, Any] = {}
        self.success: bool = True


@contextmanager
def audited(log: AuditLog, entry: AuditEntry) -> Iterator[AuditScope]:
    """Write ``entry`` as "started" before the action runs and as "finished" after it, with duration, steps,
    credentials and success (False if the body raised, or if it set ``scope.success = False``).

    Fail closed: if the "started" entry cannot be stored the body never runs (the append's error propagates).
    """
    log.append(entry.model_copy(update={"phase": "started", "success": None}))
    scope = AuditScope()
    t0 = time.monotonic()
    error: BaseException | None = None
    try:
        yield scope
    except BaseException as err:
        error = err
        raise
    finally:
        detail = {**entry.detail, **scope.detail}
        if error is not None:
            detail["error"] = type(error).__name__  # the class only: messages may carry data
        log.append(
            entry.model_copy(
                update={
                    "phase": "finished",
                    "success": scope.success and error is None,
                    "duration_ms": int((time.monotonic() - t0) * 1000),
                    "steps_executed": (*entry.steps_executed, *scope.steps),
                    "credentials_accessed": (*entry.credentials_accessed, *scope.credentials),
                    "detail": detail,
                }
            )
        )
