"""Tink envelope encryption: a root key wraps one AES-256-GCM keyset per owner.

Layout (reference/security.md §2.4, §4)::

    root keyset file (Tink JSON, 0600)      ← OMNIOPS_VAULT_ROOT_KEY_FILE, read by the gateway and passed in
      └─ wraps, per owner, a Tink keyset    ← vault_owner_keys, associated data ``keyset:<owner_id>``
           └─ encrypts credentials          ← associated data ``omniops|credential|v1|<owner>|<service>|<id>``
           └─ encrypts audit personal data  ← associated data ``omniops|audit-pii|v1|<owner>|<event id>``

The root key file is a Tink keyset: each root key *version* is one key in it (``vault_root_keys`` maps versions
to Tink key ids). Rotating the root adds a new primary key to the file; older keys stay so that everything
wrapped under them still opens until it has been re-wrapped. Nothing in this module reads the environment.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path

import tink
from tink import aead, secret_key_access
from tink.proto import tink_pb2

from core.errors import ConfigurationError

log = logging.getLogger(__name__)

aead.register()

KEY_TEMPLATE = aead.aead_key_templates.AES256_GCM
CryptoError = tink.TinkError


def credential_ad(owner_id: str, service: str, credential_id: str) -> bytes:
    """Associated data binding a credential ciphertext to its owner, service and row."""
    return f"omniops|credential|v1|{owner_id}|{service}|{credential_id}".encode()


def audit_pii_ad(owner_id: str, event_id: str) -> bytes:
    """Associated data binding an audit row's personal fields to the owner and the row."""
    return f"omniops|audit-pii|v1|{owner_id}|{event_id}".encode()


def keyset_ad(owner_id: str) -> bytes:
    """Associated data binding a wrapped owner keyset to its owner."""
    return f"keyset:{owner_id}".encode()


def system_key_ad(name: str) -> bytes:
    """Associated data binding a wrapped system key (audit chain key, signing key) to its name."""
    return f"omniops|system-key|v1|{name}".encode()


# ------------------------------------------------------------------------------------------ keyset helpers
def _proto(handle: tink.KeysetHandle) -> tink_pb2.Keyset:
    keyset = tink_pb2.Keyset()
    keyset.ParseFromString(tink.proto_keyset_format.serialize(handle, secret_key_access.TOKEN))
    return keyset


def new_keyset() -> tink.KeysetHandle:
    """A fresh AES256_GCM keyset with one (primary) key."""
    return tink.new_keyset_handle(KEY_TEMPLATE)


def with_new_primary(handle: tink.KeysetHandle) -> tink.KeysetHandle:
    """A copy of ``handle`` with a fresh AES256_GCM key added as primary; the old keys still decrypt."""
    keyset = _proto(handle)
    taken = {k.key_id for k in keyset.key}
    while True:
        key = _proto(new_keyset()).key[0]
        if key.key_id not in taken:
            break
    keyset.key.append(key)
    keyset.primary_key_id = key.key_id
    return tink.proto_keyset_format.parse(keyset.SerializeToString(), secret_key_access.TOKEN)


def key_ids(handle: tink.KeysetHandle) -> list[int]:
    """The Tink key ids in a keyset, in order (no key material)."""
    return [k.key_id for k in handle.keyset_info().key_info]


def primary_key_id(handle: tink.KeysetHandle) -> int:
    """The id of the keyset's primary key."""
    return int(handle.keyset_info().primary_key_id)


def wrap(handle: tink.KeysetHandle, kek: aead.Aead, associated_data: bytes) -> bytes:
    """Serialize ``handle`` encrypted under ``kek`` (no cleartext key material in the output)."""
    return bytes(tink.proto_keyset_format.serialize_encrypted(handle, kek, associated_data))


def unwrap(blob: bytes, kek: aead.Aead, associated_data: bytes) -> tink.KeysetHandle:
    """Inverse of :func:`wrap`; raises :data:`CryptoError` for a wrong key or associated data."""
    return tink.proto_keyset_format.parse_encrypted(blob, kek, associated_data)


def primitive(handle: tink.KeysetHandle) -> aead.Aead:
    """The AEAD primitive of a keyset."""
    return handle.primitive(aead.Aead)


