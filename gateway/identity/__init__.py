"""Owners and identity: businesses, people, logins, verified phones, owner API tokens and plans.

Wiring: ``SqlOwners(engine, clock, ids, audit, send_sms=...)`` (store), ``schema.SCHEMA`` (for
``gateway.db.create_schema``), ``blueprint.bp`` (pages), ``cli.register_cli`` (``omniops owners …``).
"""
