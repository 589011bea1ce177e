"""Alexa "you have a new message" nudge when a run finishes (for the gateway notifier to compose).

Proactive Events cannot speak a result (channels.md B4): the nudge only makes the device chime; the owner
then asks "Alexa, ask omni ops for the status". Sent only for runs whose reply route is Alexa, only for
terminal events, and only when the user granted the notifications permission (tracked by the gateway from
``AlexaSkillEvent.SkillPermissionAccepted/Changed``, see :class:`voice.alexa.SkillEvent`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from core.commands import Channel, ReplyRoute
from core.errors import ProviderError
from core.events import RunEvent
from voice.alexa.clients import ProactiveEventsClient

_LOG = logging.getLogger(__name__)

NOTIFICATIONS_SCOPE = "alexa::devices:all:notifications:write"


class AlexaRunNudger:
    """``run_event(event, route)`` → one ``AMAZON.MessageAlert.Activated`` for finished Alexa runs."""

    def __init__(
        self,
        *,
        client: ProactiveEventsClient,
        notifications_granted: Callable[[str], bool],
        locales: tuple[str, ...] = ("en-US",),
    ) -> None:
        self._client = client
        self._granted = notifications_granted
        self._locales = locales

    def run_event(self, event: RunEvent, route: ReplyRoute) -> bool:
        """Send the nudge when it applies; returns whether one was accepted. Failures are logged, not raised."""
        if route.channel is not Channel.ALEXA or not route.to or not event.kind.terminal:
            return False
        if not self._granted(route.to):
            return False
        try:
            self._client.message_alert(
                user_id=route.to, reference_id=f"{event.run_id}-{event.seq}", locales=self._locales
            )
        except ProviderError as err:
            _LOG.warning("Alexa nudge for run %s not sent: %s", event.run_id, err.message)
            return False
        return True
