"""Recipe declarations: what a run does, step by step, and what each step may touch.

A :class:`Recipe` serves one intent (optionally one service), declares its consent
(:class:`core.ports.ConsentDeclaration`), and lists :class:`Step` objects. Steps may name the steps they
depend on (``depends_on``); without any dependencies declared a recipe runs its steps in order (each step
implicitly depends on the previous one). A step is one side effect: ``run(ctx)`` performs it with the
deterministic idempotency key ``run_id:step_id``; ``verify(ctx)`` (optional) looks the side effect up after a
crash mid-step; ``compensate(ctx, result)`` (optional) undoes it on failure or cancellation.

Steps receive a :class:`StepContext`: the run's params, the outputs of earlier steps, credentials through the
:class:`CredentialAccess` port (never a vault import), an HTTP client, ``emit`` for progress, and
``wait_for_owner`` to pause the run until the owner acts (for example an OAuth callback).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field

from core.consent import params_hash
from core.i18n import known, t
from core.ports import ConsentDeclaration, RecipeInfo


# --------------------------------------------------------------------------------------------- ports
class CredentialAccess(Protocol):
    """The slice of the vault a step may use; the lead adapts the real vault to it in bootstrap."""

    def get(
        self, owner_id: str, service: str, *, run_id: str | None = None, step_id: str | None = None
    ) -> Mapping[str, str] | None:
        """The owner's stored secret fields for ``service``, or None (the vault audits who asked)."""
        ...

    def put(self, owner_id: str, service: str, secret: Mapping[str, str], *, label: str) -> str:
        """Store a secret for ``service``; returns the credential id (never the secret)."""
        ...

    def revoke(self, owner_id: str, service: str, *, keep: str | None = None) -> int:
        """Revoke and erase every live credential the owner holds for ``service`` except the one with id
        ``keep`` (a replacement just stored); returns how many."""
        ...


