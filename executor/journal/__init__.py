"""The run/step journal: the executor's source of truth (SQLAlchemy Core on SQLite or PostgreSQL).

``SqlJournal`` (``sql.py``) implements ``core.ports.Journal`` plus the runner's claim, lease and fenced writes;
``steps.py`` holds the step-level writes, ``base.py`` the fence and event primitives, ``records.py`` the
records and row converters.
"""

from __future__ import annotations

from executor.journal.records import RunRow, StepRow, SystemClock, TokenIds
from executor.journal.sql import SqlJournal

__all__ = ["RunRow", "SqlJournal", "StepRow", "SystemClock", "TokenIds"]
