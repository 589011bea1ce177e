"""executor: durable, crash-safe runs of recipe steps on an embedded (SQLite) or distributed (Redis) queue.

Modules: ``recipe`` (Recipe/Step/StepContext/RecipeRegistry, the ``CredentialAccess`` port), ``schema`` +
``journal`` (runs, steps, events; leases fenced by ``attempt``), ``queue`` (Huey, JSON-only messages carrying a
run id; the reaper), ``bus`` (run events: in-process or Redis pub/sub, replay from the journal), ``runner``
(claim, heartbeat, retries, compensation, waiting for the owner, consent and audit), ``worker`` (threads,
``build_executor``, ``start_in_process``, ``register_cli``), ``http`` (provider error families), ``demo``
(built-in demo recipes).

Wiring (bootstrap): ``gateway.db.create_schema(engine, [executor.schema.SCHEMA, ...])``, then
``build_executor(engine=..., clock=..., ids=..., recipes=..., redis_url=settings.redis_url or None,
consents=..., audit=..., credentials=..., notifier=...)``; the gateway uses ``executor.runner`` (submit,
cancel, resume), ``executor.journal`` (the ``Journal`` port) and ``executor.bus`` (subscribe for SSE).
"""
