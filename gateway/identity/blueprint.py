"""Pages: /login, /login/sms, /logout, /account (+ its forms). Plain HTML, no JavaScript, CSRF on every POST.

Needs ``current_app.extensions["omniops"]`` with attribute ``owners`` (a :class:`SqlOwners`), the session
cookie configured by :func:`gateway.web.configure_sessions`, and :func:`gateway.web.init_web` called once.
Every ``/account`` action works only on the signed-in person's own owner: another owner's phone or token id
is answered 404, exactly like an id that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from core.errors import AuthenticationRequired, Conflict, Forbidden, InputError, OmniOpsError, RateLimited
from gateway.identity.auth import current_person, login_required, owners, sign_in, sign_out
from gateway.identity.plans import ADDONS, PLANS
from gateway.identity.records import IssuedToken, Person, Role, Scope
from gateway.openapi import describe
from gateway.web import client_ip, page_headers, require_csrf, safe_next, user_agent

bp = Blueprint("identity", __name__, template_folder="../templates")
bp.after_request(page_headers)

_SMS_KEY = "sms_login"
_USER_ERRORS = (InputError, Conflict, RateLimited)
View = str | WerkzeugResponse | tuple[str, int]


@bp.errorhandler(OmniOpsError)
def _error(err: OmniOpsError) -> tuple[str, int]:
    return render_template("identity/error.html", title=err.title, error=err.message), err.status


# ----------------------------------------------------------------------------------------------- sign in/out
@bp.route("/login", methods=["GET", "POST"])
@describe(
    "Sign in with e-mail and password (HTML form)",
    tags=("identity",),
    request_type="application/x-www-form-urlencoded",
    response_type="text/html",
    responses={
        200: "The form",
        302: "Signed in",
        401: "Wrong password",
        403: "CSRF",
        429: "Locked",
    },
)
def login() -> View:
    nxt = safe_next(request.values.get("next"), url_for("identity.account"))
    if request.method == "GET":
        return render_template("identity/login.html", next=nxt, email="")
    require_csrf()
    email = request.form.get("email", "")
    try:
        person = owners().logins.login_password(
            email, request.form.get("password", ""), ip=client_ip(), user_agent=user_agent()
        )
    except (AuthenticationRequired, RateLimited) as err:
        return render_template("identity/login.html", next=nxt, email=email, error=err.message), err.status
    sign_in(person, method="password")
    return redirect(nxt)


@bp.route("/login/sms", methods=["GET", "POST"])
@describe(
    "Sign in with a code texted to a verified phone (HTML form)",
    tags=("identity",),
    request_type="application/x-www-form-urlencoded",
    response_type="text/html",
    responses={200: "The form", 302: "Signed in", 401: "Wrong or expired code", 403: "CSRF", 429: "Rate limited"},
)
def login_sms() -> View:
    nxt = safe_next(request.values.get("next"), url_for("identity.account"))
    if request.method == "GET":
        return _sms_page("phone", nxt)
    require_csrf()
    if request.form.get("step") == "code":
        return _sms_check(nxt)
    try:
        challenge = owners().logins.start_sms_login(
            request.form.get("phone", ""), ip=client_ip(), user_agent=user_agent()
        )
    except (RateLimited, InputError) as err:
        return _sms_page("phone", nxt, error=err.message, status=err.status)
    session[_SMS_KEY] = challenge
    return _sms_page("code", nxt)


def _sms_check(nxt: str) -> View:
    """Second step: the code. A wrong code may be retried until the store burns the challenge."""
    challenge = session.get(_SMS_KEY)
    if not isinstance(challenge, str):
        return _sms_page("phone", nxt, error="Ask for a new code first.", status=401)
    try:
        person = owners().logins.finish_sms_login(
            challenge, request.form.get("code", ""), ip=client_ip(), user_agent=user_agent()
        )
    except (AuthenticationRequired, RateLimited) as err:
        return _sms_page("code", nxt, error=err.message, status=err.status)
    sign_in(person, method="sms")  # a fresh session: the challenge goes with the old one
    return redirect(nxt)


def _sms_page(step: str, nxt: str, *, error: str | None = None, status: int = 200) -> tuple[str, int]:
    ttl = owners().policy.code_ttl_minutes
    return render_template("identity/login_sms.html", step=step, next=nxt, ttl=ttl, error=error), status


@bp.route("/logout", methods=["GET", "POST"])
@describe(
    "Sign out (POST ends the server-side session)",
    tags=("identity",),
    request_type="application/x-www-form-urlencoded",
    response_type="text/html",
    responses={200: "The form", 302: "Signed out", 403: "CSRF"},
)
def logout() -> View:
    if request.method == "GET":
        return render_template("identity/logout.html")
    require_csrf()
    sign_out()
    flash("You are signed out.", "ok")
    return redirect(url_for("identity.login"))


# ----------------------------------------------------------------------------------------------- account
@bp.get("/account")
@describe(
    "The owner account: plan, people, phones, API tokens",
    tags=("identity",),
    request_type="application/x-www-form-urlencoded",
    response_type="text/html",
    responses={200: "The page", 302: "Not signed in"},
)
@login_required
def account() -> View:
    return _account_page(_me())


@bp.post("/account/phones")
@describe(
    "Add a phone and text it a verification code",
    tags=("identity",),
    request_type="application/x-www-form-urlencoded",
    response_type="text/html",
    responses={
        302: "Code sent",
        403: "CSRF or not an owner",
        409: "Claimed elsewhere",
        429: "Rate limited",
    },
)
@login_required
def add_phone() -> View:
    me = _manager()
    return _act(me, lambda: _add_and_text(me, request.form.get("phone", "")), "We texted a code to that number.")


@bp.post("/account/phones/<phone_id>/verify")
@describe(
    "Verify a phone with its code",
    tags=("identity",),
    request_type="application/x-www-form-urlencoded",
    response_type="text/html",
    responses={
        302: "Verified",
        400: "Wrong or expired code",
        403: "CSRF or not an owner",
        404: "No such phone",
        409: "Claimed elsewhere",
    },
)
@login_required
def verify_phone(phone_id: str) -> View:
    me = _manager()
    code = request.form.get("code", "")
    return _act(
        me,
        lambda: owners().verify_phone(me.owner_id, phone_id, code, agent=_agent(me), ip=client_ip()),
        "Phone verified.",
    )


@bp.post("/account/phones/<phone_id>/resend")
@describe(
    "Text a new verification code",
    tags=("identity",),
    request_type="application/x-www-form-urlencoded",
    response_type="text/html",
    responses={302: "Code sent", 403: "CSRF or not an owner", 404: "No such phone", 429: "Rate limited"},
)
@login_required
def resend_code(phone_id: str) -> View:
    me = _manager()
    return _act(
        me,
        lambda: owners().start_phone_verification(me.owner_id, phone_id, agent=_agent(me), ip=client_ip()),
        "We texted a new code.",
    )


@bp.post("/account/phones/<phone_id>/remove")
@describe(
    "Remove a phone",
    tags=("identity",),
    request_type="application/x-www-form-urlencoded",
    response_type="text/html",
    responses={302: "Removed", 403: "CSRF or not an owner", 404: "No such phone"},
)
@login_required
def remove_phone(phone_id: str) -> View:
    me = _manager()
    return _act(me, lambda: owners().phones.remove(me.owner_id, phone_id, agent=_agent(me)), "Phone removed.")


@bp.post("/account/tokens")
@describe(
    "Create an owner API token (shown once)",
    tags=("identity",),
    request_type="application/x-www-form-urlencoded",
    response_type="text/html",
    responses={201: "The page with the new token", 400: "Bad name or scopes", 403: "CSRF or not an owner"},
)
@login_required
def create_token() -> View:
    me = _manager()
    try:
        issued = owners().create_token(
            me.owner_id,
            name=request.form.get("name", ""),
            scopes=request.form.getlist("scopes"),
            person_id=me.id,
            agent=_agent(me),
        )
    except _USER_ERRORS as err:
        return _account_page(me, error=err.message, status=err.status)
    return _account_page(me, new_token=issued, status=201)


@bp.post("/account/tokens/<token_id>/revoke")
@describe(
    "Revoke an owner API token",
    tags=("identity",),
    request_type="application/x-www-form-urlencoded",
    response_type="text/html",
    responses={302: "Revoked", 403: "CSRF or not an owner", 404: "No such token"},
)
@login_required
def revoke_token(token_id: str) -> View:
    me = _manager()
    return _act(me, lambda: owners().revoke_token(me.owner_id, token_id, agent=_agent(me)), "Token revoked.")


# ----------------------------------------------------------------------------------------------- helpers
def _me() -> Person:
    person = current_person()
    if person is None:  # login_required ran first
        raise AuthenticationRequired()
    return person


def _manager() -> Person:
    """The signed-in person, after CSRF; only the ``owner`` role changes phones and tokens."""
    require_csrf()
    me = _me()
    if me.role is not Role.OWNER:
        raise Forbidden("Only an account owner can change phones and tokens.")
    return me


def _agent(person: Person) -> str:
    return f"person:{person.id}"


def _add_and_text(me: Person, number: str) -> Any:
    phone = owners().add_phone(me.owner_id, number, person_id=me.id, agent=_agent(me))
    return owners().start_phone_verification(me.owner_id, phone.id, agent=_agent(me), ip=client_ip())


def _act(me: Person, action: Any, done: str) -> View:
    """Run one account action; a user error re-renders the page with the message, success redirects."""
    try:
        action()
    except _USER_ERRORS as err:
        return _account_page(me, error=err.message, status=err.status)
    flash(done, "ok")
    return redirect(url_for("identity.account"))


def _account_page(
    me: Person, *, error: str | None = None, new_token: IssuedToken | None = None, status: int = 200
) -> tuple[str, int]:
    details = owners().show(me.owner_id)
    owner = details.owner
    html = render_template(
        "identity/account.html",
        person=me,
        owner=owner,
        plan=PLANS[owner.plan],
        addon_titles=[ADDONS[a].title for a in owner.addons],
        people=details.people,
        phones=details.phones,
        tokens=details.tokens,
        scopes=list(Scope),
        can_manage=me.role is Role.OWNER,
        new_token=new_token,
        error=error,
    )
    return html, status
