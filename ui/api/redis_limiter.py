"""The /v1 rate limit shared by every API worker: the same token bucket as `security.RateLimiter`, in Redis.

One Lua script per request reads, refills and takes from the caller's bucket atomically, on the
Redis server's clock, so N workers (on any machines) enforce one budget per caller instead of N.
"""

from __future__ import annotations

from typing import Any

from recassist.foundation.redis_client import connect, unreachable
from recassist.foundation.settings import Settings
from recassist.ui.api.security import RateLimiter

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


class RedisRateLimiter:
    """Token bucket per caller in Redis: `per_minute` requests a minute sustained, bursts up to `per_minute`.

    Same contract as `RateLimiter.acquire`; raises `BackendError` (503) when Redis does not answer.
    Idle buckets expire once they would be full again, so Redis holds only active callers.
    """

    def __init__(self, per_minute: int, redis_url: str, *, client: Any = None) -> None:
        self.per_minute = per_minute
        self.url = redis_url
        self._rate = per_minute / 60.0
        self._ttl = 61  # seconds: an idle bucket is full again within a minute, so it can go
        self._client = client or connect(redis_url)
        self._script = self._client.register_script(_TAKE)

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def acquire(self, caller: str) -> float | None:
        """Take one token; None if allowed, else the seconds until the next token."""
        if not self.enabled:
            return None
        import redis

        try:
            wait = self._script(keys=[PREFIX + caller], args=[self.per_minute, self._rate, self._ttl])
        except redis.RedisError as e:
            raise unreachable(self.url, e) from None
        return float(wait) if wait else None


def rate_limiter_for(settings: Settings) -> RateLimiter | RedisRateLimiter:
    """The shared limiter when `RECASSIST_REDIS_URL` is set, else the in-process one."""
    if settings.redis_url and settings.api_rate_limit_per_minute > 0:
        return RedisRateLimiter(settings.api_rate_limit_per_minute, settings.redis_url)
    return RateLimiter(settings.api_rate_limit_per_minute)
