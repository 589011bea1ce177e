"""Built-in demo recipes (tests, benchmarks, the demo mode); real recipes live in ``executor/recipes/``.

They talk to a "counting service": any HTTP server with ``POST /objects/<kind>`` (create-once per
``Idempotency-Key``), ``GET /objects/<kind>?key=`` (look up by key), ``DELETE /objects/<kind>/<id>`` and
``POST /slow/<name>?ms=`` (records start/end, for DAG tests). The run param ``base_url`` names it.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from core.intents import ConsentTier
from core.ports import ConsentDeclaration
from executor.http import call
from executor.recipe import CompensateFn, Recipe, RetryPolicy, Step, StepContext, StepFn, StepResult, VerifyFn

PROVIDER = "counting service"
DEMO_GUIDE = "https://omniops.dev/guides/demo"
DEMO_RETRY = RetryPolicy(max_attempts=6, initial_seconds=0.05, max_seconds=0.4, max_retry_after_seconds=10)


def _declaration(tier: ConsentTier) -> ConsentDeclaration:
    return ConsentDeclaration(
        action="Create demo objects",
        service="demo",
        permissions=("demo:write",),
        data_access=("none",),
        duration="one-time",
        tier=tier,
    )


def _create(kind: str, title: str) -> tuple[StepFn, VerifyFn]:
    def run(ctx: StepContext) -> StepResult:
        base = str(ctx.params["base_url"]).rstrip("/")
        body = {"name": f"OmniOps-{ctx.run_id}-{kind}", "ms": int(ctx.params.get("step_ms", 0))}
        response = call(
            ctx.http,
            "POST",
            f"{base}/objects/{kind}",
            provider=PROVIDER,
            json=body,
            headers={"Idempotency-Key": ctx.idempotency_key},
            timeout=float(ctx.params.get("timeout", 5.0)),
        )
        return StepResult(
            summary=f"{title} created", external_ids={kind: response.json()["id"]}, output={"id": response.json()["id"]}
        )

    def verify(ctx: StepContext) -> StepResult | None:
        base = str(ctx.params["base_url"]).rstrip("/")
        try:
            response = ctx.http.get(f"{base}/objects/{kind}", params={"key": ctx.idempotency_key}, timeout=5.0)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        found = response.json()["id"]
        return StepResult(summary=f"{title} created", external_ids={kind: found}, output={"id": found})

    return run, verify


def _delete(kind: str) -> CompensateFn:
    def compensate(ctx: StepContext, result: StepResult) -> None:
        base = str(ctx.params["base_url"]).rstrip("/")
        call(ctx.http, "DELETE", f"{base}/objects/{kind}/{result.external_ids[kind]}", provider=PROVIDER)

    return compensate


def _counting_steps(kinds: Sequence[tuple[str, str]]) -> tuple[Step, ...]:
    steps = []
    for kind, title in kinds:
        run, verify = _create(kind, title)
        steps.append(Step(id=kind, title=title, run=run, verify=verify, compensate=_delete(kind), retry=DEMO_RETRY))
    return tuple(steps)


COUNTING_KINDS = (("key", "API key"), ("webhook", "Order webhook"), ("product", "Sample product"))


def _slow(name: str) -> StepFn:
    def run(ctx: StepContext) -> StepResult:
        base = str(ctx.params["base_url"]).rstrip("/")
        ms = int(ctx.params.get("ms", 300))
        call(ctx.http, "POST", f"{base}/slow/{name}", provider=PROVIDER, params={"ms": ms, "run": ctx.run_id})
        return StepResult(summary=f"{name} finished")

    return run


def _noop(ctx: StepContext) -> StepResult:
    return StepResult(summary="Nothing to do")


def _wait_then_create(ctx: StepContext) -> StepResult:
    answer = ctx.wait_for_owner(
        "Waiting for you to approve in the browser.", timeout_seconds=float(ctx.params.get("wait_timeout", 60))
    )
    return StepResult(summary="Owner approved", output={"answer": answer})


def demo_recipes() -> list[Recipe]:
    """The demo recipe set: noop, counting (3 steps), counting_consented, dag, wait, reject."""
    none, verified = _declaration(ConsentTier.NONE), _declaration(ConsentTier.VERIFIED)
    first_run, first_verify = _create("key", "API key")
    last_run, last_verify = _create("product", "Sample product")
    return [
        Recipe(
            name="demo.noop",
            intent="demo",
            declaration=none,
            steps=(Step(id="noop", title="Nothing", run=_noop),),
            expected_seconds=1,
        ),
        Recipe(
            name="demo.counting",
            intent="demo",
            service="counting",
            declaration=none,
            steps=_counting_steps(COUNTING_KINDS),
            manual_guide_url=DEMO_GUIDE,
            expected_seconds=5,
        ),
        Recipe(
            name="demo.counting_consented",
            intent="demo",
            service="counting_consented",
            declaration=verified,
            steps=_counting_steps(COUNTING_KINDS),
            manual_guide_url=DEMO_GUIDE,
        ),
        Recipe(
            name="demo.dag",
            intent="demo",
            service="dag",
            declaration=none,
            steps=(
                Step(id="a", title="Branch A", run=_slow("a"), depends_on=()),
                Step(id="b", title="Branch B", run=_slow("b"), depends_on=()),
                Step(id="c", title="Branch C", run=_slow("c"), depends_on=()),
                Step(id="join", title="Join", run=_slow("join"), depends_on=("a", "b", "c")),
            ),
        ),
        Recipe(
            name="demo.wait",
            intent="demo",
            service="wait",
            declaration=none,
            manual_guide_url=DEMO_GUIDE,
            steps=(
                Step(
                    id="key",
                    title="API key",
                    run=first_run,
                    verify=first_verify,
                    compensate=_delete("key"),
                    retry=DEMO_RETRY,
                ),
                Step(id="approve", title="Owner approval", run=_wait_then_create),
                Step(
                    id="product",
                    title="Sample product",
                    run=last_run,
                    verify=last_verify,
                    compensate=_delete("product"),
                    retry=DEMO_RETRY,
                ),
            ),
        ),
    ]
