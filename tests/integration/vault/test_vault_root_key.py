"""The root key file: generated 0600 with a loud warning in embedded mode, required otherwise, rotatable."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from core.errors import ConfigurationError
from vault import crypto


def test_generated_on_first_run_with_0600_and_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "var" / "root.json"
    with caplog.at_level(logging.WARNING, logger="vault.crypto"):
        root = crypto.RootKey.load(path, create_if_missing=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert any(r.levelno == logging.WARNING and "ROOT KEY GENERATED" in r.getMessage() for r in caplog.records)
    again = crypto.RootKey.load(path)
    ct, key_id = root.encrypt(b"x", b"ad")
    assert again.decrypt(ct, b"ad") == b"x" and key_id == again.primary_key_id
    assert str(path) in repr(root) and "keyData" not in repr(root)


def test_missing_file_is_refused_unless_embedded(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        crypto.RootKey.load(tmp_path / "absent.json")
    (tmp_path / "junk.json").write_text("not a keyset")
    with pytest.raises(ConfigurationError):
        crypto.RootKey.load(tmp_path / "junk.json")


def test_loose_permissions_warn(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "root.json"
    crypto.RootKey.load(path, create_if_missing=True)
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING, logger="vault.crypto"):
        crypto.RootKey.load(path)
    assert "chmod 600" in caplog.text


def test_add_primary_persists_and_old_versions_still_decrypt(tmp_path: Path) -> None:
    path = tmp_path / "root.json"
    root = crypto.RootKey.load(path, create_if_missing=True)
    stale = crypto.RootKey.load(path)
    blob, first = root.wrap(crypto.new_keyset(), b"keyset:o")
    second = root.add_primary()
    assert second != first and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert crypto.RootKey.load(path).key_ids() == [first, second]
    newer, used = root.wrap(crypto.new_keyset(), b"keyset:o")
    assert used == second
    root.unwrap(blob, b"keyset:o")
    stale.unwrap(newer, b"keyset:o")  # another process reloads the file when it meets an unknown key
    assert stale.primary_key_id == second
    assert not list(tmp_path.glob(".*.tmp"))
