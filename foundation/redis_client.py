"""One Redis connection factory for what API workers share (rate limits, catalog updates).

redis-py is an optional dependency (the `redis` extra), imported only when a Redis URL is set.
Driver errors become `BackendError`s naming the server (without its password) and the setting.
"""

from __future__ import annotations

import re
from typing import Any

from recassist.foundation.errors import BackendError, ConfigError


def redact(url: str) -> str:
    """`url` with any password replaced by '***'."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def connect(url: str, *, timeout_s: float = 5.0) -> Any:
    """A `redis.Redis` client for `url` (a pool shared by the process's threads); checked with PING.

    Raises `ConfigError` when redis-py is not installed or the URL is malformed, `BackendError`
    when the server does not answer.
    """
    redis = _redis_py()
    client = _from_url(redis.Redis, url, timeout_s)
    try:
        client.ping()
    except redis.RedisError as e:
        raise unreachable(url, e) from None
    return client


def connect_async(url: str, *, timeout_s: float = 5.0) -> Any:
    """A `redis.asyncio.Redis` client for `url`, for awaiting Redis inside an event loop (it belongs to the
    loop that first uses it). Not checked here: its first call raises as any call would."""
    _redis_py()
    import redis.asyncio

    return _from_url(redis.asyncio.Redis, url, timeout_s)


def _redis_py() -> Any:
    try:
        import redis
    except ImportError:
        raise ConfigError("RECASSIST_REDIS_URL needs redis-py: pip install 'recassist[redis]'") from None
    return redis


def _from_url(cls: Any, url: str, timeout_s: float) -> Any:
    try:
        return cls.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                            health_check_interval=30, decode_responses=True)
    except ValueError as e:
        raise ConfigError(
            f"RECASSIST_REDIS_URL={redact(url)} is not a Redis URL ({e}); e.g. redis://host:6379/0"
        ) from None


def unreachable(url: str, e: Exception) -> BackendError:
    """The error to raise when the Redis server at `url` failed a call."""
    return BackendError(f"Redis at {redact(url)} is unreachable ({e}); check RECASSIST_REDIS_URL and that "
                        "redis-server is running")
