"""The real clock and id generator (tests inject their own through the same ports)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class RandomIds:
    """``prefix_`` + 16 random URL-safe bytes: unguessable, so ids in URLs leak nothing."""

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{secrets.token_urlsafe(16).replace('-', 'x').replace('_', 'y')}"
