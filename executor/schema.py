"""The executor's tables (SQLAlchemy Core, same code on SQLite and PostgreSQL).

``runs`` holds one row per run with its lease (owner, expiry) and ``attempt``, the fencing token every write
checks; ``steps`` one row per started step; ``run_events`` the persisted, sequenced progress story.
Register with ``gateway.db.create_schema(engine, [executor.schema.SCHEMA, ...])``.
"""

from __future__ import annotations

import sqlalchemy as sa

VERSION = 1
metadata = sa.MetaData()

_ts = sa.DateTime(timezone=True)

runs = sa.Table(
    "executor_runs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner_id", sa.String(128), nullable=False),
    sa.Column("recipe", sa.String(128), nullable=False),
    sa.Column("recipe_version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("intent", sa.String(64), nullable=True),
    sa.Column("params", sa.Text, nullable=False),  # JSON
    sa.Column("params_hash", sa.String(64), nullable=False),
    sa.Column("consent_id", sa.String(128), nullable=True),
    sa.Column("reply_channel", sa.String(32), nullable=False),
    sa.Column("reply_to", sa.String(512), nullable=True),
    sa.Column("locale", sa.String(16), nullable=False, server_default="en-US"),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("lease_owner", sa.String(128), nullable=True),
    # running: lease expiry; queued: deadline by which a worker should have picked it up (reaper uses both)
    sa.Column("lease_expires_at", _ts, nullable=True),
    sa.Column("not_before", _ts, nullable=True),  # retry backoff: no claim before this
    sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),  # fencing token
    sa.Column("recoveries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"),  # last run_events.seq allocated
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("wait_key", sa.String(128), nullable=True),
    sa.Column("wait_reason", sa.String(512), nullable=True),
    sa.Column("wait_deadline", _ts, nullable=True),
    sa.Column("summary", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("updated_at", _ts, nullable=False),
    sa.Column("started_at", _ts, nullable=True),
    sa.Column("finished_at", _ts, nullable=True),
)
sa.Index("ix_executor_runs_owner", runs.c.owner_id, runs.c.created_at)
sa.Index("ix_executor_runs_status", runs.c.status, runs.c.lease_expires_at)

steps = sa.Table(
    "executor_steps",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("executor_runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("step_id", sa.String(128), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),  # pending started done failed compensated
    sa.Column("attempt", sa.Integer, nullable=False),  # the run attempt that last wrote this row
    sa.Column("tries", sa.Integer, nullable=False, server_default="0"),  # failed tries so far (retry state)
    sa.Column("next_retry_at", _ts, nullable=True),
    sa.Column("idempotency_key", sa.String(256), nullable=False),
    sa.Column("external_ids", sa.Text, nullable=False, server_default="{}"),  # JSON
    sa.Column("output", sa.Text, nullable=False, server_default="{}"),  # JSON
    sa.Column("summary", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("owner_input", sa.Text, nullable=True),  # JSON from resume()
    sa.Column("started_at", _ts, nullable=True),
    sa.Column("finished_at", _ts, nullable=True),
)

run_events = sa.Table(
    "executor_run_events",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("executor_runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("owner_id", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("step_id", sa.String(128), nullable=True),
    sa.Column("data", sa.Text, nullable=False, server_default="{}"),  # JSON
    sa.Column("at", _ts, nullable=False),
)

SCHEMA: tuple[str, int, sa.MetaData] = ("executor", VERSION, metadata)
