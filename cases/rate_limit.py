"""Per-client rate limits on the endpoints anyone can reach: Open311 report POSTs and review sign-in.

A token bucket per client address and rule: `per_minute` tokens, refilled continuously at
`per_minute / 60` a second, one taken per request; an empty bucket answers 429 with `Retry-After`
(whole seconds until a token is back). The client address is the ASGI `client`, which uvicorn takes
from `X-Forwarded-For` only when the peer is a trusted proxy (`FORWARDED_ALLOW_IPS`): behind a
balancer, trust it, or every client shares the balancer's bucket.

Buckets live in each worker process's memory: with W workers on R replicas a client may get up to
W × R times the limit. That bounds a brute-force or a flood by a constant factor, which is the aim;
an exact city-wide count would need shared state (the database or Redis) on every request.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

MAX_CLIENTS = 100_000  # buckets kept per rule; the least recently seen are forgotten first (a full bucket)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Buckets by key for one rule. `take(key)` returns 0 when allowed, else seconds to wait."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError(f"per_minute must be at least 1; got {per_minute}")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        now = self.clock()
        bucket = self._buckets.pop(key, None) or _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[key] = bucket  # most recently seen last
        if len(self._buckets) > MAX_CLIENTS:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


@dataclass(frozen=True)
class RateRule:
    name: str  # in the answer: what was limited
    method: str
    paths: frozenset[str]
    buckets: TokenBuckets
    # The refusal in the endpoint's own error format; the default is `{"detail": "..."}`.
    reply: Callable[[str, str], Response] | None = None


def json_refusal(_path: str, message: str) -> Response:
    return JSONResponse({"detail": message}, status_code=429)


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, rules: list[RateRule]) -> None:
        self.app = app
        self.rules = rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for rule in self.rules:
                if scope["method"] == rule.method and scope["path"] in rule.paths:
                    client = scope.get("client")
                    wait = rule.buckets.take(client[0] if client else "unknown")
                    if wait > 0:
                        seconds = max(1, math.ceil(wait))
                        per_minute = int(rule.buckets.capacity)
                        message = (
                            f"too many {rule.name} from this address: the limit is {per_minute} a minute; "
                            f"retry after {seconds} s"
                        )
                        response = (rule.reply or json_refusal)(scope["path"], message)
                        response.status_code = 429
                        response.headers["Retry-After"] = str(seconds)
                        await response(scope, receive, send)
                        return
                    break
        await self.app(scope, receive, send)
