"""The account-linking authorization server: Authlib's Flask ``AuthorizationServer`` on top of :class:`OAuthStore`.

Authlib parses and validates the protocol (RFC 6749 authorization code + refresh token grants, RFC 7636
PKCE, client authentication, error responses); this module only supplies the storage callbacks and makes
its defaults stricter, per the OAuth 2.0 Security BCP (RFC 9700):

* PKCE is mandatory and only ``S256`` is accepted (a missing method would default to ``plain``: refused);
* ``redirect_uri`` and ``state`` are required in every authorization request; the URI must equal one of the
  client's registered URIs exactly;
* codes are single-use (a replay revokes the tokens issued from the first use), 5 minutes, and bound to the
  client, redirect URI, PKCE challenge, owner and person;
* refresh tokens rotate on every use and a reused one revokes its family;
* ``invalid_client`` is always 401 with ``WWW-Authenticate: Basic``; token responses are never cached.

Authlib objects are built per :class:`OAuthService`, never at import time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, InvalidRequestError, InvalidScopeError, OAuth2Error
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import CODE_CHALLENGE_PATTERN
from flask import Response

from core.commands import Principal
from gateway.oauth.records import (
    ACCESS_PREFIX,
    REFRESH_PREFIX,
    ClientRecord,
    CodeRecord,
    RefreshRecord,
    new_secret,
    parse_scope,
)
from gateway.oauth.store import OAuthStore

AUTH_METHODS = ("client_secret_basic", "client_secret_post")
GRANT_TYPES = ("authorization_code", "refresh_token")


@dataclass(frozen=True)
class LinkedUser:
    """The resource owner as Authlib sees it: one person of one owner."""

    owner_id: str
    person_id: str


class OAuthClient(ClientMixin):  # type: ignore[misc]
    """Authlib's view of a registered client."""

    def __init__(self, record: ClientRecord, store: OAuthStore) -> None:
        self.record = record
        self._store = store

    def get_client_id(self) -> str:
        return self.record.id

    def get_default_redirect_uri(self) -> None:
        return None  # redirect_uri is always required: no default

    def get_allowed_scope(self, scope: str | None) -> str | None:
        return parse_scope(scope, self.record.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.record.redirect_uris  # exact string match only

    def check_client_secret(self, client_secret: str) -> bool:
        return self._store.check_client_secret(self.record.id, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


class _Code:
    """Authlib's view of a redeemed authorization code."""

    def __init__(self, record: CodeRecord) -> None:
        self.record = record
        self.code_challenge = record.code_challenge
        self.code_challenge_method = record.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.record.redirect_uri

    def get_scope(self) -> str:
        return self.record.scope


class _Refresh:
    """Authlib's view of a claimed refresh token."""

    def __init__(self, record: RefreshRecord) -> None:
        self.record = record

    def check_client(self, client: OAuthClient) -> bool:
        return bool(client.get_client_id() == self.record.client_id)

    def get_scope(self) -> str:
        return self.record.scope


class S256Only(CodeChallenge):  # type: ignore[misc]
    """PKCE on every authorization request, ``S256`` only (RFC 9700 §2.1.1).

    The one exception is a client registered with ``pkce_required=False`` that sends no PKCE parameters at
    all; whatever PKCE parameters any client sends are validated, and then enforced at the token endpoint.
    """

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        datalist = grant.request.payload.datalist
        challenge = data.get("code_challenge")
        method = data.get("code_challenge_method")
        client = getattr(grant.request, "client", None)
        exempt = isinstance(client, OAuthClient) and not client.record.pkce_required
        if exempt and not challenge and not method:
            return
        if not challenge:
            raise InvalidRequestError("PKCE is required: missing 'code_challenge'.")
        if len(datalist.get("code_challenge", [])) > 1 or len(datalist.get("code_challenge_method", [])) > 1:
            raise InvalidRequestError("Repeated PKCE parameters.")
        if not CODE_CHALLENGE_PATTERN.match(challenge):
            raise InvalidRequestError("Invalid 'code_challenge'.")
        if method != "S256":
            raise InvalidRequestError("'code_challenge_method' must be 'S256' ('plain' is not accepted).")


class CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    """Authorization code grant: state and redirect_uri required; codes stored hashed, redeemed once."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)
    store: OAuthStore  # set on the subclass built by OAuthService

    @staticmethod
    def validate_authorization_redirect_uri(request: Any, client: OAuthClient) -> str:
        uri = request.payload.redirect_uri
        if not uri:
            raise InvalidRequestError("Missing 'redirect_uri' in request.")
        if not client.check_redirect_uri(uri):
            raise InvalidRequestError("This 'redirect_uri' is not registered for the client.")
        return str(uri)

    def validate_authorization_request(self) -> str:
        redirect_uri = str(super().validate_authorization_request())
        if not self.request.payload.state:
            raise InvalidRequestError("Missing 'state' in request.", redirect_uri=redirect_uri)
        return redirect_uri

    def save_authorization_code(self, code: str, request: Any) -> None:
        user: LinkedUser = request.user
        data = request.payload.data
        self.store.save_code(
            code,
            client_id=request.client.get_client_id(),
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            code_challenge=data.get("code_challenge") or None,
            code_challenge_method=data.get("code_challenge_method") or None,
            owner_id=user.owner_id,
            person_id=user.person_id,
        )

    def query_authorization_code(self, code: str, client: OAuthClient) -> _Code | None:
        # Redeeming here (not in delete_authorization_code) makes the single use atomic: a request that
        # later fails PKCE or redirect_uri checks has still burnt the code, and a replay is always caught.
        record = self.store.redeem_code(code, client.get_client_id())
        return None if record is None else _Code(record)

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        return None  # already consumed by query_authorization_code

    def authenticate_user(self, authorization_code: _Code) -> LinkedUser:
        return LinkedUser(authorization_code.record.owner_id, authorization_code.record.person_id)


class RefreshGrant(RefreshTokenGrant):  # type: ignore[misc]
    """Refresh token grant with rotation (a new refresh token every time) and reuse detection."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True
    store: OAuthStore

    def authenticate_refresh_token(self, refresh_token: str) -> _Refresh | None:
        client: OAuthClient = self.request.client
        wanted = self.request.payload.scope
        if wanted and parse_scope(wanted, client.record.scopes) is None:
            raise InvalidScopeError()  # checked before the token is used up
        record = self.store.claim_refresh(refresh_token, client.get_client_id())
        if record is None:
            return None
        if wanted and not set(wanted.split()) <= set(record.scope.split()):
            raise InvalidScopeError()
        return _Refresh(record)

    def authenticate_user(self, refresh_token: _Refresh) -> LinkedUser:
        return LinkedUser(refresh_token.record.owner_id, refresh_token.record.person_id)

    def revoke_old_credential(self, refresh_token: _Refresh) -> None:
        return None  # already rotated by claim_refresh


class _Server(AuthorizationServer):  # type: ignore[misc]
    def handle_error_response(self, request: Any, error: OAuth2Error) -> Response:
        if error.error == "invalid_client" and not error.redirect_uri:
            error.status_code = 401  # RFC 6749 §5.2: 401 + WWW-Authenticate (added by Authlib for 401)
        response: Response = super().handle_error_response(request, error)
        if not error.redirect_uri:
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        return response


def _quiet_authlib() -> None:
    """Authlib logs every issued token dict (``"Issue token %r"``) at DEBUG: never let that through."""
    authlib_log = logging.getLogger("authlib")
    if authlib_log.getEffectiveLevel() < logging.INFO or authlib_log.level == logging.NOTSET:
        authlib_log.setLevel(logging.INFO)


class OAuthService:
    """The account-linking server for one process: ``store`` plus an Authlib server wired to it.

    ``container.oauth`` in the app; the blueprint and the voice adapters use it.
    """

    def __init__(self, store: OAuthStore) -> None:
        self.store = store
        _quiet_authlib()
        code_grant = type("BoundCodeGrant", (CodeGrant,), {"store": store})
        refresh_grant = type("BoundRefreshGrant", (RefreshGrant,), {"store": store})
        server = _Server(query_client=self._query_client, save_token=self._save_token)
        server.load_config({})
        server.register_token_generator("default", self._generate_token)
        server.register_grant(code_grant, [S256Only(required=True)])
        server.register_grant(refresh_grant)
        self.server: Any = server

    def __repr__(self) -> str:
        return f"OAuthService(store={self.store!r})"

    def resolve_access_token(self, raw: str) -> Principal:
        """The owner/person a voice assistant's access token stands for (``AuthLevel.LINKED``).

        Raises ``core.errors.AuthenticationRequired`` for an unknown, expired or revoked token.
        """
        return self.store.resolve_access_token(raw)

    # ------------------------------------------------------------------------------------- Authlib hooks
    def _query_client(self, client_id: str) -> OAuthClient | None:
        record = self.store.get_client(client_id) if isinstance(client_id, str) else None
        return None if record is None else OAuthClient(record, self.store)

    def _generate_token(
        self,
        grant_type: str,
        client: OAuthClient,
        user: LinkedUser | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": new_secret(ACCESS_PREFIX),
            "expires_in": int(self.store.policy.access_ttl.total_seconds()),
            "refresh_token": new_secret(REFRESH_PREFIX),
        }
        if scope:
            token["scope"] = scope
        return token

    def _save_token(self, token: dict[str, Any], request: Any) -> None:
        if request.payload.grant_type == "authorization_code":
            grant_id = request.authorization_code.record.grant_id
        else:
            grant_id = request.refresh_token.record.grant_id
        self.store.issue_tokens(
            grant_id,
            grant_type=request.payload.grant_type,
            access_token=token["access_token"],
            refresh_token=token["refresh_token"],
        )
