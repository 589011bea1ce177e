"""CLI hooks: ``omniops vault rotate``, ``omniops audit verify``, ``omniops audit export-checkpoints``.

`register_cli(subparsers, build_services)` adds the ``vault`` and ``audit`` commands to the gateway's argparse
tree; each sets ``func`` (``args -> exit code``). The plain ``run_*`` functions do the work and can be called
directly with a `VaultServices`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from vault.audit_verify import verify
from vault.services import VaultServices


def run_rotate(services: VaultServices, *, root: bool = True, if_due: bool = False, out: TextIO = sys.stdout) -> int:
    """Rotate now (or only what the policy says is overdue); prints what was done."""
    report = services.vault.rotate_if_due() if if_due else services.vault.rotate(root=root)
    if report is None:
        print("vault rotation: nothing due", file=out)
        return 0
    print(
        f"vault rotation: root version {report.root_version or 'unchanged'}, {report.owners_rotated} owner keysets "
        f"rotated, {report.credentials_rewrapped} credentials re-encrypted, "
        f"{report.system_keys_rewrapped} system keys re-wrapped",
        file=out,
    )
    return 0


def run_verify(services: VaultServices, *, checkpoints_file: str | None = None, out: TextIO = sys.stdout) -> int:
    """Verify the chain, head and checkpoints (and an exported checkpoint file); exit code 1 when tampered."""
    exported: dict[str, Any] | None = None
    if checkpoints_file:
        exported = json.loads(Path(checkpoints_file).read_text())
    result = verify(services.engine, services.keyring, exported=exported)
    print(result.summary(), file=out)
    return 0 if result.ok else 1


def run_export_checkpoints(
    services: VaultServices, *, output: str | None = None, sign_now: bool = True, out: TextIO = sys.stdout
) -> int:
    """Write every signed checkpoint (plus the public key) as JSON to ``output`` or stdout."""
    if sign_now:
        services.audit.checkpoint(force=True)
    text = json.dumps(services.audit.export_checkpoints(), indent=2, sort_keys=True)
    if output:
        Path(output).write_text(text + "\n")
        print(f"wrote checkpoints to {output}", file=out)
    else:
        print(text, file=out)
    return 0


def register_cli(subparsers: Any, build_services: Callable[[], VaultServices]) -> None:
    """Add ``vault rotate`` and ``audit verify|export-checkpoints`` to an argparse subparsers object."""
    vault_p: argparse.ArgumentParser = subparsers.add_parser("vault", help="credential vault maintenance")
    vault_sub = vault_p.add_subparsers(dest="vault_command", required=True)
    rotate = vault_sub.add_parser("rotate", help="add new primary keys and re-wrap under a new root key version")
    rotate.add_argument("--owners-only", action="store_true", help="keep the root key; rotate owner keysets")
    rotate.add_argument("--if-due", action="store_true", help="only what the rotation policy says is overdue")
    rotate.set_defaults(
        func=lambda a: run_rotate(build_services(), root=not a.owners_only, if_due=a.if_due),
    )

    audit_p: argparse.ArgumentParser = subparsers.add_parser("audit", help="tamper-evident audit log")
    audit_sub = audit_p.add_subparsers(dest="audit_command", required=True)
    ver = audit_sub.add_parser("verify", help="check the chain and the signed checkpoints; exit 1 if tampered")
    ver.add_argument("--checkpoints", metavar="FILE", help="an exported checkpoint file (catches truncation)")
    ver.set_defaults(func=lambda a: run_verify(build_services(), checkpoints_file=a.checkpoints))
    exp = audit_sub.add_parser("export-checkpoints", help="sign the head and export every checkpoint as JSON")
    exp.add_argument("--output", "-o", metavar="FILE")
    exp.add_argument("--no-sign", action="store_true", help="export without signing the current head first")
    exp.set_defaults(func=lambda a: run_export_checkpoints(build_services(), output=a.output, sign_now=not a.no_sign))
