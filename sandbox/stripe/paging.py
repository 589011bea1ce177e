"""Stripe list objects: ``{object: "list", data, has_more, url}`` with cursor parameters."""

from __future__ import annotations

from typing import Any

from sandbox.stripe.state import invalid_request


def paginate(rows: list[dict[str, Any]], params: dict[str, Any], url: str) -> dict[str, Any]:
    """Stripe list object with ``limit`` (1..100, default 10) and ``starting_after`` / ``ending_before``."""
    try:
        limit = int(params.get("limit", 10))
    except ValueError:
        raise invalid_request("Invalid integer: " + str(params.get("limit")), param="limit") from None
    if not 1 <= limit <= 100:
        raise invalid_request(
            "This value must be between 1 and 100 (it is currently " + str(limit) + ").", param="limit"
        )
    ids = [r["id"] for r in rows]
    if params.get("starting_after"):
        sa = str(params["starting_after"])
        if sa not in ids:
            raise invalid_request(
                f"No such object: '{sa}'", param="starting_after", code="resource_missing", status=404
            )
        rows = rows[ids.index(sa) + 1 :]
    elif params.get("ending_before"):
        eb = str(params["ending_before"])
        if eb not in ids:
            raise invalid_request(f"No such object: '{eb}'", param="ending_before", code="resource_missing", status=404)
        rows = rows[: ids.index(eb)][-limit:]
    return {"object": "list", "data": rows[:limit], "has_more": len(rows) > limit, "url": url}
