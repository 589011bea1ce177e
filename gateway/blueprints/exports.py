"""`/account/exports`: the signed-in owner downloads the data exports OmniOps prepared for them."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, render_template_string, send_file

from core.errors import NotFound
from executor.recipes.privacy import export_path
from gateway.identity.auth import current_principal, login_required
from gateway.openapi import describe

bp = Blueprint("exports", __name__)

_PAGE = """{% extends "base.html" %}{% block content %}<h1>Your data exports</h1>
{% if files %}<ul>{% for f in files %}<li><a href="{{ url_for('exports.download', run_id=f) }}">{{ f }}</a></li>
{% endfor %}</ul>{% else %}<p>No exports yet. Ask OmniOps to “export my data”.</p>{% endif %}{% endblock %}"""


def _folder() -> Path:
    principal = current_principal()
    owner_id = principal.owner_id if principal is not None else None
    if not owner_id:
        raise NotFound("No owner.")
    settings = current_app.extensions["omniops"].settings
    return export_path(Path(settings.var_dir) / "exports", owner_id, "x").parent


@bp.get("/account/exports")
@login_required
@describe("List the signed-in owner's data exports", tags=("account",), response_type="text/html")
def exports() -> str:
    folder = _folder()
    files = sorted(p.stem for p in folder.glob("*.json")) if folder.exists() else []
    return render_template_string(_PAGE, files=files)


@bp.get("/account/exports/<run_id>")
@login_required
@describe("Download one data export (JSON)", tags=("account",), responses={200: "The archive", 404: "Not found"})
def download(run_id: str) -> Response:
    path = _folder() / f"{run_id}.json"
    if not run_id.replace("_", "").replace("-", "").isalnum() or not path.is_file():
        raise NotFound("No such export.")
    return send_file(path, mimetype="application/json", as_attachment=True, download_name=f"omniops-{run_id}.json")
