"""Fault injection and side-effect counters shared by every simulator.

A :class:`Faults` object holds, per provider (``woocommerce``, ``stripe``, ``twilio``, ``alexa``):

* added latency (fixed seconds, or a random range drawn from a seeded RNG);
* queued one-shot faults consumed by the next matching requests: HTTP status bursts (429 with
  ``Retry-After``, 500, 503), timeouts (the server holds the request then drops the connection) and
  connection resets (the connection is closed without any response);
* credential states (``expired`` or ``revoked``) that each simulator consults when authenticating;
* counters of side effects (keys created, charges, refunds, webhooks registered/delivered, messages...).

:class:`FaultMiddleware` applies latency and queued faults in front of a simulator's WSGI app.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sandbox._http import StartResponse, WSGIApp, WSGIEnv, json_response

PROVIDERS = ("woocommerce", "stripe", "twilio", "alexa")
FaultKind = Literal["status", "timeout", "reset"]
CredentialState = Literal["expired", "revoked"]


@dataclass
class FaultRule:
    """One queued fault, consumed by the next ``remaining`` matching requests."""

    provider: str
    kind: FaultKind
    remaining: int
    status: int = 503
    retry_after: int | None = None
    hold: float = 2.0
    path: str | None = None

    def matches(self, provider: str, path: str) -> bool:
        """True if this rule applies to a request of ``provider`` at ``path``."""
        if self.provider not in ("*", provider):
            return False
        return self.path is None or path.startswith(self.path)


class Faults:
    """Thread-safe fault plan and side-effect counters (the Python fault API)."""

    def __init__(self, *, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._rules: list[FaultRule] = []
        self._latency: dict[str, tuple[float, float]] = {}
        self._credentials: dict[tuple[str, str], CredentialState] = {}
        self._counters: Counter[str] = Counter()

    # ---- latency -------------------------------------------------------------------------------
    def set_latency(
        self, provider: str = "*", *, fixed: float = 0.0, jitter: tuple[float, float] | None = None
    ) -> None:
        """Add ``fixed`` seconds, or a uniform random delay in ``jitter`` = (low, high), to every request."""
        low, high = jitter if jitter is not None else (fixed, fixed)
        with self._lock:
            self._latency[provider] = (float(low), float(high))

    def latency_for(self, provider: str) -> float:
        """The delay to apply to the next request of ``provider``."""
        with self._lock:
            low, high = self._latency.get(provider, self._latency.get("*", (0.0, 0.0)))
            return low if high <= low else self._rng.uniform(low, high)

    # ---- queued faults -------------------------------------------------------------------------
    def rate_limit(self, provider: str, *, times: int = 1, retry_after: int = 1, path: str | None = None) -> None:
        """Answer the next ``times`` requests with 429 and ``Retry-After: retry_after``."""
        self._add(FaultRule(provider, "status", times, status=429, retry_after=retry_after, path=path))

    def error_burst(self, provider: str, *, status: int = 500, times: int = 1, path: str | None = None) -> None:
        """Answer the next ``times`` requests with ``status`` (500 or 503 typically)."""
        self._add(FaultRule(provider, "status", times, status=status, path=path))

    def timeout(self, provider: str, *, times: int = 1, hold: float = 2.0, path: str | None = None) -> None:
        """Hold the next ``times`` requests for ``hold`` seconds, then drop the connection unanswered."""
        self._add(FaultRule(provider, "timeout", times, hold=hold, path=path))

    def reset_connection(self, provider: str, *, times: int = 1, path: str | None = None) -> None:
        """Reset the connection of the next ``times`` requests without answering."""
        self._add(FaultRule(provider, "reset", times, path=path))

    def _add(self, rule: FaultRule) -> None:
        if rule.remaining < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._rules.append(rule)

    def take(self, provider: str, path: str) -> FaultRule | None:
        """Consume and return the first queued fault matching this request, if any."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(provider, path):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    return FaultRule(**asdict(rule))
        return None

    def pending(self) -> list[dict[str, Any]]:
        """The queued faults, for the admin endpoint."""
        with self._lock:
            return [asdict(r) for r in self._rules]

    # ---- credentials ---------------------------------------------------------------------------
    def expire_credential(self, provider: str, credential: str) -> None:
        """Make ``credential`` (API key, token, auth token) answer with the provider's expired error."""
        with self._lock:
            self._credentials[(provider, credential)] = "expired"

    def revoke_credential(self, provider: str, credential: str) -> None:
        """Make ``credential`` answer as revoked / unknown."""
        with self._lock:
            self._credentials[(provider, credential)] = "revoked"

    def credential_state(self, provider: str, credential: str) -> CredentialState | None:
        """``expired``, ``revoked`` or None for a usable credential."""
        with self._lock:
            return self._credentials.get((provider, credential))

    # ---- counters ------------------------------------------------------------------------------
    def count(self, name: str, n: int = 1) -> None:
        """Increment the side-effect counter ``name`` (e.g. ``stripe.charges``)."""
        with self._lock:
            self._counters[name] += n

    def counters(self) -> dict[str, int]:
        """A snapshot of every side-effect counter."""
        with self._lock:
            return dict(self._counters)

    def counter(self, name: str) -> int:
        """One counter's value (0 if never incremented)."""
        with self._lock:
            return self._counters.get(name, 0)

    # ---- reset ---------------------------------------------------------------------------------
    def clear(self) -> None:
        """Drop queued faults, latency and credential states (counters are kept)."""
        with self._lock:
            self._rules.clear()
            self._latency.clear()
            self._credentials.clear()

    def reset(self) -> None:
        """Drop every fault and zero every counter."""
        self.clear()
        with self._lock:
            self._counters.clear()

    # ---- admin endpoint payloads ---------------------------------------------------------------
    def apply(self, spec: dict[str, Any]) -> None:
        """Apply one JSON fault spec, as posted to ``/__sandbox/faults``.

        Kinds: ``latency`` {fixed | jitter:[lo,hi]}, ``rate_limit`` {times, retry_after}, ``error``
        {status, times}, ``timeout`` {times, hold}, ``reset`` {times}, ``expire_credential`` /
        ``revoke_credential`` {credential}. Every spec names a ``provider`` ("*" = all for queued faults).
        """
        kind = str(spec.get("kind", ""))
        provider = str(spec.get("provider", "*"))
        times = int(spec.get("times", 1))
        path = spec.get("path")
        path = str(path) if path is not None else None
        if kind == "latency":
            jitter = spec.get("jitter")
            self.set_latency(
                provider,
                fixed=float(spec.get("fixed", 0.0)),
                jitter=(float(jitter[0]), float(jitter[1])) if jitter else None,
            )
        elif kind == "rate_limit":
            self.rate_limit(provider, times=times, retry_after=int(spec.get("retry_after", 1)), path=path)
        elif kind == "error":
            self.error_burst(provider, status=int(spec.get("status", 500)), times=times, path=path)
        elif kind == "timeout":
            self.timeout(provider, times=times, hold=float(spec.get("hold", 2.0)), path=path)
        elif kind == "reset":
            self.reset_connection(provider, times=times, path=path)
        elif kind == "expire_credential":
            self.expire_credential(provider, str(spec["credential"]))
        elif kind == "revoke_credential":
            self.revoke_credential(provider, str(spec["credential"]))
        else:
            raise ValueError(f"unknown fault kind {kind!r}")


