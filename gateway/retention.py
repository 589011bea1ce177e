"""Data retention: delete what has outlived its use, in bounded batches, on SQLite and PostgreSQL alike.

`Retention.prune()` removes, per table, only rows that can no longer be used (or reused), each kept a safety
margin beyond that point, and the run screenshot folders older than ``OMNIOPS_RETENTION_SCREENSHOT_DAYS``:

| what | kept until | why |
|---|---|---|
| `sms_inbound_messages` | `received_at` + 7 days (setting) | Twilio redelivers within hours |
| `oauth_codes` | `expires_at` + 1 day | a code lives 5 min; a later replay is refused as unknown |
| `oauth_tokens` | refresh expiry (else access expiry) + 1 day | rotated rows stay while their refresh token could |
|  |  | be replayed (reuse detection); past it nothing can use or reuse it |
| `identity_sessions` | `expires_at` + 1 day | an expired session is refused anyway (they live 12 h) |
| `identity_login_codes` | `expires_at` + 1 day | codes live 10 min |
| `identity_rate_events` | `at` + 1 day | the longest identity rate-limit window is 1 hour |
| `conversations` | `expires_at` + 1 day | an expired question already reads as absent |
| `consumed_callback_tokens` | `consumed_at` + 2 days, and only once | a run token has no expiry of its own: it works |
|  | its run is not queued/running/waiting | while its run waits (30 min per approval) |
| `<var_dir>/runs/<run_id>/` | newest file + 30 days (setting) | screenshots and DOMs, for support |

Never pruned (evidence and history): consents, the audit log, the journal (runs, steps, events), the vault and
the catalog.

Each table is emptied in batches of at most ``batch_size`` rows per transaction: select a batch of primary keys
``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite's single writer needs no row locks), delete them with the
condition re-checked. Two prunes at once therefore take disjoint batches and their counts add up to the rows
removed. ``dry_run`` counts the same rows and deletes nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.ports import AuditEntry, AuditLog, Clock, RunStatus
from executor.periodic import Periodic

log = logging.getLogger("omniops.retention")

SCREENSHOTS = "runs/"  # the key of the screenshot folders in a `PruneReport`


@dataclass(frozen=True, kw_only=True)
class RetentionPolicy:
    """How long past its use each kind of row (or file) is kept; see the module docstring for the reasons."""

    sms_dedupe: timedelta = timedelta(days=7)
    screenshots: timedelta = timedelta(days=30)
    expired_margin: timedelta = timedelta(days=1)  # codes, tokens, sessions, login codes, conversations
    rate_events: timedelta = timedelta(days=1)  # the longest identity rate-limit window is one hour
    consumed_tokens: timedelta = timedelta(days=2)  # beyond a run's active life, which the query checks too
    batch_size: int = 5000


@dataclass(frozen=True, kw_only=True)
class PruneReport:
    """What one prune deleted (or, in a dry run, would delete): rows per table, screenshot folders and files."""

    dry_run: bool
    rows: dict[str, int]
    screenshot_folders: int = 0
    screenshot_files: int = 0

    @property
    def total(self) -> int:
        return sum(self.rows.values()) + self.screenshot_folders + self.screenshot_files

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "rows": dict(self.rows),
            "screenshots": {"folders": self.screenshot_folders, "files": self.screenshot_files},
        }

    def lines(self) -> list[str]:
        verb = "would delete" if self.dry_run else "deleted"
        width = max(len(name) for name in [*self.rows, SCREENSHOTS])
        out = [f"{name.ljust(width)}  {verb} {count} rows" for name, count in self.rows.items()]
        out.append(
            f"{SCREENSHOTS.ljust(width)}  {verb} {self.screenshot_folders} folders ({self.screenshot_files} files)"
        )
        return out


@dataclass(frozen=True)
class _Rule:
    table: sa.Table
    key: sa.Column[Any]
    where: Callable[[datetime], sa.ColumnElement[bool]]


@dataclass(kw_only=True)
class Retention:
    """Prune the growing tables and the run screenshots of one deployment (built by bootstrap)."""

    engine: Engine
    clock: Clock
    var_dir: Path
    policy: RetentionPolicy = field(default_factory=RetentionPolicy)
    audit: AuditLog | None = None

    def prune(self, *, dry_run: bool = False, agent: str = "operator") -> PruneReport:
        """Delete everything past retention (or only count it, with ``dry_run``); audit a real prune once."""
        now = self.clock.now()
        rows = {rule.table.name: self._apply(rule, now, dry_run=dry_run) for rule in self._rules()}
        folders, files = self._screenshots(now, dry_run=dry_run)
        report = PruneReport(dry_run=dry_run, rows=rows, screenshot_folders=folders, screenshot_files=files)
        log.info("retention prune%s: %s", " (dry run)" if dry_run else "", report.as_dict())
        if not dry_run and report.total and self.audit is not None:  # a prune that found nothing is only logged
            self.audit.append(
                AuditEntry(
                    owner_id=None,
                    action="maintenance.pruned",
                    agent=agent,
                    success=True,
                    detail=report.as_dict(),
                )
            )
        return report

    # -------------------------------------------------------------------------------------------- tables
    def _rules(self) -> list[_Rule]:
        from executor import schema as executor_schema
        from gateway import sms_optouts
        from gateway.callbacks.service import consumed_tokens
        from gateway.identity import schema as identity
        from gateway.oauth import schema as oauth
        from gateway.stores.conversations import conversations

        p = self.policy
        sms, codes, tokens = sms_optouts.sms_inbound, oauth.codes, oauth.tokens
        sessions, login_codes, rate = identity.sessions, identity.login_codes, identity.rate_events
        runs = executor_schema.runs
        active = [s.value for s in RunStatus if s.active]

        def run_still_active() -> sa.ColumnElement[bool]:
            return sa.select(runs.c.id).where(runs.c.id == consumed_tokens.c.run_id, runs.c.status.in_(active)).exists()

        return [
            _Rule(sms, sms.c.message_sid, lambda now: sms.c.received_at < now - p.sms_dedupe),
            _Rule(codes, codes.c.id, lambda now: codes.c.expires_at < now - p.expired_margin),
            _Rule(
                tokens,
                tokens.c.id,
                lambda now: (
                    sa.func.coalesce(tokens.c.refresh_expires_at, tokens.c.access_expires_at) < now - p.expired_margin
                ),
            ),
            _Rule(sessions, sessions.c.id, lambda now: sessions.c.expires_at < now - p.expired_margin),
            _Rule(login_codes, login_codes.c.id, lambda now: login_codes.c.expires_at < now - p.expired_margin),
            _Rule(rate, rate.c.id, lambda now: rate.c.at < now - p.rate_events),
            _Rule(conversations, conversations.c.key, lambda now: conversations.c.expires_at < now - p.expired_margin),
            _Rule(
                consumed_tokens,
                consumed_tokens.c.digest,
                lambda now: sa.and_(consumed_tokens.c.consumed_at < now - p.consumed_tokens, ~run_still_active()),
            ),
        ]

    def _apply(self, rule: _Rule, now: datetime, *, dry_run: bool) -> int:
        condition = rule.where(now)
        if dry_run:
            with self.engine.connect() as conn:
                count = conn.execute(sa.select(sa.func.count()).select_from(rule.table).where(condition)).scalar_one()
            return int(count)
        size = max(1, self.policy.batch_size)
        deleted = 0
        while True:
            with self.engine.begin() as conn:
                keys = list(
                    conn.execute(
                        sa.select(rule.key)
                        .where(condition)
                        .order_by(rule.key)
                        .limit(size)
                        .with_for_update(skip_locked=True, of=rule.table)
                    ).scalars()
                )
                if keys:
                    result = conn.execute(sa.delete(rule.table).where(rule.key.in_(keys), condition))
                    deleted += max(0, result.rowcount)
            if len(keys) < size:
                return deleted

    # -------------------------------------------------------------------------------------------- files
    def _screenshots(self, now: datetime, *, dry_run: bool) -> tuple[int, int]:
        """Remove ``<var_dir>/runs/<run_id>/`` folders whose newest entry is older than the limit."""
        root = self.var_dir / "runs"
        if not root.is_dir():
            return 0, 0
        cutoff = (now - self.policy.screenshots).timestamp()
        folders = files = 0
        for entry in sorted(root.iterdir()):
            try:
                if entry.is_dir() and not entry.is_symlink():
                    mtimes = list(_mtimes(entry))
                    if max(mtimes) >= cutoff:
                        continue
                    count = len(mtimes) - 1  # the folder itself is one of them
                    if not dry_run:
                        shutil.rmtree(entry)
                    folders += 1
                    files += count
                elif entry.lstat().st_mtime < cutoff:  # a stray file (or link) directly under runs/
                    if not dry_run:
                        entry.unlink()
                    files += 1
            except FileNotFoundError:  # another prune got there first
                continue
        return folders, files


def _mtimes(folder: Path) -> Iterator[float]:
    """The modification time of ``folder`` and of every file below it (links not followed)."""
    yield folder.lstat().st_mtime
    for parent, _dirs, names in os.walk(folder):
        for name in names:
            yield (Path(parent) / name).lstat().st_mtime


class RetentionThread(Periodic):
    """Embedded mode (`omniops run`): prune every ``interval`` seconds, the first time one interval after start."""

    def __init__(self, retention: Retention, *, interval: float, agent: str | None = None) -> None:
        who = agent or f"maintenance:{socket.gethostname()}:{os.getpid()}"
        super().__init__(lambda: retention.prune(agent=who), interval=interval, name="omniops-retention")

    def stop(self, *, timeout: float = 30.0) -> None:
        """Stop, waiting up to ``timeout`` for a prune in progress."""
        super().stop(timeout=timeout)


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], build: Callable[[], Any]) -> None:
    """Add ``omniops prune [--dry-run] [--json]``; ``build()`` is bootstrap's container factory."""
    description = (
        "Delete rows and run screenshots that are past retention: SMS dedupe ids, expired OAuth codes and "
        "tokens, sessions, login codes, rate-limit events, conversations, consumed callback tokens of finished "
        "runs, and screenshot folders older than OMNIOPS_RETENTION_SCREENSHOT_DAYS. Consents, the audit log, "
        "the journal, the vault and the catalog are never pruned. Safe to run from cron on one machine (or on "
        "several at once). A real prune writes one audit entry with the counts."
    )
    parser = subparsers.add_parser("prune", help="delete data past retention (run from cron)", description=description)
    parser.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def run(args: argparse.Namespace) -> int:
        container = build()
        try:
            report = container.retention.prune(dry_run=args.dry_run, agent="operator")
        finally:
            container.close()
        if args.json:
            print(json.dumps(report.as_dict(), indent=2, sort_keys=True))
        else:
            for line in report.lines():
                print(line)
        return 0

    parser.set_defaults(func=run)
