"""GDPR export (Art. 15/20) and erasure (Art. 17) by crypto-shredding (reference/security.md §4).

`Privacy.export_data` gathers everything stored about an owner: credentials as metadata only, the owner's audit
rows (personal fields decrypted while the keyset exists), and any sections other stores plug in (consents,
runs, …) as callables ``owner_id -> JSON-able``.

`Privacy.delete_data` first revokes what can be revoked upstream through injected hooks (one per service,
``(meta, secret) -> None``, shipped with the recipes), then destroys the owner's keyset — which makes every
credential ciphertext and every audit row's personal fields undecryptable, in backups too once the key-store
backups age out — deletes the credential rows, runs the other stores' erasers, and audits start and end. The
chained audit rows stay, so ``audit verify`` still passes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import Conflict
from core.ports import AuditEntry, CredentialMeta
from vault.audit import SqlAuditLog
from vault.credentials import CredentialVault, Secret

log = logging.getLogger(__name__)

EXPORT_FORMAT = "omniops-owner-export/1"

SectionProvider = Callable[[str], Any]
Revoker = Callable[[CredentialMeta, Secret], None]
Eraser = Callable[[str], int]


@dataclass(frozen=True)
class DeletionReport:
    owner_id: str
    revoked_upstream: tuple[str, ...] = ()
    no_revoke_hook: tuple[str, ...] = ()
    revoke_failed: tuple[str, ...] = ()
    keyset_destroyed: bool = False
    credentials_deleted: int = 0
    erased: dict[str, int] = field(default_factory=dict)


class ErasureBlocked(Conflict):
    code, title = "erasure_blocked", "Upstream revocation failed; erasure stopped before shredding"


class Privacy:
    """Owner data export and erasure over the vault and the audit log."""

    def __init__(self, *, vault: CredentialVault, audit: SqlAuditLog) -> None:
        self.vault = vault
        self.audit = audit

    def export_data(
        self, owner_id: str, *, extra_sections: Mapping[str, SectionProvider] | None = None
    ) -> dict[str, Any]:
        """A JSON-able archive of everything stored about ``owner_id`` (no secret values)."""
        archive: dict[str, Any] = {
            "format": EXPORT_FORMAT,
            "owner_id": owner_id,
            "generated_at": self.vault.keyring.now().isoformat(),
            "credentials": [m.model_dump(mode="json") for m in self.vault.list(owner_id)],
            "audit": self.audit.rows_for_owner(owner_id),
        }
        for name, provider in (extra_sections or {}).items():
            if name in archive:
                raise ValueError(f"export section {name!r} clashes with a built-in section")
            archive[name] = provider(owner_id)
        self.audit.append(AuditEntry(owner_id=owner_id, action="privacy.exported", agent="privacy", success=True))
        return archive

    def delete_data(
        self,
        owner_id: str,
        *,
        revokers: Mapping[str, Revoker] | None = None,
        erasers: Mapping[str, Eraser] | None = None,
        force: bool = False,
        agent: str = "privacy",
    ) -> DeletionReport:
        """Revoke upstream, crypto-shred the owner's keyset, delete their rows; the audit skeleton stays.

        If a revoke hook fails the erasure stops before shredding (:class:`ErasureBlocked`) — after shredding
        nobody could revoke that credential any more — unless ``force``. Idempotent.
        """
        hooks = dict(revokers or {})
        self.audit.append(
            AuditEntry(owner_id=owner_id, action="privacy.erasure", agent=agent, success=None, phase="started")
        )
        revoked: list[str] = []
        missing: list[str] = []
        failed: list[str] = []
        for meta in self.vault.list(owner_id):
            if meta.revoked:
                continue
            hook = hooks.get(meta.service)
            if hook is None:
                missing.append(meta.id)
                continue
            try:
                hook(meta, self.vault.get(meta.id, owner_id=owner_id, run_id=None, step_id="erasure", agent=agent))
            except Exception:
                log.exception("upstream revoke of credential %s (%s) failed", meta.id, meta.service)
                failed.append(meta.id)
                continue
            revoked.append(meta.id)
        if failed and not force:
            self.audit.append(
                AuditEntry(
                    owner_id=owner_id,
                    action="privacy.erasure",
                    agent=agent,
                    success=False,
                    credentials_accessed=tuple(failed),
                    detail={"error": "upstream revoke failed"},
                )
            )
            raise ErasureBlocked(failed=failed)
        destroyed = self.vault.keyring.destroy_owner(owner_id)
        deleted = self.vault.purge_owner(owner_id)
        erased = {name: int(eraser(owner_id)) for name, eraser in (erasers or {}).items()}
        report = DeletionReport(owner_id, tuple(revoked), tuple(missing), tuple(failed), destroyed, deleted, erased)
        self.audit.append(
            AuditEntry(
                owner_id=owner_id,
                action="privacy.erasure",
                agent=agent,
                success=True,
                credentials_accessed=tuple(revoked),
                detail={
                    "keyset_destroyed": destroyed,
                    "credentials_deleted": deleted,
                    "not_revoked_upstream": missing + failed,
                    "erased": erased,
                },
            )
        )
        return report
