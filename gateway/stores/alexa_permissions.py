"""Which Alexa users granted the notifications permission (from ``AlexaSkillEvent.SkillPermission*``)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.ports import Clock
from voice.alexa import SkillEvent
from voice.alexa.nudge import NOTIFICATIONS_SCOPE

metadata = sa.MetaData()
permissions = sa.Table(
    "alexa_notification_permissions",
    metadata,
    sa.Column("user_id", sa.String(512), primary_key=True),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
SCHEMA = ("alexa_permissions", 1, metadata)


class SqlAlexaPermissions:
    """Record grants from skill events; answer `granted(user_id)` for the proactive nudge."""

    def __init__(self, engine: Engine, *, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def on_skill_event(self, event: SkillEvent) -> None:
        if not event.user_id or not event.type.startswith("AlexaSkillEvent.SkillPermission"):
            if event.user_id and event.type == "AlexaSkillEvent.SkillDisabled":
                self._set(event.user_id, False)
            return
        self._set(event.user_id, NOTIFICATIONS_SCOPE in event.accepted_scopes)

    def _set(self, user_id: str, granted: bool) -> None:
        with self._engine.begin() as conn:
            conn.execute(sa.delete(permissions).where(permissions.c.user_id == user_id))
            conn.execute(permissions.insert().values(user_id=user_id, granted=granted, updated_at=self._clock.now()))

    def granted(self, user_id: str) -> bool:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(permissions.c.granted).where(permissions.c.user_id == user_id)).first()
        return bool(row and row.granted)
