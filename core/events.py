"""Events: things that happened, named in the past tense.

`RunEvent` is the progress record the executor publishes for every run (queued, started, step_started,
step_done, waiting_for_owner, succeeded, failed, cancelled, compensated); it is persisted with a
per-run sequence number so a late listener can replay it, and streamed live to the owner. The domain
events below are what the message bus emits for consent and commands.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RunEventKind(StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    STEP_STARTED = "step_started"
    STEP_DONE = "step_done"
    WAITING_FOR_OWNER = "waiting_for_owner"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    COMPENSATED = "compensated"

    @property
    def terminal(self) -> bool:
        return self in (RunEventKind.SUCCEEDED, RunEventKind.FAILED, RunEventKind.CANCELLED, RunEventKind.COMPENSATED)


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunEvent(_Event):
    """One step of a run's story, in words the owner can read."""

    run_id: str
    owner_id: str
    seq: int = Field(ge=0)
    kind: RunEventKind
    message: str
    at: datetime
    step_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)  # summaries only; never secrets


class ConsentRequested(_Event):
    consent_id: str
    owner_id: str
    intent: str
    channel: str
    at: datetime


class ConsentGranted(_Event):
    consent_id: str
    owner_id: str
    channel: str
    at: datetime


class ConsentDenied(_Event):
    consent_id: str
    owner_id: str
    channel: str
    at: datetime


class RunQueued(_Event):
    run_id: str
    owner_id: str
    recipe: str
    at: datetime
