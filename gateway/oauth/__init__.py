"""Account linking: the OAuth 2.0 authorization server Alexa and Google use to link a voice user to an owner.

Wiring: ``schema.SCHEMA`` (after identity's, for ``gateway.db.create_schema``), ``OAuthService(OAuthStore(engine,
clock, ids, audit))`` as ``container.oauth``, ``blueprint.bp`` (pages and endpoints), ``cli.register_cli``
(``omniops oauth client …``). Voice adapters call ``container.oauth.resolve_access_token(raw)``.
"""
