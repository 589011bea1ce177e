"""Pages and endpoints of account linking: ``/oauth/authorize`` (grant page), ``/oauth/token``, linked apps.

Needs ``current_app.extensions["omniops"]`` with ``oauth`` (an :class:`~gateway.oauth.server.OAuthService`)
and ``owners`` (identity's ``SqlOwners``), the identity blueprint (``/login``), and ``gateway.web.init_web``.

The authorization request is validated *before* anyone is asked to sign in: an unknown client, a missing or
unregistered ``redirect_uri`` get an error page here and are never redirected (RFC 6749 §4.1.2.1); every
other error goes back to the client's redirect URI with ``error`` and ``state``.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import OAuth2Error
from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from core.errors import AuthenticationRequired, Forbidden, OmniOpsError
from gateway.identity.auth import current_person, login_required, owners
from gateway.identity.records import Person, Role
from gateway.oauth.records import SCOPES
from gateway.oauth.server import AUTH_METHODS, GRANT_TYPES, LinkedUser, OAuthService
from gateway.openapi import describe
from gateway.web import PAGE_CSP, client_ip, page_headers, require_csrf, user_agent

bp = Blueprint("oauth", __name__, template_folder="../templates")
bp.after_request(page_headers)

View = str | WerkzeugResponse | tuple[str, int]


def oauth() -> OAuthService:
    """The account-linking service of the running app (``current_app.extensions["omniops"].oauth``)."""
    return cast(OAuthService, current_app.extensions["omniops"].oauth)


@bp.errorhandler(OmniOpsError)
def _error(err: OmniOpsError) -> tuple[str, int]:
    return render_template("oauth/error.html", title=err.title, error=err.message), err.status


# ------------------------------------------------------------------------------------------- authorize
@bp.route("/oauth/authorize", methods=["GET", "POST"])
@describe(
    "Account linking: ask the signed-in owner to link a voice assistant (HTML grant page)",
    tags=("oauth",),
    request_type="application/x-www-form-urlencoded",
    response_type="text/html",
    responses={
        200: "The grant page",
        302: "To /login, or back to the client with code/state or error/state",
        400: "Unknown client or redirect URI (error page, no redirect)",
        403: "CSRF, or not an account owner",
    },
)
def authorize() -> View:
    server = oauth().server
    try:
        grant = server.get_consent_grant(end_user=None)
    except OAuth2Error as err:
        return _authorize_error(err)
    person = current_person()
    if person is None:
        return redirect(url_for("identity.login", next=_authorize_path()))
    if request.method == "GET":
        return _grant_page(person, grant)
    require_csrf()
    if person.role is not Role.OWNER:
        raise Forbidden("Only an account owner can link a voice assistant.")
    client_id = grant.client.get_client_id()
    approved = request.form.get("decision") == "approve"
    oauth().store.record(
        "authorization_approved" if approved else "authorization_denied",
        owner_id=person.owner_id,
        agent=f"person:{person.id}",
        ip=client_ip(),
        user_agent=user_agent(),
        client_id=client_id,
        scope=grant.request.scope,
    )
    user = LinkedUser(person.owner_id, person.id) if approved else None
    return cast(WerkzeugResponse, server.create_authorization_response(grant_user=user, grant=grant))


def _authorize_path() -> str:
    """This authorization request as a same-site path (the GET form, to come back to after login)."""
    query = request.query_string.decode("ascii", "replace")
    return f"{request.path}?{query}" if query else request.path


def _authorize_error(err: OAuth2Error) -> View:
    if err.redirect_uri:  # client and redirect URI were verified: tell the client
        return cast(WerkzeugResponse, oauth().server.handle_error_response(None, err))
    detail = err.description or err.error
    html = render_template("oauth/error.html", title="This link request is not valid", error=detail)
    return html, 400


def _grant_page(person: Person, grant: Any) -> WerkzeugResponse:
    owner = owners().get(person.owner_id)
    if owner is None:  # the session outlived its owner
        raise AuthenticationRequired("Please sign in again.")
    client = grant.client.record
    scope = str(grant.request.scope)
    html = render_template(
        "oauth/grant.html",
        client=client,
        owner=owner,
        person=person,
        abilities=[SCOPES[s] for s in scope.split() if s in SCOPES],
        action=_authorize_path(),
        can_link=person.role is Role.OWNER,
    )
    response = current_app.make_response(html)
    # The approval form redirects to the client: browsers apply form-action to that redirect too.
    target = urlsplit(str(grant.redirect_uri))
    origin = f"{target.scheme}://{target.netloc}"
    response.headers["Content-Security-Policy"] = PAGE_CSP.replace("form-action 'self'", f"form-action 'self' {origin}")
    return response


# ----------------------------------------------------------------------------------------------- token
@bp.post("/oauth/token")
@describe(
    "Account linking token endpoint: authorization_code (PKCE S256) and refresh_token grants; the client "
    "authenticates with HTTP Basic or client_secret_post; errors are RFC 6749 JSON",
    tags=("oauth",),
    request_type="application/x-www-form-urlencoded",
    responses={
        200: "access_token, token_type, expires_in, refresh_token, scope",
        400: "invalid_request, invalid_grant, unsupported_grant_type, invalid_scope",
        401: "invalid_client",
    },
    error_type="application/json",
)
def token() -> WerkzeugResponse:
    server = oauth().server
    try:
        return cast(WerkzeugResponse, server.create_token_response())
    except OAuth2Error as err:  # raised before Authlib's own handler: plain http on a non-loopback host
        return cast(WerkzeugResponse, server.handle_error_response(None, err))


@bp.get("/.well-known/oauth-authorization-server")
@describe(
    "Authorization server metadata (RFC 8414) for the account-linking consoles",
    tags=("oauth",),
    responses={200: "issuer, endpoints and supported methods"},
)
def metadata() -> WerkzeugResponse:
    issuer = str(current_app.extensions["omniops"].settings.public_url).rstrip("/")
    response = jsonify(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oauth/authorize",
            "token_endpoint": f"{issuer}/oauth/token",
            "response_types_supported": ["code"],
            "grant_types_supported": list(GRANT_TYPES),
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "scopes_supported": sorted(SCOPES),
        }
    )
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


# ---------------------------------------------------------------------------------------- linked apps
@bp.get("/account/linked-apps")
@login_required
@describe(
    "Voice assistants linked to this account",
    tags=("oauth",),
    response_type="text/html",
    responses={200: "The list", 302: "To /login"},
)
def linked_apps() -> View:
    me = _me()
    links = oauth().store.list_links(me.owner_id)
    people = {p.id: p.name for p in owners().people(me.owner_id)}
    return render_template(
        "oauth/linked_apps.html", person=me, links=links, people=people, can_manage=me.role is Role.OWNER
    )


@bp.post("/account/linked-apps/<grant_id>/revoke")
@login_required
@describe(
    "Unlink a voice assistant (its tokens stop working at once)",
    tags=("oauth",),
    request_type="application/x-www-form-urlencoded",
    response_type="text/html",
    responses={302: "Unlinked", 403: "CSRF or not an account owner", 404: "No such link on this account"},
)
def unlink(grant_id: str) -> View:
    require_csrf()
    me = _me()
    if me.role is not Role.OWNER:
        raise Forbidden("Only an account owner can unlink a voice assistant.")
    oauth().store.unlink(me.owner_id, grant_id, agent=f"person:{me.id}", ip=client_ip(), user_agent=user_agent())
    flash("Unlinked. That assistant can no longer act for this account.", "ok")
    return redirect(url_for("oauth.linked_apps"))


def _me() -> Person:
    person = current_person()
    if person is None:
        raise AuthenticationRequired()
    return person
