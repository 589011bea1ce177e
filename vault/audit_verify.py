"""`omniops audit verify`: check the chain, the head, the signed checkpoints and an exported checkpoint file.

The first bad row is reported: an edited, deleted, renumbered or reordered row breaks its MAC or the sequence; a
truncated tail shows up against a checkpoint naming a row that is no longer there — a stored one if the attacker
left it, the exported copy otherwise (reference/security.md §3.1-3.2).
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Engine

from vault.audit import EXPORT_FORMAT, GENESIS, SIGNING_KEY, SqlAuditLog, checkpoint_message, public_raw, row_mac
from vault.keyring import KeyRing
from vault.schema import audit_checkpoints, audit_events, audit_head


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows: int
    checkpoints: int
    head_seq: int
    first_bad_seq: int | None = None
    problem: str | None = None

    def summary(self) -> str:
        """One human line."""
        if self.ok:
            return f"audit log OK: {self.rows} rows chained, {self.checkpoints} signed checkpoints verified"
        where = f" at row {self.first_bad_seq}" if self.first_bad_seq is not None else ""
        return f"audit log TAMPERED{where}: {self.problem}"


class _Bad(Exception):
    def __init__(self, seq: int | None, problem: str) -> None:
        super().__init__(problem)
        self.seq, self.problem = seq, problem


def _check_signature(public: Ed25519PublicKey, cp: Mapping[Any, Any]) -> None:
    msg = checkpoint_message(int(cp["seq"]), cp["head_mac"], cp["ts"], cp["prev_signature"])
    try:
        public.verify(base64.b64decode(cp["signature"]), msg)
    except (InvalidSignature, ValueError) as err:
        raise _Bad(int(cp["seq"]), f"checkpoint at seq {cp['seq']} has an invalid signature") from err


def verify(
    engine: Engine, keyring: KeyRing, *, exported: Mapping[str, Any] | None = None, batch: int = 2000
) -> VerifyResult:
    """Check the whole chain, the head, every stored checkpoint and (if given) an exported checkpoint file.

    Reports the first bad row: an edited, deleted or reordered row breaks its MAC or the sequence; a truncated
    tail shows up against a checkpoint that names a row no longer there (stored or, more robustly, exported).
    """
    log = SqlAuditLog(engine, keyring=keyring)
    chain_key = log.chain_key()
    signer = log.signing_key()
    public_bytes = public_raw(signer)
    macs: dict[int, str] = {}  # chain MACs at the checkpointed rows only
    rows = cps = last = 0
    prev = GENESIS
    try:
        stored_public = keyring.system_public(SIGNING_KEY)
        if stored_public is not None and stored_public != public_bytes:
            raise _Bad(None, "stored audit signing public key does not match the root-protected private key")
        with engine.connect() as conn:
            # Checkpoints, then the head, then rows up to the head: concurrent appends cannot look like damage.
            checkpoints = conn.execute(sa.select(audit_checkpoints).order_by(audit_checkpoints.c.seq)).mappings().all()
            head = conn.execute(sa.select(audit_head).where(audit_head.c.id == 1)).first()
            anchors = {int(c["seq"]) for c in checkpoints}
            anchors |= {int(c["seq"]) for c in (exported or {}).get("checkpoints", [])}
            limit = audit_events.c.seq <= head.seq if head is not None else sa.true()
            while True:
                chunk = (
                    conn.execute(
                        sa.select(audit_events)
                        .where(audit_events.c.seq > last, limit)
                        .order_by(audit_events.c.seq)
                        .limit(batch)
                    )
                    .mappings()
                    .all()
                )
                if not chunk:
                    break
                for r in chunk:
                    expected = last + 1
                    if r["seq"] != expected:
                        raise _Bad(expected, f"row {expected} is missing (deleted or renumbered)")
                    if r["prev_mac"] != prev:
                        raise _Bad(expected, f"row {expected} does not link to row {expected - 1}")
                    if not hmac.compare_digest(row_mac(chain_key, r, prev), r["mac"]):
                        raise _Bad(expected, f"row {expected} was altered (MAC mismatch)")
                    prev = r["mac"]
                    last = expected
                    rows += 1
                    if last in anchors:
                        macs[last] = prev
        if head is None and rows:
            raise _Bad(None, "the chain head row is missing")
        if head is not None and (head.seq != last or (last and head.mac != prev)):
            raise _Bad(last + 1, f"log truncated: the chain head says {head.seq} rows but {last} rows chain")
        public = Ed25519PublicKey.from_public_bytes(public_bytes)
        prev_sig = ""
        for cp in checkpoints:
            _check_signature(public, cp)
            if cp["prev_signature"] != prev_sig:
                raise _Bad(int(cp["seq"]), f"checkpoint at seq {cp['seq']} does not link to the previous one")
            _check_anchor(cp, macs, last, "signed checkpoint")
            prev_sig = cp["signature"]
            cps += 1
        if exported is not None:
            cps += _check_exported(exported, macs, last)
    except _Bad as bad:
        return VerifyResult(False, rows, cps, last, bad.seq, bad.problem)
    return VerifyResult(True, rows, cps, last)


def _check_anchor(cp: Mapping[Any, Any], macs: Mapping[int, str], last: int, what: str) -> None:
    seq = int(cp["seq"])
    if seq > last:
        raise _Bad(last + 1, f"log truncated: {what} covers {seq} rows but only {last} remain")
    if macs.get(seq) != cp["head_mac"]:
        raise _Bad(seq, f"row {seq} differs from the {what}")


def _check_exported(exported: Mapping[str, Any], macs: Mapping[int, str], last: int) -> int:
    if exported.get("format") != EXPORT_FORMAT:
        raise _Bad(None, "exported checkpoint file has an unknown format")
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(exported["public_key"]))
    except (KeyError, ValueError) as err:
        raise _Bad(None, "exported checkpoint file has no valid public key") from err
    count = 0
    for cp in exported.get("checkpoints", []):
        _check_signature(public, cp)
        _check_anchor(cp, macs, last, "exported checkpoint")
        count += 1
    return count
