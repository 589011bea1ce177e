"""Who is signed in: `current_person()`, `login_required`, and starting/ending a signed-in session.

For every blueprint that needs a signed-in person (account linking, consent, widget login)::

    from gateway.identity.auth import current_person, login_required

    @bp.get("/oauth/authorize")
    @login_required
    def authorize(): person = current_person(); ...

Services come from ``current_app.extensions["omniops"].owners`` (a :class:`~gateway.identity.store.SqlOwners`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, g, redirect, request, session, url_for

from core.commands import AuthLevel, Principal
from gateway.identity.records import Person
from gateway.identity.store import SqlOwners
from gateway.web import client_ip, rotate_session, user_agent

SESSION_KEY = "sid"
F = TypeVar("F", bound=Callable[..., Any])


def owners() -> SqlOwners:
    """The owner store of the running app (``current_app.extensions["omniops"].owners``)."""
    return cast(SqlOwners, current_app.extensions["omniops"].owners)


def current_person() -> Person | None:
    """The signed-in person of this request, or None (looked up once per request)."""
    if "identity_person" not in g:
        raw = session.get(SESSION_KEY)
        person = owners().logins.session_person(raw) if isinstance(raw, str) and raw else None
        if person is None and raw:
            session.pop(SESSION_KEY, None)  # ended or expired elsewhere
        g.identity_person = person
    return cast(Person | None, g.identity_person)


def current_principal() -> Principal | None:
    """The signed-in person as a command principal (``AuthLevel.SESSION``)."""
    person = current_person()
    if person is None:
        return None
    return Principal(owner_id=person.owner_id, person_id=person.id, auth=AuthLevel.SESSION)


def login_required(view: F) -> F:
    """Send anyone not signed in to ``/login``, coming back here afterwards."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_person() is None:
            target = request.full_path if request.method == "GET" else request.path
            return redirect(url_for("identity.login", next=target.rstrip("?")))
        return view(*args, **kwargs)

    return cast(F, wrapped)


def sign_in(person: Person, *, method: str) -> None:
    """Start a fresh session for ``person`` (a new cookie: no session fixation)."""
    raw = owners().logins.create_session(person.id, method=method, ip=client_ip(), user_agent=user_agent())
    rotate_session()
    session.permanent = True
    session[SESSION_KEY] = raw
    g.identity_person = person


def sign_out() -> None:
    """End the server-side session (a copied cookie stops working too) and clear the cookie."""
    raw = session.get(SESSION_KEY)
    if isinstance(raw, str) and raw:
        owners().logins.end_session(raw, ip=client_ip(), user_agent=user_agent())
    rotate_session()
    g.identity_person = None
