"""The message bus: one short loop from a `Command` to its handler, with the cross-cutting rules around it.

Order for every owner command: audit "started" → identity (a linked owner is needed for anything but help)
→ conversation (a pending question may turn this message into an answer) → the intent's handler →
audit "finished". Domain errors become friendly replies here; unexpected exceptions propagate to the
adapter's boundary, which logs the traceback and answers with a generic error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from core.commands import Command, Reply, ResponseType
from core.errors import OmniOpsError
from core.handlers import COMMAND_HANDLERS, HANDLERS, Handler, Services, conversation_key
from core.i18n import t
from core.ports import AuditEntry

log = logging.getLogger("omniops.bus")

_NO_OWNER_NEEDED = frozenset({"help", "unknown"})


class MessageBus:
    """Dispatch commands to handlers; every command is audited before and after it runs."""

    def __init__(
        self,
        *,
        services: Services,
        handlers: Mapping[str, Handler] = HANDLERS,
        command_handlers: Mapping[type[BaseModel], Callable[[Any, Services], Reply]] = COMMAND_HANDLERS,
    ) -> None:
        self.services = services
        self._handlers = handlers
        self._command_handlers = command_handlers

    def handle(self, command: Command) -> Reply:
        """Handle one owner command and return the reply to render on its channel."""
        svc = self.services
        started = time.monotonic()
        base = {
            "owner_id": command.principal.owner_id,
            "action": f"command.{command.intent}",
            "agent": f"channel:{command.channel}",
            "channel": str(command.channel),
        }
        svc.audit.append(AuditEntry(**base, success=None, phase="started", detail={"request_id": command.request_id}))
        success = False
        try:
            reply = self._dispatch(command)
            success = reply.response_type is not ResponseType.ERROR
        except OmniOpsError as err:
            log.info("command refused", extra={"intent": command.intent, "code": err.code})
            reply = Reply(
                text=err.message,
                response_type=ResponseType.ERROR,
                error_code=err.code,
                intent=command.intent,
                locale=command.locale,
            )
        finally:
            svc.audit.append(
                AuditEntry(
                    **base,
                    success=success,
                    phase="finished",
                    run_id=None,
                    duration_ms=int((time.monotonic() - started) * 1000),
                    detail={"request_id": command.request_id},
                )
            )
        return reply

    def handle_internal(self, message: BaseModel) -> Reply:
        """Handle an internal command such as `DecideConsent` (errors propagate to the caller)."""
        handler = self._command_handlers[type(message)]
        return handler(message, self.services)

    # ------------------------------------------------------------------------------------------------
    def _dispatch(self, command: Command) -> Reply:
        if command.intent not in _NO_OWNER_NEEDED and not command.principal.owner_id:
            return Reply(
                text=t(command.locale, "link_account"),
                response_type=ResponseType.LINK_ACCOUNT,
                intent=command.intent,
                locale=command.locale,
                error_code="account_not_linked",
            )
        command = self._continue_conversation(command)
        return self._handlers[command.intent](command, self.services)

    def _continue_conversation(self, command: Command) -> Command:
        """If a param question is pending, turn this message into the answer; otherwise leave it alone."""
        svc = self.services
        key = conversation_key(command)
        conv = svc.conversations.get(key)
        if conv is None:
            return command
        if conv.expires_at <= svc.clock.now():
            svc.conversations.clear(key)
            return command
        if conv.awaiting == "confirm" or command.intent in ("confirm", "deny"):
            return command
        value = command.params.get(conv.awaiting) if command.intent == conv.intent else None
        if value is None and command.text and command.intent in ("unknown", conv.intent):
            value = svc.extract_param(conv.intent, conv.awaiting, command.text, command.locale)
        if value is None:
            if command.intent == "unknown":  # not understood as an answer: ask the same question again
                return command.model_copy(update={"intent": conv.intent, "params": dict(conv.params)})
            svc.conversations.clear(key)  # a different, clear request: drop the pending question
            return command
        svc.conversations.clear(key)
        params = {**conv.params, **(command.params if command.intent == conv.intent else {}), conv.awaiting: value}
        try:
            return Command.model_validate({**command.model_dump(), "intent": conv.intent, "params": params})
        except ValidationError:  # e.g. "not a url" for store_url: ask again
            svc.conversations.put(conv)
            return command.model_copy(update={"intent": conv.intent, "params": dict(conv.params)})