# --------------------------------------------------------------------------------------------- results, policy
class StepResult(BaseModel):
    """What a step did, in words and ids (never secrets)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    summary: str = ""  # a human sentence for the owner: "Created the webhook for new orders"
    external_ids: dict[str, str] = Field(default_factory=dict)
    output: dict[str, Any] = Field(default_factory=dict)  # JSON data later steps can read


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped; ``Retry-After`` wins when the provider sends one."""

    max_attempts: int = 5
    initial_seconds: float = 1.0
    multiplier: float = 2.0
    max_seconds: float = 60.0
    max_retry_after_seconds: float = 300.0

    def delay(self, tries: int, *, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait before try number ``tries + 1`` (``tries`` failures so far, ≥ 1)."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_retry_after_seconds)
        ceiling = min(self.max_seconds, self.initial_seconds * self.multiplier ** max(0, tries - 1))
        return (rng or random).uniform(0.0, ceiling)


NO_RETRY = RetryPolicy(max_attempts=1)


# --------------------------------------------------------------------------------------------- control flow
class WaitingForOwner(Exception):
    """Raised by ``StepContext.wait_for_owner`` to park the run until ``resume`` or the timeout."""

    def __init__(self, *, key: str, reason: str, timeout_seconds: float) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason
        self.timeout_seconds = timeout_seconds


class StepContext:
    """Everything a step may use. Built by the runner for each step execution."""

    def __init__(
        self,
        *,
        run_id: str,
        owner_id: str,
        step_id: str,
        params: Mapping[str, Any],
        outputs: Mapping[str, Mapping[str, Any]],
        credentials: CredentialAccess | None,
        http: httpx.Client,
        emit: Callable[[str], None],
        owner_input: Mapping[str, Any] | None = None,
        resumed: bool = False,
        locale: str = "en-US",
        consent_id: str | None = None,
    ) -> None:
        self.run_id = run_id
        self.consent_id = consent_id  # the grant this run executes under (standing workflows are bound to it)
        self.owner_id = owner_id
        self.step_id = step_id
        self.params = dict(params)
        self.outputs = {k: dict(v) for k, v in outputs.items()}
        self.http = http
        self.resumed = resumed  # True when an earlier attempt started this step and may have done its effect
        self.locale = locale
        self.credential_services: list[str] = []  # services whose credentials were read or written (audit)
        self._credentials = credentials
        self._emit = emit
        self._owner_input = dict(owner_input) if owner_input is not None else None

    @property
    def idempotency_key(self) -> str:
        """Deterministic across retries and crashes: ``run_id:step_id``."""
        return f"{self.run_id}:{self.step_id}"

    def emit(self, message: str) -> None:
        """Publish a progress message for the owner (persisted as a run event)."""
        self._emit(message)

    def credential(self, service: str) -> Mapping[str, str] | None:
        """The owner's credential for ``service`` (recorded in the audit entry by service name)."""
        if self._credentials is None:
            return None
        self.credential_services.append(service)
        return self._credentials.get(self.owner_id, service, run_id=self.run_id, step_id=self.step_id)

    def store_credential(self, service: str, secret: Mapping[str, str], *, label: str) -> str:
        """Store a new credential for ``service`` in the vault; returns its id."""
        if self._credentials is None:
            raise RuntimeError("this runner has no credential access configured")
        self.credential_services.append(service)
        return self._credentials.put(self.owner_id, service, secret, label=label)

    def forget_credentials(self, service: str, *, keep: str | None = None) -> int:
        """Revoke and erase the owner's credentials for ``service`` in the vault (all but the credential id
        ``keep``, when given); returns how many."""
        if self._credentials is None:
            raise RuntimeError("this runner has no credential access configured")
        self.credential_services.append(service)
        if keep is None:
            return self._credentials.revoke(self.owner_id, service)
        return self._credentials.revoke(self.owner_id, service, keep=keep)

    def wait_for_owner(self, reason: str, *, timeout_seconds: float = 3600.0) -> dict[str, Any]:
        """Return the owner's input for this step, or pause the run until it arrives (``resume``)."""
        if self._owner_input is not None:
            return dict(self._owner_input)
        raise WaitingForOwner(key=self.step_id, reason=reason, timeout_seconds=timeout_seconds)


StepFn = Callable[[StepContext], StepResult]
VerifyFn = Callable[[StepContext], StepResult | None]
CompensateFn = Callable[[StepContext, StepResult], None]


@dataclass(frozen=True, kw_only=True)
class Step:
    """One side effect. ``verify`` finds it after a crash; ``compensate`` undoes it."""

    id: str
    title: str  # English (audit, logs); the owner sees it translated, see ``Recipe.step_title``
    run: StepFn
    verify: VerifyFn | None = None
    compensate: CompensateFn | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    depends_on: tuple[str, ...] | None = None  # None: the previous step (or none for the first)


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """A named, versioned list (or DAG) of steps serving one intent, with its consent declaration."""

    name: str
    intent: str
    declaration: ConsentDeclaration
    steps: tuple[Step, ...]
    service: str | None = None
    required: tuple[str, ...] = ()
    prompts: dict[str, str] = field(default_factory=dict)
    expected_seconds: int = 60
    manual_guide_url: str | None = None
    version: int = 1
    params_model: type[BaseModel] | None = None
    #: The owner's "done" sentence from the done steps' results, in the run's locale (``core.i18n``).
    summarize: Callable[[Mapping[str, StepResult], str], str] | None = None
    #: A declaration that names the exact params (for example the schedule) instead of the static one.
    describe: Callable[[Mapping[str, Any]], ConsentDeclaration] | None = None
    also_serves: tuple[str, ...] = ()  # further ``service`` param values this recipe serves
    serves_commands: bool = True  # False: started by the system (the scheduler), never chosen for a command

    def __post_init__(self) -> None:
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"recipe {self.name}: duplicate step ids")
        known: set[str] = set()
        for step in self.steps:  # dependencies must name earlier steps: no cycles by construction
            for dep in self.dependencies(step):
                if dep not in known:
                    raise ValueError(f"recipe {self.name}: step {step.id} depends on unknown/later step {dep}")
            known.add(step.id)

    def dependencies(self, step: Step) -> tuple[str, ...]:
        """The ids ``step`` waits for (explicit ``depends_on``, else the previous step)."""
        if step.depends_on is not None:
            return step.depends_on
        index = self.steps.index(step)
        return (self.steps[index - 1].id,) if index > 0 else ()

    def step_title(self, step: Step, locale: str) -> str:
        """``step.title`` in ``locale``: catalog key ``recipe.<name>.step.<id>`` when it exists, else the title."""
        key = f"recipe.{self.name}.step.{step.id}"
        return t(locale, key) if known(key) else step.title

    def step(self, step_id: str) -> Step:
        """The step named ``step_id``."""
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def declaration_for(self, params: Mapping[str, Any]) -> ConsentDeclaration:
        """What the owner approves for these params (``describe`` when the recipe has one)."""
        return self.describe(params) if self.describe is not None else self.declaration

    def info(self, params: Mapping[str, Any] | None = None) -> RecipeInfo:
        """The record the core sees (``RecipeCatalog``), its declaration rendered for ``params``."""
        return RecipeInfo(
            name=self.name,
            declaration=self.declaration_for(params) if params is not None else self.declaration,
            required=self.required,
            prompts=dict(self.prompts),
            expected_seconds=self.expected_seconds,
            manual_guide_url=self.manual_guide_url,
        )

    def params_hash(self, params: Mapping[str, Any]) -> str:
        """The hash a consent grant for this recipe and these params carries."""
        return params_hash(self.intent, params, self.declaration_for(params))

    def validate_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Params checked against ``params_model`` (if any) and ``required``."""
        data = dict(params)
        missing = [name for name in self.required if data.get(name) in (None, "")]
        if missing:
            raise ValueError(f"recipe {self.name} needs {', '.join(missing)}")
        if self.params_model is not None:
            data = self.params_model.model_validate(data).model_dump(mode="json")
        return data


class RecipeRegistry:
    """The recipes this deployment knows, by name; implements ``core.ports.RecipeCatalog``."""

    def __init__(self, recipes: Sequence[Recipe] = ()) -> None:
        self._by_name: dict[str, Recipe] = {}
        for recipe in recipes:
            self.add(recipe)

    def add(self, recipe: Recipe) -> None:
        """Register ``recipe``; names are unique."""
        if recipe.name in self._by_name:
            raise ValueError(f"recipe {recipe.name} registered twice")
        self._by_name[recipe.name] = recipe

    def get(self, name: str) -> Recipe | None:
        """The recipe named ``name``, or None."""
        return self._by_name.get(name)

    def __iter__(self) -> Any:
        return iter(self._by_name.values())

    def recipe_for(self, intent: str, params: Mapping[str, Any]) -> Recipe | None:
        """The recipe serving ``intent`` (matching ``params['service']`` when the recipe names a service)."""
        service = params.get("service")
        fallback: Recipe | None = None
        for recipe in self._by_name.values():
            if recipe.intent != intent or not recipe.serves_commands:
                continue
            if recipe.service is not None and service in (recipe.service, *recipe.also_serves):
                return recipe
            if recipe.service is None and fallback is None:
                fallback = recipe
        return fallback

    def for_command(self, intent: str, params: Mapping[str, Any]) -> RecipeInfo | None:
        """``RecipeCatalog``: the recipe info serving ``intent`` with ``params``, or None."""
        recipe = self.recipe_for(intent, params)
        return recipe.info(params) if recipe is not None else None
