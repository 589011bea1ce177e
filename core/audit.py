"""Building audit entries the same way everywhere (identity, account linking, consent, commands)."""

from __future__ import annotations

from typing import Any

from core.ports import AuditEntry

USER_AGENT_MAX = 300


def audit_entry(
    action: str,
    *,
    owner_id: str | None,
    agent: str,
    success: bool | None = True,
    ip: str | None = None,
    user_agent: str | None = None,
    **detail: Any,
) -> AuditEntry:
    """One audit entry; ``detail`` values of None are dropped, and ``detail`` must never hold a secret."""
    return AuditEntry(
        owner_id=owner_id,
        action=action,
        agent=agent,
        success=success,
        ip_address=ip,
        user_agent=(user_agent or None) and user_agent[:USER_AGENT_MAX],
        detail={k: v for k, v in detail.items() if v is not None},
    )
