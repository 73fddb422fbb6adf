"""The /v1 rate limit shared by every API worker: the same token bucket as `security.RateLimiter`, in Redis.

One Lua script per request reads, refills and takes from the caller's bucket atomically, on the
Redis server's clock, so N workers (on any machines) enforce one budget per caller instead of N.
Requests await it through redis-py's asyncio client: while Redis answers one caller (or is slow),
the worker's event loop keeps serving everyone else.
"""

from __future__ import annotations

import asyncio
from typing import Any

from recassist.foundation.redis_client import connect, connect_async, unreachable
from recassist.foundation.settings import Settings
from recassist.ui.api.security import RateLimiter, TokenBucketLimiter

# KEYS[1] = bucket; ARGV = capacity, tokens per second. Returns '' when allowed, else seconds to wait.
_TAKE = """
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local v = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens = tonumber(v[1]) or cap
local last = tonumber(v[2]) or now
tokens = math.min(cap, tokens + math.max(0, now - last) * rate)
local allowed = tokens >= 1
if allowed then tokens = tokens - 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
if allowed then return '' end
return tostring((1 - tokens) / rate)
"""
PREFIX = "recassist:ratelimit:"


class RedisRateLimiter(TokenBucketLimiter):
    """The token bucket per caller in Redis (same contract as `RateLimiter`); raises `BackendError` (503)
    when Redis does not answer. Idle buckets expire once they would be full again, so Redis holds only
    active callers.
    """

    def __init__(self, per_minute: int, redis_url: str, *, client: Any = None) -> None:
        super().__init__(per_minute)
        self.url = redis_url
        self._ttl = 61  # seconds: an idle bucket is full again within a minute, so it can go
        self._client = client or connect(redis_url)  # also checks the server answers, at start
        self._script = self._client.register_script(_TAKE)
        # The asyncio client belongs to one event loop (a worker has one; tests may start several).
        self._async: tuple[asyncio.AbstractEventLoop, Any] | None = None

    def _args(self, caller: str) -> tuple[list[str], list[float | int]]:
        return [PREFIX + caller], [self.per_minute, self._rate, self._ttl]

    def _take(self, caller: str) -> float | None:
        import redis

        keys, args = self._args(caller)
        try:
            wait = self._script(keys=keys, args=args)
        except redis.RedisError as e:
            raise unreachable(self.url, e) from None
        return float(wait) if wait else None

    async def acquire_async(self, caller: str) -> float | None:
        """`acquire` awaiting Redis without holding up the event loop."""
        if not self.enabled:
            return None
        import redis

        keys, args = self._args(caller)
        try:
            wait = await self._async_script()(keys=keys, args=args)
        except redis.RedisError as e:
            raise unreachable(self.url, e) from None
        return float(wait) if wait else None

    def _async_script(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            self._async = (loop, connect_async(self.url).register_script(_TAKE))
        return self._async[1]


def rate_limiter_for(settings: Settings) -> TokenBucketLimiter:
    """The shared limiter when `RECASSIST_REDIS_URL` is set, else the in-process one."""
    if settings.redis_url and settings.api_rate_limit_per_minute > 0:
        return RedisRateLimiter(settings.api_rate_limit_per_minute, settings.redis_url)
    return RateLimiter(settings.api_rate_limit_per_minute)
