"""End-to-end runs through the embedded executor (real SQLite, real SqliteHuey, real HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from executor_counting_service import CountingService
from executor_harness import Harness

from core.commands import Channel, ReplyRoute
from core.events import RunEventKind
from core.ports import ConsentRecord, ConsentStatus, RunStatus

ROUTE = ReplyRoute(channel=Channel.CLI)


def submit(h: Harness, recipe: str, **params: object) -> str:
    record = h.runner.submit(owner_id="owner_1", recipe=recipe, params=params, consent_id=None, reply_route=ROUTE)
    return str(record.id)


def kinds(events: list) -> list[str]:
    return [e.kind.value for e in events]


def test_noop_run_succeeds_with_sequenced_events(harness: Harness) -> None:
    run_id = submit(harness, "demo.noop")
    events = harness.events_until_terminal(run_id)
    assert kinds(events) == ["queued", "started", "step_started", "step_done", "succeeded"]
    assert [e.seq for e in events] == list(range(len(events)))
    assert harness.journal.get_run(run_id).status == RunStatus.SUCCEEDED
    assert list(harness.journal.events(run_id)) == events  # a late listener replays the same story


def test_multi_step_run_creates_each_object_once_and_summarizes(harness: Harness, counting: CountingService) -> None:
    run_id = submit(harness, "demo.counting", base_url=counting.url)
    events = harness.events_until_terminal(run_id)
    assert events[-1].kind == RunEventKind.SUCCEEDED
    assert "API key created" in events[-1].message and "Sample product created" in events[-1].message
    assert counting.creates == {"key": 1, "webhook": 1, "product": 1}
    steps = harness.journal.step_rows(run_id)
    assert {s.status for s in steps.values()} == {"done"}
    assert steps["key"].idempotency_key == f"{run_id}:key"
    assert steps["webhook"].external_ids["webhook"].startswith("webhook_")


def test_every_step_start_and_finish_is_audited(harness: Harness, counting: CountingService) -> None:
    run_id = submit(harness, "demo.counting", base_url=counting.url)
    harness.events_until_terminal(run_id)
    step_entries = [e for e in harness.audit.entries if e.run_id == run_id and e.action.startswith("demo.counting.")]
    assert [(e.action, e.phase, e.success) for e in step_entries] == [
        ("demo.counting.key", "started", None),
        ("demo.counting.key", "finished", True),
        ("demo.counting.webhook", "started", None),
        ("demo.counting.webhook", "finished", True),
        ("demo.counting.product", "started", None),
        ("demo.counting.product", "finished", True),
    ]
    assert all(e.agent == "worker:test-worker" for e in step_entries)


def test_429_with_retry_after_is_honoured_through_a_delayed_requeue(
    harness: Harness, counting: CountingService
) -> None:
    counting.add_fault("/objects/webhook", status=429, retry_after="2")
    run_id = submit(harness, "demo.counting", base_url=counting.url)
    events = harness.events_until_terminal(run_id)
    assert events[-1].kind == RunEventKind.SUCCEEDED
    hits = counting.hits_for("POST", "/objects/webhook")
    assert [status for status, _ in hits] == [429, 201]
    assert hits[1][1] - hits[0][1] >= 2.0  # not before the provider said so
    record = harness.journal.get_run(run_id)
    assert record.attempt == 2  # released and re-claimed instead of sleeping while holding the worker
    assert harness.journal.step_rows(run_id)["webhook"].tries == 1
    assert counting.creates == {"key": 1, "webhook": 1, "product": 1}


def test_500_burst_is_retried_with_backoff_inline(harness: Harness, counting: CountingService) -> None:
    counting.add_fault("/objects/key", status=500, times=3)
    run_id = submit(harness, "demo.counting", base_url=counting.url)
    assert harness.events_until_terminal(run_id)[-1].kind == RunEventKind.SUCCEEDED
    assert [s for s, _ in counting.hits_for("POST", "/objects/key")] == [500, 500, 500, 201]
    assert harness.journal.step_rows(run_id)["key"].tries == 3
    assert counting.creates["key"] == 1


def test_timeout_after_the_side_effect_does_not_duplicate_it(harness: Harness, counting: CountingService) -> None:
    counting.add_fault("/objects/webhook", hang=1.5)
    run_id = submit(harness, "demo.counting", base_url=counting.url, timeout=0.5)
    assert harness.events_until_terminal(run_id)[-1].kind == RunEventKind.SUCCEEDED
    assert counting.creates == {"key": 1, "webhook": 1, "product": 1}  # the retry found it by idempotency key


def test_exhausted_retries_fail_and_compensate_with_a_manual_fallback(
    harness: Harness, counting: CountingService
) -> None:
    counting.add_fault("/objects/product", status=503, times=50)
    run_id = submit(harness, "demo.counting", base_url=counting.url)
    final = harness.events_until_terminal(run_id)[-1]
    assert final.kind == RunEventKind.COMPENSATED
    assert "gave up after 6 tries" in final.data["reason"]
    assert final.data["manual_guide_url"] == "https://omniops.dev/guides/demo"
    assert counting.live("key") == 0 and counting.live("webhook") == 0
    assert harness.journal.get_run(run_id).status == RunStatus.COMPENSATED


def test_rejected_request_fails_now_and_compensates_in_reverse_order(
    harness: Harness, counting: CountingService
) -> None:
    counting.add_fault("/objects/product", status=400)
    run_id = submit(harness, "demo.counting", base_url=counting.url)
    events = harness.events_until_terminal(run_id)
    undo = [e.step_id for e in events if e.data.get("compensation")]
    assert undo == ["webhook", "key"]
    assert [s for s, _ in counting.hits_for("POST", "/objects/product")] == [400]  # no retry of a 4xx
    assert events[-1].data["code"] == "provider_rejected"
    steps = harness.journal.step_rows(run_id)
    assert (steps["key"].status, steps["webhook"].status, steps["product"].status) == (
        "compensated",
        "compensated",
        "failed",
    )


def test_expired_credentials_fail_with_that_reason(harness: Harness, counting: CountingService) -> None:
    counting.add_fault("/objects/key", status=401)
    run_id = submit(harness, "demo.counting", base_url=counting.url)
    final = harness.events_until_terminal(run_id)[-1]
    assert final.kind == RunEventKind.FAILED
    assert final.data["code"] == "credentials_expired"
    assert "expired or were revoked" in final.message


def test_cancel_between_steps_stops_and_compensates(harness: Harness, counting: CountingService) -> None:
    run_id = submit(harness, "demo.counting", base_url=counting.url, step_ms=400)
    stream = harness.executor.bus.subscribe(run_id, timeout=30)
    for event in stream:
        if event.kind == RunEventKind.STEP_DONE:
            harness.runner.cancel(run_id)
            break
    events = harness.events_until_terminal(run_id)
    assert events[-1].kind == RunEventKind.CANCELLED
    assert counting.creates["product"] == 0  # nothing after the cancel point was started
    assert counting.live("key") == 0 and counting.live("webhook") == 0
    assert harness.journal.get_run(run_id).status == RunStatus.CANCELLED


def test_waiting_for_owner_pauses_and_resumes_on_the_external_event(
    harness: Harness, counting: CountingService
) -> None:
    run_id = submit(harness, "demo.wait", base_url=counting.url)
    for event in harness.executor.bus.subscribe(run_id, timeout=20):
        if event.kind == RunEventKind.WAITING_FOR_OWNER:
            break
    harness.wait_status(run_id, RunStatus.WAITING_FOR_OWNER)
    assert harness.runner.resume(run_id, "wrong-key", {"ok": True}) is False
    assert harness.runner.resume(run_id, "approve", {"approved_by": "owner"}) is True
    events = harness.events_until_terminal(run_id)
    assert events[-1].kind == RunEventKind.SUCCEEDED
    assert harness.journal.step_rows(run_id)["approve"].output == {"answer": {"approved_by": "owner"}}
    assert counting.creates == {"key": 1, "product": 1}


def test_waiting_for_owner_times_out_and_compensates(harness: Harness, counting: CountingService) -> None:
    run_id = submit(harness, "demo.wait", base_url=counting.url, wait_timeout=0.5)
    final = harness.events_until_terminal(run_id)[-1]
    assert final.kind == RunEventKind.COMPENSATED
    assert final.data["code"] == "owner_timeout"
    assert counting.live("key") == 0


def test_a_long_wait_reminds_the_owner_once_at_half_time_then_times_out(
    harness: Harness, counting: CountingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("executor.runner.endings.REMINDER_MIN_WAIT_SECONDS", 1.0)  # a "long" wait, test-sized
    run_id = submit(harness, "demo.wait", base_url=counting.url, wait_timeout=2.0)
    events = harness.events_until_terminal(run_id)
    waits = [e for e in events if e.kind == RunEventKind.WAITING_FOR_OWNER]
    assert [w.data.get("reminder", False) for w in waits] == [False, True]
    assert waits[1].message == "Reminder: " + waits[0].message
    assert events[-1].kind == RunEventKind.COMPENSATED and events[-1].data["code"] == "owner_timeout"


def test_the_owner_can_still_answer_after_the_reminder(
    harness: Harness, counting: CountingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("executor.runner.endings.REMINDER_MIN_WAIT_SECONDS", 1.0)
    run_id = submit(harness, "demo.wait", base_url=counting.url, wait_timeout=30.0)
    for event in harness.executor.bus.subscribe(run_id, timeout=60):
        if event.kind == RunEventKind.WAITING_FOR_OWNER and event.data.get("reminder"):
            break
    harness.wait_status(run_id, RunStatus.WAITING_FOR_OWNER)
    assert harness.runner.resume(run_id, "approve", {"approved_by": "owner"}) is True
    assert harness.events_until_terminal(run_id)[-1].kind == RunEventKind.SUCCEEDED


def _grant(h: Harness, run_params: dict, *, status: ConsentStatus, consent_id: str, tamper: bool = False) -> None:
    recipe = h.executor.recipes.get("demo.counting_consented")
    params = dict(run_params, base_url="http://elsewhere") if tamper else run_params
    now = datetime.now(UTC)
    h.consents.put(
        ConsentRecord(
            id=consent_id,
            owner_id="owner_1",
            intent="demo",
            params=params,
            params_hash=recipe.params_hash(params),
            declaration=recipe.declaration,
            channel=Channel.SMS,
            reply_route=ROUTE,
            status=status,
            created_at=now,
            expires_at=now + timedelta(minutes=10),
        )
    )


def _consented(h: Harness, params: dict, consent_id: str | None) -> str:
    record = h.runner.submit(
        owner_id="owner_1", recipe="demo.counting_consented", params=params, consent_id=consent_id, reply_route=ROUTE
    )
    return str(record.id)


def test_consent_checked_before_starting(harness: Harness, counting: CountingService) -> None:
    params = {"base_url": counting.url}
    _grant(harness, params, status=ConsentStatus.APPROVED, consent_id="c_ok")
    _grant(harness, params, status=ConsentStatus.REVOKED, consent_id="c_revoked")
    _grant(harness, params, status=ConsentStatus.APPROVED, consent_id="c_other", tamper=True)

    ok = _consented(harness, params, "c_ok")
    assert harness.events_until_terminal(ok)[-1].kind == RunEventKind.SUCCEEDED

    for consent_id, words in ((None, "no consent grant"), ("c_revoked", "revoked"), ("c_other", "does not match")):
        run_id = _consented(harness, params, consent_id)
        final = harness.events_until_terminal(run_id)[-1]
        assert final.kind == RunEventKind.FAILED
        assert words in final.data["reason"]
        assert final.data["code"] == "consent_invalid"
    assert counting.creates == {"key": 1, "webhook": 1, "product": 1}  # only the approved run did anything


def test_independent_steps_run_concurrently(harness: Harness, counting: CountingService) -> None:
    run_id = submit(harness, "demo.dag", base_url=counting.url, ms=400)
    assert harness.events_until_terminal(run_id)[-1].kind == RunEventKind.SUCCEEDED
    spans = {s["name"]: s for s in counting.slow if s["run"] == run_id}
    branches = [spans[n] for n in ("a", "b", "c")]
    assert max(s["start"] for s in branches) < min(s["end"] for s in branches)  # all three overlapped
    assert spans["join"]["start"] >= max(s["end"] for s in branches)  # the join waited for every branch


def submit_de(h: Harness, recipe: str, **params: object) -> str:
    record = h.runner.submit(
        owner_id="owner_1", recipe=recipe, params=params, consent_id=None, reply_route=ROUTE, locale="de-DE"
    )
    return str(record.id)


def test_a_german_run_tells_its_story_and_its_ending_in_german(harness: Harness, counting: CountingService) -> None:
    """The runner's own words follow the run's locale (the demo recipes' step titles have no translation)."""
    counting.add_fault("/objects/product", status=400)
    run_id = submit_de(harness, "demo.counting", base_url=counting.url)
    events = harness.events_until_terminal(run_id)
    assert [e.message for e in events[:2]] == ["In der Warteschlange.", "Gestartet: demo.counting."]
    assert [e.message for e in events if e.data.get("compensation")] == [
        "Rückgängig gemacht: Order webhook.",
        "Rückgängig gemacht: API key.",
    ]
    final = events[-1]
    assert final.kind == RunEventKind.COMPENSATED and final.data["locale"] == "de-DE"
    assert final.message == (
        f"{final.data['reason']} Ich habe rückgängig gemacht, was ich schon erledigt hatte: Order webhook, API key. "
        "Sie können es von Hand abschließen: https://omniops.dev/guides/demo"
    )


def test_a_german_run_gives_its_failure_reasons_in_german(harness: Harness, counting: CountingService) -> None:
    counting.add_fault("/objects/key", status=401)
    expired = harness.events_until_terminal(submit_de(harness, "demo.counting", base_url=counting.url))[-1]
    assert expired.data["reason"] == "Die Zugangsdaten für counting service sind abgelaufen oder wurden widerrufen."
    assert expired.message.endswith(" Sie können es von Hand abschließen: https://omniops.dev/guides/demo")
    timed_out = harness.events_until_terminal(submit_de(harness, "demo.wait", base_url=counting.url, wait_timeout=0.5))
    assert timed_out[-1].data["reason"] == "Die Wartezeit auf Ihre Rückmeldung ist abgelaufen."
    noop = harness.events_until_terminal(submit_de(harness, "demo.noop"))
    assert [e.message for e in noop[-3:]] == ["Nothing", "Nothing to do", "Fertig. Nothing to do."]
