"""Voice channel adapters (no Flask): each verifies, parses to ``core.commands.Command`` and renders a ``Reply``.

- ``voice.alexa`` — ``AlexaAdapter`` (+ ``verify``/``parse``/``render`` modules, progressive and proactive clients)
- ``voice.google_assistant`` — ``GoogleAssistantAdapter`` (Actions Builder webhook, JWT → 403)
- ``voice.siri_shortcuts`` — ``SiriShortcutsAdapter`` (bearer token → 401)
- ``voice.slots`` — slot types and voice intent names derived from the intent registry
- ``voice.manifests`` — ``build``/``check`` of ``skill_manifests/``; ``voice.i18n`` — message catalogs

Every adapter has ``handle(headers, raw_body, *, bus_handle, resolve_owner) -> dict``.
"""
