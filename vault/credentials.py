"""The credential vault: put, get (audited, names the run and step), list (metadata only), revoke, delete, rotate.

Each secret is a JSON object encrypted with the owner's Tink keyset under associated data binding owner, service
and credential id (`vault.crypto.credential_ad`), so a ciphertext copied to another row or owner does not open.
``expires_at`` is the *provider-side* expiry of the credential (an OAuth access token's), never an invented
one: WooCommerce keys do not expire. Key rotation is a separate matter (`CredentialVault.rotate`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.errors import Forbidden, NotFound, OmniOpsError
from core.ports import AuditEntry, AuditLog, CredentialMeta, Ids
from vault import crypto
from vault.keyring import KeyRing, as_utc
from vault.schema import credentials, owner_keys

log = logging.getLogger(__name__)

DEFAULT_ROTATION_DAYS = 90


# The hot path's statement, built once: the credential row together with its owner's wrapped keyset.
_GET_QUERY = (
    sa.select(
        credentials.c.owner_id,
        credentials.c.service,
        credentials.c.ciphertext,
        credentials.c.revoked_at,
        owner_keys.c.keyset,
    )
    .select_from(credentials.outerjoin(owner_keys, owner_keys.c.owner_id == credentials.c.owner_id))
    .where(credentials.c.id == sa.bindparam("cid"), credentials.c.owner_id == sa.bindparam("owner"))
)


class CredentialRevoked(Forbidden):
    code, title = "credential_revoked", "Credential revoked"


class CredentialUnreadable(OmniOpsError):
    code, title = "credential_unreadable", "Credential cannot be decrypted"


class Secret:
    """A decrypted credential. Its repr/str never show values; call :meth:`reveal` at the point of use."""

    __slots__ = ("__values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__values = dict(values)

    def reveal(self) -> dict[str, Any]:
        """A copy of the secret's fields (keep it out of logs, exceptions and payloads)."""
        return dict(self.__values)

    def __getitem__(self, name: str) -> Any:
        return self.__values[name]

    def fields(self) -> tuple[str, ...]:
        """Names of the fields (safe to show)."""
        return tuple(sorted(self.__values))

    def __repr__(self) -> str:
        return f"Secret(fields={list(self.fields())!r}, values=<redacted>)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.__values == self.__values

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> NoReturn:
        raise TypeError("Secret cannot be pickled")

    def __iter__(self) -> Iterator[str]:
        raise TypeError("Secret is not iterable; call reveal()")


@dataclass(frozen=True)
class RotationReport:
    root_version: int | None
    owners_rotated: int
    credentials_rewrapped: int
    system_keys_rewrapped: int
    owners: tuple[str, ...] = field(default=(), repr=False)


