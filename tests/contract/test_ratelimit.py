"""One contract for every rate-limit backend: in-process (embedded) and Redis (distributed), both real."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from core.errors import RateLimited
from gateway.ratelimit import MemoryBackend, RateLimiter, RedisBackend, Rule, build_rate_limiter


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryBackend()
        return
    import redis

    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisBackend(client=client, prefix=request.getfixturevalue("redis_prefix"))
    client.close()


def test_counts_hits_in_a_window(backend: Any) -> None:
    assert [backend.hit("k", window_seconds=60)[0] for _ in range(3)] == [1, 2, 3]
    count, remaining = backend.hit("k", window_seconds=60)
    assert count == 4 and 0 < remaining <= 60


def test_keys_are_independent(backend: Any) -> None:
    backend.hit("a", window_seconds=60)
    backend.hit("a", window_seconds=60)
    assert backend.hit("b", window_seconds=60)[0] == 1


def test_window_resets(backend: Any) -> None:
    backend.hit("w", window_seconds=1)
    assert backend.hit("w", window_seconds=1)[0] == 2
    time.sleep(1.1)
    assert backend.hit("w", window_seconds=1)[0] == 1


def test_limiter_raises_with_retry_after_per_identity(backend: Any) -> None:
    limiter = RateLimiter(backend=backend, rules={"chat_ip": Rule(limit=2, window_seconds=30)})
    limiter.check("chat_ip", "10.0.0.1")
    limiter.check("chat_ip", "10.0.0.1")
    with pytest.raises(RateLimited) as info:
        limiter.check("chat_ip", "10.0.0.1")
    assert info.value.retry_after is not None and 1 <= info.value.retry_after <= 30
    limiter.check("chat_ip", "10.0.0.2")  # another IP has its own budget
    limiter.check("no_such_rule", "x")  # unknown rules never limit


def test_redis_counters_are_shared_between_limiters(redis_url: str, redis_prefix: str) -> None:
    import redis

    clients = [redis.Redis.from_url(redis_url) for _ in range(2)]
    rules = {"sms_phone": Rule(limit=3, window_seconds=60)}
    gateways = [build_rate_limiter(redis_client=c, prefix=redis_prefix, rules=rules) for c in clients]
    for limiter in (*gateways, gateways[0]):
        limiter.check("sms_phone", "+15550001111")
    with pytest.raises(RateLimited):
        gateways[1].check("sms_phone", "+15550001111")
    assert clients[0].ttl(f"{redis_prefix}:rl:sms_phone:+15550001111") > 0
    for c in clients:
        c.close()
