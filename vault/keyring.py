"""Owner keysets and system keys in the database, wrapped by the root key, cached per process.

`KeyRing` is the one place that turns a wrapped blob into a usable AEAD. The cache is keyed by the wrapped
blob itself: a reader that fetched a keyset row together with a ciphertext (one statement, one snapshot) uses
exactly that keyset, which always contains the key the ciphertext was made with (keys are only ever added, under
a row lock), so reads racing a rotation never fail — and a keyset destroyed and later re-created for the same
owner can never be confused with a cached one.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
import tink
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from tink import aead

from core.errors import ConfigurationError
from vault import crypto
from vault.schema import owner_keys, root_keys, system_keys

SYSTEM_OWNER = "__system__"  # keyset for personal fields of audit rows that name no owner


def utcnow() -> dt.datetime:
    """Timezone-aware now (the default clock)."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes: read them back as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class KeysetDestroyed(LookupError):
    """The owner's keyset no longer exists (crypto-shredded, or never created)."""


class KeyRing:
    """Root key + per-owner Tink keysets + wrapped system keys, backed by ``engine``."""

    def __init__(self, engine: Engine, root: crypto.RootKey, *, now: Callable[[], dt.datetime] = utcnow) -> None:
        self.engine = engine
        self.root = root
        self.now = now
        self._lock = threading.Lock()
        self._owners: dict[str, tuple[bytes, aead.Aead]] = {}
        self._system: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return f"KeyRing(root={self.root!r})"

    # ------------------------------------------------------------------ root versions
    def register_root(self) -> None:
        """Record the file's primary root key as a version; refuse a file that matches nothing stored."""
        try:
            self._register_root()
        except IntegrityError:  # another process registered a version at the same moment: check again
            self._register_root()

    def _register_root(self) -> None:
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(root_keys.c.key_id, root_keys.c.version)).all()
            known = {r.key_id for r in rows}
            file_ids = set(self.root.key_ids())
            if known and not known & file_ids:
                raise ConfigurationError(
                    "the vault root key file holds none of the root keys this database was encrypted with"
                )
            if self.root.primary_key_id not in known:
                version = max((r.version for r in rows), default=0) + 1
                conn.execute(
                    root_keys.insert().values(version=version, key_id=self.root.primary_key_id, created_at=self.now())
                )

    def root_versions(self) -> list[dict[str, Any]]:
        """Every root key version (version, key id, created_at), oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(root_keys).order_by(root_keys.c.version)).all()
        return [{"version": r.version, "key_id": r.key_id, "created_at": as_utc(r.created_at)} for r in rows]

    # ------------------------------------------------------------------ owner keysets
    def aead_for_row(self, owner_id: str, blob: bytes) -> aead.Aead:
        """The AEAD of an owner keyset row already fetched (cached per wrapped blob)."""
        blob = bytes(blob)
        cached = self._owners.get(owner_id)
        if cached is not None and cached[0] == blob:
            return cached[1]
        prim = crypto.primitive(self.root.unwrap(blob, crypto.keyset_ad(owner_id)))
        with self._lock:
            self._owners[owner_id] = (blob, prim)
        return prim

    def owner_aead(self, owner_id: str, *, create: bool) -> aead.Aead:
        """The owner's AEAD; with ``create`` a keyset is made on first use, else :class:`KeysetDestroyed`."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(owner_keys.c.keyset).where(owner_keys.c.owner_id == owner_id)).first()
        if row is None:
            if not create:
                raise KeysetDestroyed(owner_id)
            return self._create_owner(owner_id)
        return self.aead_for_row(owner_id, row.keyset)

    def _create_owner(self, owner_id: str) -> aead.Aead:
        handle = crypto.new_keyset()
        blob, root_id = self.root.wrap(handle, crypto.keyset_ad(owner_id))
        now = self.now()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    owner_keys.insert().values(
                        owner_id=owner_id,
                        keyset=blob,
                        root_key_id=root_id,
                        revision=1,
                        created_at=now,
                        rotated_at=now,
                    )
                )
        except IntegrityError:  # another thread or process created it first: use theirs
            return self.owner_aead(owner_id, create=False)
        return self.aead_for_row(owner_id, blob)

    def destroy_owner(self, owner_id: str) -> bool:
        """Crypto-shred: delete the owner's wrapped keyset. Returns whether one existed."""
        with self.engine.begin() as conn:
            deleted = conn.execute(owner_keys.delete().where(owner_keys.c.owner_id == owner_id)).rowcount
        with self._lock:
            self._owners.pop(owner_id, None)
        return bool(deleted)

    def owners(self) -> list[str]:
        """Ids of every owner that has a keyset."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(owner_keys.c.owner_id).order_by(owner_keys.c.owner_id)).scalars())

    def rotate_owner(
        self, conn: Connection, owner_id: str, *, add_key: bool = True
    ) -> tuple[aead.Aead, aead.Aead] | None:
        """Inside ``conn``'s transaction: lock the owner's row, add a new primary key (``add_key``) and re-wrap the
        keyset under the current root key. Returns (old AEAD, new AEAD), or None if the owner has no keyset."""
        row = conn.execute(
            sa.select(owner_keys.c.keyset, owner_keys.c.revision)
            .where(owner_keys.c.owner_id == owner_id)
            .with_for_update()
        ).first()
        if row is None:
            return None
        ad = crypto.keyset_ad(owner_id)
        old: tink.KeysetHandle = self.root.unwrap(row.keyset, ad)
        new = crypto.with_new_primary(old) if add_key else old
        blob, root_id = self.root.wrap(new, ad)
        values: dict[str, Any] = {"keyset": blob, "root_key_id": root_id, "revision": row.revision + 1}
        if add_key:
            values["rotated_at"] = self.now()
        conn.execute(owner_keys.update().where(owner_keys.c.owner_id == owner_id).values(**values))
        return crypto.primitive(old), crypto.primitive(new)

    def stale_owners(self, older_than: dt.datetime) -> list[str]:
        """Owners whose keyset got its last new primary before ``older_than``."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(sa.select(owner_keys.c.owner_id).where(owner_keys.c.rotated_at < older_than)).scalars()
            )

    # ------------------------------------------------------------------ system keys
    def system_key(self, name: str, *, make: Callable[[], tuple[bytes, bytes | None]]) -> bytes:
        """Raw bytes of a named system key, created with ``make() -> (secret, public)`` on first use."""
        cached = self._system.get(name)
        if cached is not None:
            return cached
        ad = crypto.system_key_ad(name)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(system_keys.c.wrapped).where(system_keys.c.name == name)).first()
        if row is None:
            secret, public = make()
            wrapped, root_id = self.root.encrypt(secret, ad)
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        system_keys.insert().values(
                            name=name, wrapped=wrapped, public=public, root_key_id=root_id, created_at=self.now()
                        )
                    )
                value = secret
            except IntegrityError:
                return self.system_key(name, make=make)
        else:
            value = self.root.decrypt(row.wrapped, ad)
        with self._lock:
            self._system[name] = value
        return value

    def system_public(self, name: str) -> bytes | None:
        """The stored public half of a system key pair (None if absent)."""
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(system_keys.c.public).where(system_keys.c.name == name)).scalar()
        return None if value is None else bytes(value)

    def rewrap_system_keys(self) -> int:
        """Re-wrap every system key under the current root primary; returns how many."""
        count = 0
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(system_keys.c.name, system_keys.c.wrapped).with_for_update()).all()
            for row in rows:
                ad = crypto.system_key_ad(row.name)
                wrapped, root_id = self.root.encrypt(self.root.decrypt(row.wrapped, ad), ad)
                conn.execute(
                    system_keys.update()
                    .where(system_keys.c.name == row.name)
                    .values(wrapped=wrapped, root_key_id=root_id)
                )
                count += 1
        return count


def random_key() -> tuple[bytes, None]:
    """A 256-bit random secret with no public half (for :meth:`KeyRing.system_key`)."""
    return secrets.token_bytes(32), None
