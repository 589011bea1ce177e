"""Consent requests: the SQL store, the consent-link pages and the owner API for standing grants.

Wiring (composition root)::

    from gateway.consent.schema import SCHEMA as CONSENT_SCHEMA
    from gateway.consent.store import build_consent_store

    create_schema(engine, components=[CONSENT_SCHEMA, ...])
    consents = build_consent_store(engine, clock=clock, ids=ids, secret_key=secret_key)
    # Services(consents=consents, consent_ttl_seconds=settings.consent_ttl_seconds, ...)
    # container.consents, container.bus, container.audit, container.resolve_owner_token(raw, "consents")
    # blueprints: gateway.consent.blueprint.bp
"""
