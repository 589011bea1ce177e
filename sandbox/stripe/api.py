"""``/v1`` resources: payment_intents, refunds, webhook_endpoints, account."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from sandbox.stripe.paging import paginate
from sandbox.stripe.params import truthy
from sandbox.stripe.state import Account, StripeError, StripeState, invalid_request

CARDS: dict[str, dict[str, str]] = {
    "pm_card_visa": {"brand": "visa", "last4": "4242"},
    "pm_card_mastercard": {"brand": "mastercard", "last4": "4444"},
    "pm_card_amex": {"brand": "amex", "last4": "8431"},
    "pm_card_chargeDeclined": {"brand": "visa", "last4": "0002", "decline": "generic_decline"},
    "pm_card_chargeDeclinedInsufficientFunds": {"brand": "visa", "last4": "9995", "decline": "insufficient_funds"},
    "pm_card_authenticationRequired": {"brand": "visa", "last4": "3184", "action": "1"},
}
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
}
PI_PARAMS = {
    "amount", "currency", "payment_method", "confirm", "automatic_payment_methods", "payment_method_types",
    "return_url", "off_session", "error_on_requires_action", "capture_method", "customer", "description",
    "metadata", "receipt_email", "setup_future_usage", "on_behalf_of", "transfer_data", "expand",
    "statement_descriptor", "statement_descriptor_suffix", "confirmation_method", "application_fee_amount",
    "transfer_group", "payment_method_options", "shipping", "mandate_data", "use_stripe_sdk",
}  # fmt: skip

Handler = Callable[[StripeState, Account, dict[str, Any], str | None], tuple[int, dict[str, Any]]]


def _now() -> int:
    return int(time.time())


def _require(params: dict[str, Any], name: str) -> Any:
    if params.get(name) in (None, ""):
        raise invalid_request(f"Missing required param: {name}.", param=name, code="parameter_missing")
    return params[name]


def _unknown(params: dict[str, Any], allowed: set[str]) -> None:
    for name in params:
        if name not in allowed:
            raise invalid_request(f"Received unknown parameter: {name}", param=name, code="parameter_unknown")


def _missing(kind: str, obj_id: str, param: str) -> StripeError:
    return invalid_request(f"No such {kind}: '{obj_id}'", param=param, code="resource_missing", status=404, saved=True)


def _pm(pm_id: str) -> dict[str, Any]:
    card = CARDS[pm_id]
    return {
        "brand": card["brand"],
        "last4": card["last4"],
        "exp_month": 12,
        "exp_year": 2034,
        "funding": "credit",
        "country": "US",
    }


# ---- payment intents -------------------------------------------------------------------------------
def create_payment_intent(
    state: StripeState, account: Account, params: dict[str, Any], _oid: str | None
) -> tuple[int, dict[str, Any]]:
    """``POST /v1/payment_intents``."""
    _unknown(params, PI_PARAMS)
    raw_amount = _require(params, "amount")
    currency = str(_require(params, "currency")).lower()
    try:
        amount = int(raw_amount)
    except ValueError:
        raise invalid_request(
            "Invalid integer: " + str(raw_amount), param="amount", code="parameter_invalid_integer"
        ) from None
    if amount < 50:
        raise invalid_request(f"Amount must be at least $0.50 {currency}", param="amount", code="amount_too_small")
    apm = params.get("automatic_payment_methods") or {}
    pm_types = params.get("payment_method_types") or (["card"] if not apm else ["card", "link"])
    pi_id = state.new_id("pi")
    pi: dict[str, Any] = {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": {
            "enabled": truthy(apm.get("enabled")),
            **({"allow_redirects": apm["allow_redirects"]} if "allow_redirects" in apm else {}),
        }
        if apm
        else None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": params.get("capture_method", "automatic_async"),
        "client_secret": f"{pi_id}_secret_{secrets.token_urlsafe(18)}",
        "confirmation_method": params.get("confirmation_method", "automatic"),
        "created": _now(),
        "currency": currency,
        "customer": params.get("customer"),
        "description": params.get("description"),
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": params.get("metadata") or {},
        "next_action": None,
        "on_behalf_of": params.get("on_behalf_of"),
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": pm_types,
        "processing": None,
        "receipt_email": params.get("receipt_email"),
        "review": None,
        "setup_future_usage": params.get("setup_future_usage"),
        "shipping": None,
        "source": None,
        "statement_descriptor": params.get("statement_descriptor"),
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": params.get("transfer_data"),
        "transfer_group": None,
    }
    if params.get("payment_method"):
        _check_pm(str(params["payment_method"]))
        pi["payment_method"] = params["payment_method"]
        pi["status"] = "requires_confirmation"
    if truthy(params.get("confirm")):
        _check_redirects(pi, params)
        state.put(account, pi)
        return _confirm(state, account, pi)
    state.put(account, pi)
    return 200, pi


def _check_pm(pm_id: str) -> None:
    if pm_id not in CARDS:
        raise invalid_request(f"No such PaymentMethod: '{pm_id}'", param="payment_method", code="resource_missing")


def _check_redirects(pi: dict[str, Any], params: dict[str, Any]) -> None:
    apm = params.get("automatic_payment_methods") or {}
    if apm and truthy(apm.get("enabled")) and apm.get("allow_redirects") != "never" and not params.get("return_url"):
        raise invalid_request(
            "This PaymentIntent is configured to accept payment methods enabled in your Dashboard. Because some "
            "of these "
            "payment methods might redirect your customer off of your page, you must provide a `return_url`. If "
            "you don't "
            "want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and "
            "`automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.",
        )
    if not pi.get("payment_method"):
        raise invalid_request(
            "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent "
            f"with {pi['customer'] or 'a customer'}, specify a payment method attached to this customer along "
            f"with the customer ID.",
            code="payment_intent_unexpected_state",
        )


def _confirm(state: StripeState, account: Account, pi: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    pm_id = str(pi["payment_method"])
    card = CARDS[pm_id]
    pi["payment_method"] = pm_id
    if "action" in card:
        pi["status"] = "requires_action"
        pi["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}}
        return 200, pi
    charge = _charge(state, account, pi, card)
    pi["latest_charge"] = charge["id"]
    if "decline" in card:
        code = card["decline"]
        err = {
            "charge": charge["id"],
            "code": "card_declined",
            "decline_code": code,
            "doc_url": "https://stripe.com/docs/error-codes/card-declined",
            "message": DECLINE_MESSAGES[code],
            "payment_method": {"id": pm_id, "object": "payment_method", "type": "card", "card": _pm(pm_id)},
            "type": "card_error",
        }
        pi["status"] = "requires_payment_method"
        pi["last_payment_error"] = dict(err)
        pi["payment_method"] = None
        state.faults.count("stripe.declines")
        state.emit(account, "charge.failed", dict(charge))
        state.emit(account, "payment_intent.payment_failed", dict(pi))
        raise StripeError(402, {**err, "payment_intent": dict(pi)}, saved=True)
    if pi["capture_method"] == "manual":
        pi["status"] = "requires_capture"
        pi["amount_capturable"] = pi["amount"]
    else:
        pi["status"] = "succeeded"
        pi["amount_received"] = pi["amount"]
    state.faults.count("stripe.charges")
    state.emit(account, "charge.succeeded", dict(charge))
    if pi["status"] == "succeeded":
        state.emit(account, "payment_intent.succeeded", dict(pi))
    return 200, pi


def _charge(state: StripeState, account: Account, pi: dict[str, Any], card: dict[str, str]) -> dict[str, Any]:
    declined = "decline" in card
    charge = {
        "id": state.new_id("ch"),
        "object": "charge",
        "amount": pi["amount"],
        "amount_captured": 0 if declined else pi["amount"],
        "amount_refunded": 0,
        "captured": not declined,
        "created": _now(),
        "currency": pi["currency"],
        "livemode": False,
        "paid": not declined,
        "payment_intent": pi["id"],
        "payment_method": pi["payment_method"],
        "refunded": False,
        "status": "failed" if declined else "succeeded",
        "failure_code": "card_declined" if declined else None,
        "outcome": {
            "type": "issuer_declined" if declined else "authorized",
            "network_status": "declined_by_network" if declined else "approved_by_network",
        },
    }
    return state.put(account, charge)


def confirm_payment_intent(
    state: StripeState, account: Account, params: dict[str, Any], oid: str | None
) -> tuple[int, dict[str, Any]]:
    """``POST /v1/payment_intents/{id}/confirm``."""
    pi = state.get(account, oid or "", "payment_intent")
    if pi is None:
        raise _missing("payment_intent", oid or "", "intent")
    if pi["status"] not in ("requires_payment_method", "requires_confirmation"):
        raise invalid_request(
            f"This PaymentIntent's status is {pi['status']}, but must be requires_payment_method or "
            f"requires_confirmation to be confirmed.",
            code="payment_intent_unexpected_state",
            saved=True,
        )
    if params.get("payment_method"):
        _check_pm(str(params["payment_method"]))
        pi["payment_method"] = params["payment_method"]
    _check_redirects(pi, {"automatic_payment_methods": pi.get("automatic_payment_methods") or {}, **params})
    return _confirm(state, account, pi)


def get_payment_intent(
    state: StripeState, account: Account, _p: dict[str, Any], oid: str | None
) -> tuple[int, dict[str, Any]]:
    """``GET /v1/payment_intents/{id}``."""
    pi = state.get(account, oid or "", "payment_intent")
    if pi is None:
        raise _missing("payment_intent", oid or "", "intent")
    return 200, pi


def list_payment_intents(
    state: StripeState, account: Account, params: dict[str, Any], _oid: str | None
) -> tuple[int, dict[str, Any]]:
    """``GET /v1/payment_intents``."""
    return 200, paginate(state.list_objects(account, "payment_intent"), params, "/v1/payment_intents")


def get_charge(state: StripeState, account: Account, _p: dict[str, Any], oid: str | None) -> tuple[int, dict[str, Any]]:
    """``GET /v1/charges/{id}``."""
    ch = state.get(account, oid or "", "charge")
    if ch is None:
        raise _missing("charge", oid or "", "id")
    return 200, ch


# ---- refunds ---------------------------------------------------------------------------------------
def create_refund(
    state: StripeState, account: Account, params: dict[str, Any], _oid: str | None
) -> tuple[int, dict[str, Any]]:
    """``POST /v1/refunds`` (by ``payment_intent`` or ``charge``)."""
    _unknown(params, {"payment_intent", "charge", "amount", "reason", "metadata", "expand", "instructions_email"})
    if params.get("payment_intent"):
        pi = state.get(account, str(params["payment_intent"]), "payment_intent")
        if pi is None:
            raise invalid_request(
                f"No such payment_intent: '{params['payment_intent']}'",
                param="payment_intent",
                code="resource_missing",
                saved=True,
            )
        if not pi.get("latest_charge") or pi["status"] != "succeeded":
            raise invalid_request(
                f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
                param="payment_intent",
                saved=True,
            )
        charge = state.get(account, pi["latest_charge"], "charge")
    elif params.get("charge"):
        charge = state.get(account, str(params["charge"]), "charge")
        if charge is None:
            raise invalid_request(
                f"No such charge: '{params['charge']}'", param="charge", code="resource_missing", saved=True
            )
    else:
        raise invalid_request(
            "One of the following params should be provided for this request: payment_intent or charge."
        )
    assert charge is not None
    remaining = charge["amount_captured"] - charge["amount_refunded"]
    if remaining <= 0:
        raise invalid_request(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded", saved=True
        )
    amount = int(params.get("amount") or remaining)
    if amount > remaining:
        raise invalid_request(
            f"Refund amount (${amount / 100:.2f}) is greater than unrefunded amount on charge (${remaining / 100:.2f})",
            param="amount",
            code="amount_too_large",
            saved=True,
        )
    with state.lock:
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
    refund = {
        "id": state.new_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": state.new_id("txn"),
        "charge": charge["id"],
        "created": _now(),
        "currency": charge["currency"],
        "metadata": params.get("metadata") or {},
        "payment_intent": charge["payment_intent"],
        "reason": params.get("reason"),
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }
    state.faults.count("stripe.refunds")
    state.put(account, refund)
    state.emit(account, "charge.refunded", dict(charge))
    state.emit(account, "refund.created", dict(refund))
    return 200, refund


def get_refund(state: StripeState, account: Account, _p: dict[str, Any], oid: str | None) -> tuple[int, dict[str, Any]]:
    """``GET /v1/refunds/{id}``."""
    r = state.get(account, oid or "", "refund")
    if r is None:
        raise _missing("refund", oid or "", "id")
    return 200, r