class CredentialVault:
    """`core.ports.Vault` plus the secret-handling operations the executor and the CLI need."""

    def __init__(
        self,
        engine: Engine,
        *,
        keyring: KeyRing,
        audit: AuditLog,
        ids: Ids | None = None,
        rotation_days: int = DEFAULT_ROTATION_DAYS,
        agent: str = "vault",
    ) -> None:
        self.engine = engine
        self.keyring = keyring
        self.audit = audit
        self.ids = ids
        self.rotation_days = rotation_days
        self.agent = agent

    def __repr__(self) -> str:
        return f"CredentialVault(engine={self.engine.url!r})"

    def _new_id(self) -> str:
        return self.ids.new_id("cred") if self.ids else f"cred_{secrets.token_urlsafe(16)}"

    # ------------------------------------------------------------------ write
    def put(
        self,
        owner_id: str,
        service: str,
        label: str,
        secret: Mapping[str, Any],
        expires_at: dt.datetime | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
        agent: str | None = None,
    ) -> CredentialMeta:
        """Encrypt and store a credential (a JSON object of fields); returns its metadata."""
        cid = self._new_id()
        plain = json.dumps(dict(secret), sort_keys=True).encode()
        ciphertext = self.keyring.owner_aead(owner_id, create=True).encrypt(
            plain, crypto.credential_ad(owner_id, service, cid)
        )
        now = self.keyring.now()
        with self.engine.begin() as conn:
            conn.execute(
                credentials.insert().values(
                    id=cid,
                    owner_id=owner_id,
                    service=service,
                    label=label,
                    meta=dict(metadata or {}),
                    ciphertext=ciphertext,
                    created_at=now,
                    updated_at=now,
                    expires_at=expires_at,
                )
            )
        self._audit(owner_id, "credential.stored", agent, True, cid, {"service": service})
        log.info("stored credential %s (%s) for owner %s", cid, service, owner_id)
        return CredentialMeta(
            id=cid, owner_id=owner_id, service=service, label=label, created_at=now, expires_at=expires_at
        )

    # ------------------------------------------------------------------ read
    def get(
        self, credential_id: str, *, owner_id: str, run_id: str | None, step_id: str | None, agent: str | None = None
    ) -> Secret:
        """Decrypt one credential for ``owner_id``; every call is audited with the run and step that asked."""
        detail = {"step_id": step_id}
        with self.engine.connect() as conn:
            row = conn.execute(_GET_QUERY, {"cid": credential_id, "owner": owner_id}).first()
        if row is None or row.ciphertext is None:
            self._audit(owner_id, "credential.accessed", agent, False, credential_id, detail, run_id, "not found")
            raise NotFound("No such credential")
        if row.revoked_at is not None:
            self._audit(owner_id, "credential.accessed", agent, False, credential_id, detail, run_id, "revoked")
            raise CredentialRevoked("This credential was revoked")
        try:
            if row.keyset is None:
                raise crypto.CryptoError("owner keyset destroyed")
            aead = self.keyring.aead_for_row(owner_id, row.keyset)
            plain = aead.decrypt(row.ciphertext, crypto.credential_ad(owner_id, row.service, credential_id))
        except crypto.CryptoError:
            self._audit(owner_id, "credential.accessed", agent, False, credential_id, detail, run_id, "undecryptable")
            raise CredentialUnreadable() from None
        self._audit(owner_id, "credential.accessed", agent, True, credential_id, detail, run_id)
        return Secret(json.loads(plain))

    def list(self, owner_id: str) -> Sequence[CredentialMeta]:
        """Metadata of the owner's live credentials (never values)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(credentials)
                .where(credentials.c.owner_id == owner_id, credentials.c.deleted_at.is_(None))
                .order_by(credentials.c.created_at, credentials.c.id)
            ).all()
        return [_meta(r) for r in rows]

    def find(self, owner_id: str, service: str) -> CredentialMeta | None:
        """The owner's newest unrevoked credential for ``service``, if any."""
        live = [m for m in self.list(owner_id) if m.service == service and not m.revoked]
        return live[-1] if live else None

    # ------------------------------------------------------------------ lifecycle
    def revoke(self, credential_id: str, *, owner_id: str, agent: str | None = None) -> CredentialMeta:
        """Mark a credential revoked: it stays listed but ``get`` refuses it."""
        return self._mark(credential_id, owner_id, "revoked_at", "credential.revoked", agent)

    def delete(self, credential_id: str, *, owner_id: str, agent: str | None = None) -> CredentialMeta:
        """Erase the ciphertext and hide the credential (metadata row kept as a tombstone)."""
        return self._mark(credential_id, owner_id, "deleted_at", "credential.deleted", agent)

    def _mark(self, cid: str, owner_id: str, column: str, action: str, agent: str | None) -> CredentialMeta:
        now = self.keyring.now()
        values: dict[str, Any] = {column: now, "updated_at": now}
        if column == "deleted_at":
            values["ciphertext"] = None
        where = (credentials.c.id == cid, credentials.c.owner_id == owner_id, credentials.c.deleted_at.is_(None))
        with self.engine.begin() as conn:
            if not conn.execute(credentials.update().where(*where).values(**values)).rowcount:
                raise NotFound("No such credential")
            row = conn.execute(sa.select(credentials).where(credentials.c.id == cid)).one()
        self._audit(owner_id, action, agent, True, cid, {"service": row.service})
        return _meta(row)

    def purge_owner(self, owner_id: str) -> int:
        """Delete every credential row of the owner (GDPR erasure); returns how many."""
        with self.engine.begin() as conn:
            return int(conn.execute(credentials.delete().where(credentials.c.owner_id == owner_id)).rowcount)

    # ------------------------------------------------------------------ rotation
    def rotate(
        self, *, root: bool = True, owners: Sequence[str] | None = None, agent: str = "operator"
    ) -> RotationReport:
        """Rotate keys: optionally a new root key version, then for each owner a new primary key in their keyset,
        the keyset re-wrapped under the root primary and their credentials re-encrypted under the new key.
        Old keys stay in every keyset, so anything encrypted earlier (and any read racing this) still opens."""
        root_version = None
        if root:
            self.keyring.root.add_primary()
            self.keyring.register_root()
            root_version = self.keyring.root_versions()[-1]["version"]
        targets = list(owners) if owners is not None else self.keyring.owners()
        rotated = rewrapped = 0
        for owner_id in targets:
            with self.engine.begin() as conn:
                pair = self.keyring.rotate_owner(conn, owner_id)
                if pair is None:
                    continue
                old, new = pair
                rows = conn.execute(
                    sa.select(credentials.c.id, credentials.c.service, credentials.c.ciphertext).where(
                        credentials.c.owner_id == owner_id, credentials.c.ciphertext.is_not(None)
                    )
                ).all()
                for r in rows:
                    ad = crypto.credential_ad(owner_id, r.service, r.id)
                    try:
                        fresh = new.encrypt(old.decrypt(r.ciphertext, ad), ad)
                    except crypto.CryptoError:
                        log.error("credential %s of owner %s does not decrypt; left as is", r.id, owner_id)
                        continue
                    conn.execute(credentials.update().where(credentials.c.id == r.id).values(ciphertext=fresh))
                    rewrapped += 1
            rotated += 1
        system = self.keyring.rewrap_system_keys() if root else 0
        report = RotationReport(root_version, rotated, rewrapped, system, tuple(targets))
        self.audit.append(
            AuditEntry(
                owner_id=None,
                action="vault.rotated",
                agent=agent,
                success=True,
                detail={"root_version": root_version, "owners": rotated, "credentials": rewrapped},
            )
        )
        log.info("vault rotation: %s", report)
        return report

    def rotation_due(self, *, now: dt.datetime | None = None) -> tuple[bool, Sequence[str]]:
        """(root key older than the policy, owners whose keyset is older than the policy)."""
        cutoff = (now or self.keyring.now()) - dt.timedelta(days=self.rotation_days)
        versions = self.keyring.root_versions()
        root_due = bool(versions) and versions[-1]["created_at"] < cutoff
        return root_due, self.keyring.stale_owners(cutoff)

    def rotate_if_due(self, *, now: dt.datetime | None = None) -> RotationReport | None:
        """The worker's periodic check: rotate whatever the policy (``rotation_days``) says is overdue."""
        root_due, stale = self.rotation_due(now=now)
        if root_due:
            return self.rotate(root=True, agent="worker:auto-rotation")
        if stale:
            return self.rotate(root=False, owners=stale, agent="worker:auto-rotation")
        return None

    # ------------------------------------------------------------------ audit
    def _audit(
        self,
        owner_id: str,
        action: str,
        agent: str | None,
        success: bool,
        cid: str,
        detail: Mapping[str, Any],
        run_id: str | None = None,
        error: str | None = None,
    ) -> None:
        extra = dict(detail)
        if error:
            extra["error"] = error
        self.audit.append(
            AuditEntry(
                owner_id=owner_id,
                action=action,
                agent=agent or self.agent,
                success=success,
                run_id=run_id,
                credentials_accessed=(cid,),
                detail=extra,
            )
        )


def _meta(row: Any) -> CredentialMeta:
    return CredentialMeta(
        id=row.id,
        owner_id=row.owner_id,
        service=row.service,
        label=row.label,
        created_at=as_utc(row.created_at),
        expires_at=as_utc(row.expires_at) if row.expires_at else None,
        revoked=row.revoked_at is not None,
    )