ErrorBody = Callable[[int, str], Any]


def _drop_connection(environ: WSGIEnv) -> None:
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        try:
            # SO_LINGER=0: the final close() sends a RST; shutdown() ends the exchange now, so the
            # client sees the connection drop with no response instead of waiting on keep-alive.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    # werkzeug treats ConnectionError as "client went away" and closes the socket quietly.
    raise ConnectionResetError("sandbox fault: connection reset")


class FaultMiddleware:
    """WSGI middleware applying a provider's latency and queued faults before its simulator."""

    def __init__(self, app: WSGIApp, *, provider: str, faults: Faults, error_body: ErrorBody) -> None:
        self.app = app
        self.provider = provider
        self.faults = faults
        self.error_body = error_body

    def __call__(self, environ: WSGIEnv, start_response: StartResponse) -> Iterable[bytes]:
        """Apply latency, then the next matching fault, else call the simulator."""
        delay = self.faults.latency_for(self.provider)
        if delay > 0:
            time.sleep(delay)
        rule = self.faults.take(self.provider, str(environ.get("PATH_INFO", "")))
        if rule is None:
            return self.app(environ, start_response)
        self.faults.count(f"{self.provider}.faults_injected")
        if rule.kind == "timeout":
            time.sleep(rule.hold)
            _drop_connection(environ)
        if rule.kind == "reset":
            _drop_connection(environ)
        message = "Too Many Requests" if rule.status == 429 else "Service Unavailable"
        if rule.status == 500:
            message = "Internal Server Error"
        headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
        resp = json_response(self.error_body(rule.status, message), rule.status, headers)
        return resp(environ, start_response)
