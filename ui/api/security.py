"""Edge security for /v1: Bearer API keys (constant-time) and a per-key token-bucket rate limit.

Both run as FastAPI dependencies on the /v1 router, so /docs shows the Bearer scheme and the
health probes stay open. Without configured keys every caller is let in and rate-limited per
client address (the demo binds 127.0.0.1).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from recassist.ui.api.errors import ApiError

_bearer = HTTPBearer(auto_error=False, description="An API key from RECASSIST_API_KEYS.")


class ApiKeys:
    """The configured keys; `identify` returns which one a presented key is, without timing leaks."""

    def __init__(self, keys: Sequence[SecretStr | str]) -> None:
        raw = [k.get_secret_value() if isinstance(k, SecretStr) else k for k in keys]
        # Compare digests: equal length for every candidate, and the keys themselves are not kept.
        self._digests = [hashlib.sha256(k.encode()).digest() for k in raw if k]

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def identify(self, presented: str) -> str | None:
        """'key-N' (1-based) for a valid key, else None. Checks every key so timing is the same."""
        digest = hashlib.sha256(presented.encode()).digest()
        found = None
        for i, expected in enumerate(self._digests, start=1):
            if hmac.compare_digest(digest, expected) and found is None:
                found = f"key-{i}"
        return found


class TokenBucketLimiter(ABC):
    """Token bucket per caller: `per_minute` requests a minute sustained, bursts up to `per_minute`; 0 = off.

    Subclasses keep the buckets (`_take`); `acquire_async` is what the /v1 dependency awaits, so a
    limiter that waits on a server overrides it and never blocks the event loop.
    """

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def acquire(self, caller: str) -> float | None:
        """Take one token; None if allowed, else the seconds until the next token."""
        return self._take(caller) if self.enabled else None

    async def acquire_async(self, caller: str) -> float | None:
        """`acquire` for the event loop (in memory it takes microseconds: no need to leave the loop)."""
        return self.acquire(caller)

    @abstractmethod
    def _take(self, caller: str) -> float | None: ...


class RateLimiter(TokenBucketLimiter):
    """The token bucket in memory, per process; with several workers, `redis_limiter.RedisRateLimiter` keeps
    one budget. The number of tracked callers is capped (least recently seen dropped) so spoofed addresses
    cannot grow it.
    """

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic, max_callers: int = 10_000):
        super().__init__(per_minute)
        self._clock = clock
        self._max = max_callers
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # caller -> (tokens, last time)
        self._lock = threading.Lock()

    def _take(self, caller: str) -> float | None:
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(caller, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * self._rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[caller] = (tokens, now)
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        return None if allowed else (1.0 - tokens) / self._rate


async def authorize(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str:
    """The caller's identity for rate limiting; raises 401 when keys are configured and none matches."""
    keys: ApiKeys = request.app.state.api_keys
    if not keys.enabled:
        return f"client-{request.client.host if request.client else 'unknown'}"
    if credentials is None:
        raise ApiError(
            401,
            "missing API key: send 'Authorization: Bearer <key>' with a key from RECASSIST_API_KEYS",
            headers={"WWW-Authenticate": "Bearer"},
        )
    caller = keys.identify(credentials.credentials)
    if caller is None:
        raise ApiError(
            401,
            "API key not accepted; check it against RECASSIST_API_KEYS",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return caller


async def rate_limit(request: Request, caller: Annotated[str, Depends(authorize)]) -> str:
    """Charges one request to the caller; raises 429 with Retry-After when its bucket is empty."""
    limiter: TokenBucketLimiter = request.app.state.rate_limiter
    wait = await limiter.acquire_async(caller)
    if wait is not None:
        raise ApiError(
            429,
            f"rate limit of {limiter.per_minute} requests/minute exceeded; retry in {wait:.1f} s",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return caller
