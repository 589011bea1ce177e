"""Unit tests (no I/O): recipe declarations, the registry as RecipeCatalog, retry policy, Retry-After parsing."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from core.intents import ConsentTier
from core.ports import ConsentDeclaration
from executor.demo import demo_recipes
from executor.http import parse_retry_after
from executor.recipe import Recipe, RecipeRegistry, RetryPolicy, Step, StepContext, StepResult

DECL = ConsentDeclaration(
    action="a", service="s", permissions=(), data_access=(), duration="one-time", tier=ConsentTier.NONE
)


def _noop(ctx: StepContext) -> StepResult:
    return StepResult()


def _step(step_id: str, depends_on: tuple[str, ...] | None = None) -> Step:
    return Step(id=step_id, title=step_id, run=_noop, depends_on=depends_on)


def test_steps_without_dependencies_run_in_order_and_dags_keep_theirs() -> None:
    chain = Recipe(name="r", intent="i", declaration=DECL, steps=(_step("a"), _step("b"), _step("c")))
    assert [chain.dependencies(s) for s in chain.steps] == [(), ("a",), ("b",)]
    dag = Recipe(name="d", intent="i", declaration=DECL, steps=(_step("a", ()), _step("b", ()), _step("j", ("a", "b"))))
    assert [dag.dependencies(s) for s in dag.steps] == [(), (), ("a", "b")]


@pytest.mark.parametrize(
    "steps",
    [
        (_step("a"), _step("a")),  # duplicate id
        (_step("a", ("b",)), _step("b", ())),  # depends on a later step: cycles are impossible by construction
        (_step("a", ("zzz",)),),  # unknown step
    ],
)
def test_bad_step_graphs_are_refused(steps: tuple[Step, ...]) -> None:
    with pytest.raises(ValueError):
        Recipe(name="r", intent="i", declaration=DECL, steps=steps)


def test_registry_is_a_recipe_catalog_matching_service() -> None:
    registry = RecipeRegistry(demo_recipes())
    info = registry.for_command("demo", {"service": "dag"})
    assert info is not None and info.name == "demo.dag"
    generic = registry.for_command("demo", {"service": "nothing-specific"})
    assert generic is not None and generic.name == "demo.noop"  # the service-less recipe is the fallback
    assert registry.for_command("no_such_intent", {}) is None
    with pytest.raises(ValueError):
        registry.add(demo_recipes()[0])


def test_a_described_declaration_names_the_params_and_drives_the_hash() -> None:
    def describe(params: object) -> ConsentDeclaration:
        assert isinstance(params, dict)
        return DECL.model_copy(update={"action": f"every {params['when']}", "standing": True})

    recipe = Recipe(name="w", intent="i", declaration=DECL, describe=describe, steps=(_step("a"),))
    monday, friday = {"when": "monday"}, {"when": "friday"}
    assert recipe.info(monday).declaration.action == "every monday" and recipe.info(monday).declaration.standing
    assert recipe.info().declaration == DECL
    assert recipe.params_hash(monday) != recipe.params_hash(friday)
    twin = Recipe(name="w2", intent="i", declaration=DECL, describe=describe, steps=(_step("b"),))
    assert twin.params_hash(monday) == recipe.params_hash(monday)  # same intent and declaration: same grant


def test_system_recipes_are_never_chosen_for_a_command_and_also_serves_matches() -> None:
    system = Recipe(name="sys", intent="i", declaration=DECL, serves_commands=False, steps=(_step("a"),))
    multi = Recipe(name="m", intent="j", service="all", also_serves=("x", "y"), declaration=DECL, steps=(_step("a"),))
    registry = RecipeRegistry([system, multi])
    assert registry.for_command("i", {}) is None and registry.get("sys") is system
    assert [registry.recipe_for("j", {"service": s}) for s in ("all", "x", "y")] == [multi, multi, multi]
    assert registry.recipe_for("j", {"service": "z"}) is None


def test_required_params_are_checked() -> None:
    recipe = Recipe(name="r", intent="i", declaration=DECL, steps=(_step("a"),), required=("store_url",))
    with pytest.raises(ValueError, match="store_url"):
        recipe.validate_params({})
    assert recipe.validate_params({"store_url": "https://x"}) == {"store_url": "https://x"}


def test_backoff_is_full_jitter_capped_and_retry_after_wins() -> None:
    policy = RetryPolicy(initial_seconds=1, multiplier=2, max_seconds=10, max_retry_after_seconds=30)
    rng = random.Random(7)
    for tries, ceiling in ((1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (9, 10)):
        delays = [policy.delay(tries, rng=rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # jitter spans the whole window
    assert policy.delay(1, retry_after=12) == 12
    assert policy.delay(1, retry_after=500) == 30


def test_retry_after_parses_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 26, 3, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Thu, 26 Nov 2026 03:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None


def test_idempotency_key_is_run_and_step() -> None:
    import httpx

    ctx = StepContext(
        run_id="run_1",
        owner_id="o",
        step_id="key",
        params={},
        outputs={},
        credentials=None,
        http=httpx.Client(),
        emit=print,
    )
    assert ctx.idempotency_key == "run_1:key"
    ctx.http.close()
