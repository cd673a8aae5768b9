"""Failed authentication is throttled per client address, and every failure is logged.

A failure is a credential that was sent and is not valid: a bearer token on the API that is no
key (or a revoked one) and not the admin token, or a key typed into the reply desk's sign-in.
(No credential at all is a plain 401 and not counted.) Failures are counted per client address
in Redis, in a window that starts at the address's first failure
(``REPLY_ASSIST_AUTH_FAILURE_WINDOW_S``, 300 s), so every worker and instance counts into the
same window. Past ``REPLY_ASSIST_AUTH_FAILURE_LIMIT`` (10) failures, every credential from that
address, right or wrong, is refused with 429 ``too_many_auth_failures`` and ``Retry-After``
until the window ends: a blocked client learns nothing from trying more.

**No cost for a success.** Only failures write. Each process remembers the addresses it has
seen blocked (the count comes back with every failure it writes), so the check before
authenticating is a lookup in memory, not a round trip: a generate call stays at two. The price:
a process that has not yet seen a failure from a blocked address lets that address's next
attempt through to authentication; if it fails, it is counted, seen blocked and answered 429.
So the block holds for failures everywhere at once, and each process lets at most one attempt
from a blocked address reach authentication before it knows.

IPv6 clients are counted by their /64 network (one host usually holds a whole /64), IPv4 ones
by address. Behind a proxy the address is the one ``--forwarded-allow-ips`` lets the proxy
name; otherwise every client would share the proxy's.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import time
from typing import TYPE_CHECKING

import structlog
from redis.exceptions import RedisError

from reply_assist.errors import RateLimited
from reply_assist.store.auth_failures import AuthFailureRepository

if TYPE_CHECKING:
    from reply_assist.runtime import Runtime

__all__ = ["AuthThrottle", "client_address", "note_failed_attempt", "refuse_if_blocked"]

log = structlog.get_logger(__name__)

# Blocked addresses one process remembers at most: an attacker with many addresses (an IPv6
# range) must not grow it without bound. Past it, expired blocks go first, then the oldest.
_MAX_REMEMBERED = 100_000


class AuthThrottle:
    """One process's side of the throttle: its limits, the store, and the addresses it knows
    to be blocked (with when each block ends, on the monotonic clock)."""

    def __init__(self, failures: AuthFailureRepository, *, limit: int, window_s: int) -> None:
        self.failures = failures
        self.limit = limit
        self.window_s = window_s
        self._blocked: dict[str, float] = {}

    @property
    def any_blocked(self) -> bool:
        return bool(self._blocked)

    def seconds_blocked(self, address: str) -> float:
        """How long ``address`` stays blocked, as far as this process knows; 0 when it is not."""
        until = self._blocked.get(address)
        if until is None:
            return 0.0
        left = until - time.monotonic()
        if left <= 0:
            del self._blocked[address]
            return 0.0
        return left

    def remember_blocked(self, address: str, seconds: float) -> None:
        now = time.monotonic()
        if len(self._blocked) >= _MAX_REMEMBERED:
            self._blocked = {a: t for a, t in self._blocked.items() if t > now}
            while len(self._blocked) >= _MAX_REMEMBERED:
                del self._blocked[next(iter(self._blocked))]
        self._blocked.pop(address, None)
        self._blocked[address] = now + seconds


@functools.lru_cache(maxsize=4096)
def client_address(host: str | None) -> str:
    """The name an address is counted under: an IPv4 address, or an IPv6 /64 network."""
    if not host:
        return "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:100]  # not an IP (a unix socket's name): counted as given
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _refusal(seconds: float) -> RateLimited:
    retry_after = max(1, math.ceil(seconds))
    return RateLimited(
        retry_after,
        f"Too many failed authentications from this address; retry in {retry_after} s.",
        code="too_many_auth_failures",
    )


def refuse_if_blocked(rt: Runtime, host: str | None) -> None:
    """Before a credential is checked: 429 ``too_many_auth_failures`` when the client's address
    is blocked, as far as this process knows (no round trip)."""
    throttle = rt.auth_throttle
    if throttle.limit <= 0 or not throttle.any_blocked:  # the usual case: nothing to look up
        return
    seconds = throttle.seconds_blocked(client_address(host))
    if seconds > 0:
        raise _refusal(seconds)


async def note_failed_attempt(rt: Runtime, host: str | None, path: str) -> None:
    """A credential from ``host`` was not valid: log it (address and path, never the
    credential) and count it. Raises 429 ``too_many_auth_failures`` when that makes more than
    the limit; returns when the caller should answer its own 401. A store that is down does not
    turn the 401 into a 503: the attempt is logged, not counted."""
    address = client_address(host)
    throttle = rt.auth_throttle
    if throttle.limit <= 0:
        log.warning("auth_failed", client=address, path=path)
        return
    try:
        count = await throttle.failures.add(address, throttle.window_s)
    except (RedisError, OSError) as exc:
        log.warning(
            "auth_failed", client=address, path=path, counted=False, error=type(exc).__name__
        )
        return
    log.warning("auth_failed", client=address, path=path, failures=count.failures)
    if count.failures < throttle.limit:
        return
    seconds = count.window_left_ms / 1000
    throttle.remember_blocked(address, seconds)
    if count.failures == throttle.limit:
        log.warning("auth_throttled", client=address, retry_after_s=math.ceil(seconds))
        return  # this one is still a 401; the next attempt is refused
    raise _refusal(seconds)
