"""Small adapters between ports: the executor's credential access over the vault, and fan-out notifiers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from core.commands import ReplyRoute
from core.events import RunEvent
from core.ports import ConsentRecord, Notifier, Owner
from vault.credentials import CredentialVault

log = logging.getLogger("omniops.notify")


class VaultCredentialAccess:
    """`executor.recipe.CredentialAccess` over the Tink vault: newest live credential per service."""

    def __init__(self, vault: CredentialVault) -> None:
        self._vault = vault

    def get(
        self, owner_id: str, service: str, *, run_id: str | None = None, step_id: str | None = None
    ) -> Mapping[str, str] | None:
        meta = self._vault.find(owner_id, service)
        if meta is None:
            return None
        secret = self._vault.get(meta.id, owner_id=owner_id, run_id=run_id, step_id=step_id, agent="worker")
        return {k: str(v) for k, v in secret.reveal().items()}

    def put(self, owner_id: str, service: str, secret: Mapping[str, str], *, label: str) -> str:
        return self._vault.put(owner_id, service, label, secret).id

    def revoke(self, owner_id: str, service: str, *, keep: str | None = None) -> int:
        """Revoke, then erase (ciphertext dropped, tombstone kept), every live credential for ``service`` but
        ``keep``."""
        count = 0
        for meta in self._vault.list(owner_id):
            if meta.service != service or meta.id == keep:
                continue
            if not meta.revoked:
                self._vault.revoke(meta.id, owner_id=owner_id, agent="worker")
            self._vault.delete(meta.id, owner_id=owner_id, agent="worker")
            count += 1
        return count


class FanOutNotifier:
    """Every configured notifier gets every call; one failing never stops the others."""

    def __init__(self, notifiers: Sequence[Notifier]) -> None:
        self._notifiers = list(notifiers)

    def send_consent_link(self, *, owner: Owner, consent: ConsentRecord, link: str, code: str) -> None:
        if not self._notifiers:
            log.warning("no SMS provider configured: consent link not sent", extra={"consent_id": consent.id})
        for notifier in self._notifiers:
            notifier.send_consent_link(owner=owner, consent=consent, link=link, code=code)

    def run_event(self, event: RunEvent, route: ReplyRoute) -> None:
        for notifier in self._notifiers:
            try:
                notifier.run_event(event, route)
            except Exception:  # a notifier must never break the run
                log.exception("notifier failed", extra={"run_id": event.run_id})


class RunEventOnlyNotifier:
    """Adapts a run-event-only sender (the Alexa nudge) to the `Notifier` port."""

    def __init__(self, run_event: Callable[[RunEvent, ReplyRoute], object]) -> None:
        self._run_event = run_event

    def send_consent_link(self, *, owner: Owner, consent: ConsentRecord, link: str, code: str) -> None:
        return None  # consent links go by SMS only

    def run_event(self, event: RunEvent, route: ReplyRoute) -> None:
        self._run_event(event, route)
