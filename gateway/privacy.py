"""The gateway's part of the owner's data rights: what goes into an export, and what erasure removes.

The vault (`vault.privacy.Privacy`) owns credentials, the keyset and the audit rows; this module adds the
sections other stores hold (consents, jobs, identity, voice links, catalog) and erases them after the
crypto-shred. The running erase job's own journal rows stay until it finishes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from executor.catalog import Catalog, orders, products
from executor.schedules import workflow_schedules
from executor.schema import runs
from gateway.consent.schema import consent_requests
from vault.privacy import Privacy


@dataclass(kw_only=True)
class OwnerData:
    """Export and erase everything about one owner, across every store."""

    engine: Engine
    privacy: Privacy
    catalog: Catalog
    owners: Any  # gateway.identity.store.SqlOwners
    oauth: Any  # gateway.oauth.server.OAuthService

    def _rows(self, table: sa.Table, owner_id: str, columns: list[str]) -> list[dict[str, Any]]:
        cols = [table.c[name] for name in columns]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*cols).where(table.c.owner_id == owner_id)).mappings().all()
        return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()} for row in rows]

    def sections(self, owner_id: str) -> Mapping[str, Any]:
        owner = self.owners.get(owner_id)
        return {
            "account": owner.model_dump(mode="json") if owner is not None else None,
            "people": [{"name": p.name, "email": p.email, "role": p.role} for p in self.owners.people(owner_id)],
            "consents": self._rows(
                consent_requests,
                owner_id,
                ["id", "intent", "params", "declaration", "channel", "status", "created_at", "decided_at"],
            ),
            "jobs": [
                {**r, "params": json.loads(r["params"]) if isinstance(r["params"], str) else r["params"]}
                for r in self._rows(
                    runs, owner_id, ["id", "recipe", "params", "status", "summary", "error", "created_at", "updated_at"]
                )
            ],
            "voice_links": [
                {"client": link.client_name, "scope": link.scope} for link in self.oauth.store.list_links(owner_id)
            ],
            "catalog_products": self._rows(
                products, owner_id, ["product_id", "name", "sku", "price", "stock_quantity"]
            ),
            "catalog_orders": self._rows(orders, owner_id, ["order_id", "status", "total", "created_at"]),
            "scheduled_workflows": self._rows(
                workflow_schedules,
                owner_id,
                ["id", "schedule", "tasks", "timezone", "status", "created_at", "stopped_at", "stopped_reason"],
            ),
        }

    def export(self, owner_id: str) -> Mapping[str, Any]:
        """The whole archive (credentials as metadata only)."""
        sections = self.sections(owner_id)

        def section(name: str) -> Callable[[str], Any]:
            return lambda _owner: sections[name]

        return self.privacy.export_data(owner_id, extra_sections={name: section(name) for name in sections})

    def erase(self, owner_id: str) -> Mapping[str, Any]:
        """Crypto-shred and delete; upstream revocation ran in the steps before this one."""
        report = self.privacy.delete_data(owner_id, force=True, agent="privacy.delete")
        self.catalog.forget(owner_id)
        for link in self.oauth.store.list_links(owner_id):
            self.oauth.store.unlink(owner_id, link.grant_id, agent="privacy.delete")
        with self.engine.begin() as conn:
            schedules = conn.execute(sa.delete(workflow_schedules).where(workflow_schedules.c.owner_id == owner_id))
            consents = conn.execute(  # the erase job's own grant stays until the job is over
                sa.delete(consent_requests).where(
                    consent_requests.c.owner_id == owner_id, consent_requests.c.intent != "delete_data"
                )
            )
        return {
            "credentials_erased": report.credentials_deleted,
            "consents_erased": consents.rowcount,
            "schedules_erased": schedules.rowcount,
        }