# ------------------------------------------------------------------------------------------ root key
class RootKey:
    """The root key-encryption keyset, loaded from a file; thread-safe, reloadable, rotatable.

    ``aead`` always returns a primitive whose keyset is a superset of every earlier one, so a reader holding an
    older reference keeps decrypting what it read; readers in other processes call :meth:`reload` when a wrapped
    blob names a key they have not seen (:meth:`decrypt` does so once by itself).
    """

    def __init__(self, path: Path, handle: tink.KeysetHandle) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._handle = handle
        self._aead = primitive(handle)

    def __repr__(self) -> str:
        return f"RootKey(path={str(self.path)!r}, keys={len(key_ids(self._handle))})"

    # -- loading
    @classmethod
    def load(cls, path: str | os.PathLike[str], *, create_if_missing: bool = False) -> RootKey:
        """Read the root keyset file; with ``create_if_missing`` (embedded mode) generate it, 0600, loudly."""
        p = Path(path)
        if not p.exists():
            if not create_if_missing:
                raise ConfigurationError(f"vault root key file {p} does not exist")
            handle = new_keyset()
            _write_private(p, handle, exclusive=True)
            log.warning(
                "VAULT ROOT KEY GENERATED at %s (mode 0600). Back it up and keep it out of the repository: "
                "without it every stored credential is unreadable. Production must supply its own key file.",
                p,
            )
            return cls(p, handle)
        mode = stat.S_IMODE(p.stat().st_mode)
        if mode & 0o077:
            log.warning("vault root key file %s is readable by group/other (mode %o); chmod 600 it", p, mode)
        return cls(p, _read(p))

    def reload(self) -> None:
        """Re-read the file (another process rotated the root key)."""
        handle = _read(self.path)
        with self._lock:
            self._handle = handle
            self._aead = primitive(handle)

    # -- use
    @property
    def aead(self) -> aead.Aead:
        """The current root AEAD primitive."""
        return self._aead

    @property
    def primary_key_id(self) -> int:
        """Tink key id of the root key that wraps new material."""
        return primary_key_id(self._handle)

    def key_ids(self) -> list[int]:
        """Ids of every root key version in the file."""
        return key_ids(self._handle)

    def wrap(self, handle: tink.KeysetHandle, associated_data: bytes) -> tuple[bytes, int]:
        """Wrap a keyset under the current primary; returns (blob, root key id)."""
        with self._lock:
            return wrap(handle, self._aead, associated_data), primary_key_id(self._handle)

    def unwrap(self, blob: bytes, associated_data: bytes) -> tink.KeysetHandle:
        """Unwrap a keyset, reloading the file once if it was wrapped under a key we have not seen."""
        try:
            return unwrap(blob, self._aead, associated_data)
        except CryptoError:
            self.reload()
            return unwrap(blob, self._aead, associated_data)

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> tuple[bytes, int]:
        """Encrypt raw key bytes under the root primary; returns (ciphertext, root key id)."""
        with self._lock:
            return self._aead.encrypt(plaintext, associated_data), primary_key_id(self._handle)

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        """Decrypt raw key bytes, reloading the file once on an unknown key."""
        try:
            return bytes(self._aead.decrypt(ciphertext, associated_data))
        except CryptoError:
            self.reload()
            return bytes(self._aead.decrypt(ciphertext, associated_data))

    def add_primary(self) -> int:
        """Add a new root key version as primary, persist the file atomically; returns its Tink key id."""
        with self._lock:
            handle = with_new_primary(self._handle)
            _write_private(self.path, handle, exclusive=False)
            self._handle = handle
            self._aead = primitive(handle)
            return primary_key_id(handle)


def _read(path: Path) -> tink.KeysetHandle:
    try:
        return tink.json_proto_keyset_format.parse(path.read_text(), secret_key_access.TOKEN)
    except (OSError, CryptoError, ValueError) as err:
        raise ConfigurationError(f"vault root key file {path} is unreadable or not a Tink keyset") from err


def _write_private(path: Path, handle: tink.KeysetHandle, *, exclusive: bool) -> None:
    """Write the keyset JSON with mode 0600: a fresh file, or a temp file renamed over the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = tink.json_proto_keyset_format.serialize(handle, secret_key_access.TOKEN).encode()
    target = path if exclusive else path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    fd = os.open(target, flags, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if not exclusive:
        os.replace(target, path)
