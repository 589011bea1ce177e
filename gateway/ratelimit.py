"""Fixed-window rate limiting per owner and per IP, with an in-process and a Redis backend.

A `RateLimiter` holds named rules (``"chat_ip": Rule(limit=60, window_seconds=60)``); ``check(rule, ident)``
counts one hit in the current window and raises :class:`core.errors.RateLimited` (429 problem+json with
``Retry-After``) once the window's count passes the limit. Backends share one contract, tested against
both (``tests/contract/test_ratelimit.py``):

* :class:`MemoryBackend` — a dict under a lock, for embedded mode (one process).
* :class:`RedisBackend` — one Lua script (INCR, and PEXPIRE on the first hit) so every gateway process
  shares the counters, for distributed mode.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from core.errors import RateLimited


@dataclass(frozen=True)
class Rule:
    limit: int
    window_seconds: int


#: Defaults for the chat and SMS channels (per window).
DEFAULT_RULES: Mapping[str, Rule] = {
    "chat_ip": Rule(limit=120, window_seconds=60),
    "chat_owner": Rule(limit=240, window_seconds=60),
    "chat_session_issue_ip": Rule(limit=30, window_seconds=60),
    "sms_ip": Rule(limit=300, window_seconds=60),
    "sms_phone": Rule(limit=20, window_seconds=60),
    "sms_owner": Rule(limit=60, window_seconds=60),
}


class RateLimitBackend(Protocol):
    def hit(self, key: str, *, window_seconds: int) -> tuple[int, float]:
        """Count one hit on ``key`` in its current window; returns (count so far, seconds until the window ends)."""
        ...


class MemoryBackend:
    """In-process counters (embedded mode)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window end, count)

    def hit(self, key: str, *, window_seconds: int) -> tuple[int, float]:
        now = self._clock()
        with self._lock:
            end, count = self._windows.get(key, (0.0, 0))
            if end <= now:
                end, count = now + window_seconds, 0
                if len(self._windows) > 10_000:
                    self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
            count += 1
            self._windows[key] = (end, count)
            return count, end - now


_LUA_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""


class RedisBackend:
    """Counters shared by every gateway process (distributed mode)."""

    def __init__(self, *, client: Any, prefix: str = "omniops") -> None:
        self._redis = client
        self._prefix = prefix
        self._script = client.register_script(_LUA_HIT)

    def hit(self, key: str, *, window_seconds: int) -> tuple[int, float]:
        count, ttl_ms = self._script(keys=[f"{self._prefix}:rl:{key}"], args=[window_seconds * 1000])
        return int(count), max(0.0, int(ttl_ms) / 1000)


class RateLimiter:
    """Named rules over one backend. ``check`` raises RateLimited when a rule's window is used up."""

    def __init__(self, *, backend: RateLimitBackend, rules: Mapping[str, Rule] = DEFAULT_RULES) -> None:
        self._backend = backend
        self._rules = dict(rules)

    def check(self, rule: str, ident: str) -> None:
        """Count one request of ``ident`` (an IP, owner id or phone) under ``rule``."""
        spec = self._rules.get(rule)
        if spec is None:
            return
        count, remaining = self._backend.hit(f"{rule}:{ident}", window_seconds=spec.window_seconds)
        if count > spec.limit:
            raise RateLimited(
                "Too many requests — please slow down and try again shortly.",
                retry_after=float(max(1, math.ceil(remaining))),
            )


def build_rate_limiter(
    *, redis_client: Any = None, prefix: str = "omniops", rules: Mapping[str, Rule] = DEFAULT_RULES
) -> RateLimiter:
    """Redis-backed when a client is given (distributed mode), in-process otherwise (embedded mode)."""
    backend: RateLimitBackend = (
        RedisBackend(client=redis_client, prefix=prefix) if redis_client is not None else MemoryBackend()
    )
    return RateLimiter(backend=backend, rules=rules)
