"""What every parser returns, and the Protocol every parser implements."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


class ParseResult(BaseModel):
    """One understood message: the intent name, its validated params (JSON-ready) and a confidence in [0, 1]."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    intent: str
    params: dict[str, Any] = Field(default_factory=dict)
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)

    def as_json(self) -> dict[str, Any]:
        """The ``{"intent": …, "params": {…}}`` shape printed by ``omniops parse``."""
        return {"intent": self.intent, "params": dict(self.params)}


@runtime_checkable
class Parser(Protocol):
    """Turns one message into an intent with params; never executes anything."""

    def parse(self, text: str, *, locale: str = "en-US") -> ParseResult:
        """Understand ``text``; an out-of-scope message gives the ``unknown`` intent."""
        ...

    def extract_param(self, intent: str, param: str, text: str, locale: str = "en-US") -> Any | None:
        """Read the answer to "What is your <param>?" from ``text`` (in ``locale``'s language); ``None`` when
        it is not there."""
        ...
