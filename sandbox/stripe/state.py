"""Stripe simulator state: platform, connected accounts, keys, objects and idempotency records."""

from __future__ import annotations

import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sandbox.faults import Faults
from sandbox.stripe.events import EventDispatcher


class StripeError(Exception):
    """An API error rendered as ``{"error": {...}}`` with an HTTP status."""

    def __init__(
        self, status: int, body: dict[str, Any], *, saved: bool = True, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body
        self.saved = saved  # False for validation errors: no idempotent result is saved
        self.headers = headers or {}


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400, saved: bool = False
) -> StripeError:
    """An ``invalid_request_error`` (validation errors are not saved for idempotency)."""
    body: dict[str, Any] = {"message": message, "type": "invalid_request_error"}
    if code:
        body["code"] = code
        body["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    if param:
        body["param"] = param
    return StripeError(status, body, saved=saved)


def mask(key: str) -> str:
    """``sk_test_********************1234`` as Stripe prints keys in errors."""
    prefix = key[:8] if key.startswith(("sk_test_", "rk_test_")) else key[:3]
    return prefix + "*" * max(len(key) - len(prefix) - 4, 0) + key[-4:]


@dataclass
class Account:
    """A Stripe account (the platform or a connected account)."""

    id: str
    name: str
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    connected_to: str | None = None
    scope: str = "read_write"


@dataclass
class IdempotencyRecord:
    """What was saved for one idempotency key."""

    method: str
    path: str
    params: Any
    in_progress: bool = True
    status: int = 0
    body: Any = None
    request_id: str = ""
    created: float = field(default_factory=time.time)


class StripeState:
    """In-memory Stripe: thread-safe, deterministic seeds, Python API for tests."""

    IDEMPOTENCY_TTL = 24 * 3600

    def __init__(self, *, seed: int = 0, faults: Faults | None = None) -> None:
        self.faults = faults or Faults(seed=seed)
        self.lock = threading.RLock()
        rng = random.Random(f"{seed}:stripe")
        self.platform = Account(f"acct_1Plat{rng.getrandbits(40):010X}"[:21], "OmniOps Platform")
        self.secret_key = "sk_test_" + "".join(
            rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(99)
        )
        self.publishable_key = "pk_test_" + self.secret_key[8:]
        self.client_id = "ca_" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdef") for _ in range(32))
        self.accounts: dict[str, Account] = {self.platform.id: self.platform}
        self.keys: dict[str, str] = {self.secret_key: self.platform.id}  # secret key -> account id
        self.refresh_tokens: dict[str, str] = {}
        self.restricted: dict[str, dict[str, str]] = {}  # rk_test_ key -> {resource: "read" | "write"}
        self.codes: dict[str, dict[str, Any]] = {}
        self.redirect_uris: list[str] = []  # empty = any redirect_uri accepted
        self.idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
        self.gate: threading.Event | None = None  # when set, POSTs wait on it (concurrency tests)
        self.requests: list[dict[str, Any]] = []
        self.events = EventDispatcher()

    # ---- ids -----------------------------------------------------------------------------------
    @staticmethod
    def new_id(prefix: str) -> str:
        """A Stripe-looking object id."""
        return f"{prefix}_3Sbx{secrets.token_urlsafe(18).replace('-', 'a').replace('_', 'b')}"

    # ---- accounts and keys ---------------------------------------------------------------------
    def connect_account(self, *, name: str = "Connected Store", scope: str = "read_write") -> Account:
        """Create a connected account under the platform."""
        acct = Account(self.new_id("acct")[:21], name, connected_to=self.platform.id, scope=scope)
        with self.lock:
            self.accounts[acct.id] = acct
        return acct

    def issue_tokens(self, account: Account) -> dict[str, Any]:
        """An OAuth token response for a connected account."""
        access = "sk_test_" + secrets.token_urlsafe(72).replace("-", "a").replace("_", "b")
        refresh = "rt_" + secrets.token_urlsafe(40).replace("-", "a").replace("_", "b")
        with self.lock:
            self.keys[access] = account.id
            self.refresh_tokens[refresh] = account.id
        return {
            "access_token": access,
            "livemode": False,
            "refresh_token": refresh,
            "token_type": "bearer",
            "stripe_publishable_key": "pk_test_" + access[8:],
            "stripe_user_id": account.id,
            "scope": account.scope,
        }

    def deauthorize(self, account_id: str) -> bool:
        """Disconnect an account: its tokens stop working."""
        with self.lock:
            acct = self.accounts.get(account_id)
            if acct is None or acct.connected_to != self.platform.id:
                return False
            acct.connected_to = None
            platform = self.platform
            for k in [k for k, a in self.keys.items() if a == account_id]:
                del self.keys[k]
            for r in [r for r, a in self.refresh_tokens.items() if a == account_id]:
                del self.refresh_tokens[r]
        self.faults.count("stripe.deauthorizations")
        application = {"id": self.client_id, "object": "application", "name": platform.name}
        self.emit(acct, "account.application.deauthorized", application)
        return True

    def create_restricted_key(self, permissions: dict[str, str], *, account_id: str | None = None) -> str:
        """A restricted key (``rk_test_...``) limited to ``{resource: "read" | "write"}``, e.g.
        ``{"payment_intents": "write", "refunds": "read"}`` (write implies read)."""
        key = "rk_test_" + secrets.token_urlsafe(72).replace("-", "a").replace("_", "b")
        with self.lock:
            self.keys[key] = account_id or self.platform.id
            self.restricted[key] = dict(permissions)
        return key

    def emit(self, account: Account, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Create an event on ``account`` and deliver it to matching webhook endpoints."""
        event = self.events.emit(platform_id=self.platform.id, account_id=account.id, event_type=event_type, obj=obj)
        self.faults.count("stripe.events")
        return event

    def expire_key(self, key: str) -> None:
        """Make ``key`` answer with ``api_key_expired``."""
        self.faults.expire_credential("stripe", key)

    # ---- objects -------------------------------------------------------------------------------
    def put(self, account: Account, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object in an account."""
        with self.lock:
            account.objects[obj["id"]] = obj
        return obj

    def get(self, account: Account, obj_id: str, kind: str) -> dict[str, Any] | None:
        """An object of ``kind`` by id."""
        with self.lock:
            obj = account.objects.get(obj_id)
            return obj if obj is not None and obj.get("object") == kind else None

    def list_objects(self, account: Account, kind: str) -> list[dict[str, Any]]:
        """Objects of ``kind``, newest first."""
        with self.lock:
            rows = [o for o in account.objects.values() if o.get("object") == kind and not o.get("deleted")]
        return list(reversed(rows))

    def charges(self, account_id: str | None = None) -> list[dict[str, Any]]:
        """Every charge (of one account, or all)."""
        with self.lock:
            accts = [self.accounts[account_id]] if account_id else list(self.accounts.values())
            return [o for a in accts for o in a.objects.values() if o.get("object") == "charge"]
