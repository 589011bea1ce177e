"""`YES <code>` by SMS through the real bus and the real consent store: wrong, right, reused, rate-limited."""

from __future__ import annotations

import re

from core.commands import AuthLevel, Channel, Command, Principal, Reply, ReplyRoute, ResponseType
from core.ports import ConsentStatus
from tests.integration.consent.conftest import OWNER, World

PHONE = OWNER.verified_phones[0]


def sms(world: World, intent: str, text: str, **params: str) -> Reply:
    return world.bus.handle(
        Command(
            channel=Channel.SMS,
            principal=Principal(owner_id=OWNER.id, auth=AuthLevel.VERIFIED_PHONE),
            intent=intent,
            params=params,
            reply_route=ReplyRoute(channel=Channel.SMS, to=PHONE),
            request_id=f"SM{len(world.audit.entries)}",
            received_at=world.clock.now(),
            text=text,
        )
    )


def ask_by_sms(world: World) -> tuple[str, str]:
    reply = sms(world, "setup_integration", "set up woocommerce", service="woocommerce", store_url="shop.example.com")
    assert reply.response_type is ResponseType.CONSENT_REQUIRED and reply.consent is not None
    match = re.search(r"Reply YES (\d{6})", reply.text)
    assert match, reply.text
    return reply.consent.consent_id, match.group(1)


def test_right_code_approves_once_and_queues_the_run(world: World) -> None:
    consent_id, code = ask_by_sms(world)
    wrong = "000000" if code != "000000" else "111111"
    assert sms(world, "confirm", f"YES {wrong}").error_code == "bad_code"
    assert world.store.get(consent_id).status is ConsentStatus.PENDING  # type: ignore[union-attr]
    ok = sms(world, "confirm", f"yes {code}")
    assert ok.response_type is ResponseType.ACTION_STARTED and ok.run_id in world.journal.runs
    record = world.store.get(consent_id)
    assert record is not None and record.status is ConsentStatus.APPROVED and record.evidence["code_used"] is True
    assert code not in repr(record.evidence) and code not in repr(world.audit.entries)
    assert sms(world, "confirm", f"YES {code}").error_code == "bad_code"  # single use
    assert len(world.journal.runs) == 1 and len(world.queue.enqueued) == 1


def test_five_wrong_codes_then_even_the_right_one_is_refused(world: World) -> None:
    consent_id, code = ask_by_sms(world)
    wrong = [f"{n:06d}" for n in range(10) if f"{n:06d}" != code][:5]
    assert [sms(world, "confirm", f"YES {c}").error_code for c in wrong] == ["bad_code"] * 5
    assert sms(world, "confirm", f"YES {code}").error_code == "rate_limited"
    assert world.store.get(consent_id).status is ConsentStatus.PENDING  # type: ignore[union-attr]
    assert world.journal.runs == {}


def test_code_after_expiry_is_refused(world: World) -> None:
    consent_id, code = ask_by_sms(world)
    world.clock.advance(15 * 60)
    assert sms(world, "confirm", f"YES {code}").error_code == "bad_code"
    assert world.store.get(consent_id).status is ConsentStatus.EXPIRED  # type: ignore[union-attr]
    assert world.journal.runs == {}
