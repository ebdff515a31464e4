"""Fault switches: each one a real misconfiguration of the replica, one per field fault.

The harness never reads these switches; the suites must find each fault from the outside.
"""

from __future__ import annotations

import dataclasses
import secrets

from harness.errors import UsageError
from harness.replica.app_settings import AppSettings

# "The faulty instance": the second, or the one `parity up --faulty-instance N` names.
FAULTS: dict[str, str] = {
    "abrupt-drain": "deregistration cuts in-flight requests at once and ignores the delay",
    "cookie-secret-mismatch": "sessions in signed cookies; the faulty instance has another key",
    "early-exit": "instances exit at once on SIGTERM, cutting the requests they have in flight",
    "ignored-drain": "a drain never reaches the front end: the target keeps taking new clients",
    "ignored-weights": "the weighted forward (--groups) splits fresh clients evenly",
    "ignores-forwarded-proto": "the app ignores X-Forwarded-Proto: redirects to https behind TLS",
    "insecure-cookie": "the app sets its session cookie without Secure, also over https",
    "internal-redirect": "the app builds redirects from its instance's own host and port",
    "local-broadcast": "real-time messages reach only the publishing instance's own clients",
    "local-sessions": "the faulty instance keeps sessions in its own process memory",
    "lost-update": "instances write the whole session back, so concurrent writes lose keys",
    "no-stickiness": "the target group has stickiness disabled",
    "polling-not-sticky": "the front end routes long polling (/realtime/poll) without stickiness",
    "secret-mismatch": "the faulty instance signs session cookies with another secret key",
    "session-format": "a newer build stores sessions in an encoding the oldest build cannot read",
    "short-keepalive": "the faulty instance closes idle keep-alive connections after 1 s",
    "short-redis-ttl": "the session store's TTL is far shorter than the session cookie's lifetime",
    "short-session-life": "the faulty instance gives sessions (cookie and store TTL) a 60 s life",
    "short-stickiness": "the stickiness duration is far below the expected 86400 s",
    "slow-target": "the faulty instance adds latency to every request",
    "stale-cache": "the faulty instance memoises session reads for 30 s in front of Redis",
    "store-evicts": "Redis runs allkeys-lru with a small maxmemory, so sessions are evicted",
    "store-stale-primary": "the app writes to the first primary, not through Sentinel (READONLY)",
    "trusts-balancer-ip": "the app takes the balancer's address for the client's",
    "uneven": "the first target takes three times the traffic of the others",
    "version-skew": "the faulty instance serves another build",
}
SHORT_STICKINESS_SECONDS = 60
SHORT_REDIS_TTL_SECONDS = 30
SHORT_SESSION_LIFE_SECONDS = 60  # the short-session-life instance's session age and store TTL
SLOW_TARGET_MS = 200
UNEVEN_WEIGHT = 3
STALE_CACHE_SECONDS = 30.0
SHUTDOWN_GRACE_SECONDS = 30  # how long a healthy instance finishes requests after SIGTERM
SHORT_KEEPALIVE_SECONDS = 1  # gunicorn --keep-alive of the short-keepalive instance
LATE_FIN_SECONDS = 0.5  # the short-keepalive instance's FIN reaches the front end this late
FAULTY_INDEX = 1  # the instance the per-instance faults break (0-based): the second


# Faults of the front end itself: what it cannot do, it cannot be broken into.
ALB_ONLY = {
    "abrupt-drain": "Caddy and nginx drain gracefully: neither can cut requests in flight",
    "short-stickiness": "stickiness with an idle duration is the ALB's",
}
CADDY_CANNOT = {"uneven": "Caddy 2.6 has no weighted policy"}


def check_for_front(faults: tuple[str, ...], balancer: str) -> None:
    """A fault the front end cannot have is refused, saying why."""
    if balancer == "alb":
        return
    refused = {**ALB_ONLY, **(CADDY_CANNOT if balancer == "caddy" else {})}
    for name in faults:
        if name in refused:
            raise UsageError(
                f"--fault {name} does not apply to --balancer {balancer}: {refused[name]}"
            )


def applied_weights(pairs: list[tuple[str, int]], faults: tuple[str, ...]) -> list[tuple[str, int]]:
    """The weights the front end is given: the asked ones, or equal ones (ignored-weights)."""
    return [(name, 1) for name, _ in pairs] if "ignored-weights" in faults else pairs


STORE_EVICTS_MAXMEMORY = "4mb"


def redis_args(faults: tuple[str, ...]) -> list[str]:
    """redis-server flags for the faults (store-evicts: a small maxmemory, allkeys-lru)."""
    if "store-evicts" in faults:
        return ["--maxmemory", STORE_EVICTS_MAXMEMORY, "--maxmemory-policy", "allkeys-lru"]
    return []


def check_faults(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Validate fault names; an unknown one is an error listing the known ones."""
    for name in names:
        if name not in FAULTS:
            raise UsageError(
                f"--fault {name!r} is unknown; known faults: {', '.join(sorted(FAULTS))}"
            )
    return tuple(dict.fromkeys(names))


def session_format(build: str, oldest: str, faults: tuple[str, ...]) -> int:
    """The session encoding of an instance on `build`: with `session-format`, every build newer
    than the oldest one writes format 2, which the oldest cannot read."""
    return 2 if "session-format" in faults and build != oldest else 1


def shutdown_grace(faults: tuple[str, ...]) -> int:
    """Seconds an instance finishes its requests after SIGTERM (gunicorn's graceful timeout)."""
    return 0 if "early-exit" in faults else SHUTDOWN_GRACE_SECONDS


def instance_settings(
    base: AppSettings, index: int, faults: tuple[str, ...], faulty: int = FAULTY_INDEX
) -> AppSettings:
    """Settings of instance `index` (0-based) once the faults are applied; the per-instance
    faults break the instance at index `faulty` (0-based; `parity up --faulty-instance`)."""
    s = _app_wide(base, faults)
    if "short-redis-ttl" in faults:
        s = dataclasses.replace(s, session_ttl=SHORT_REDIS_TTL_SECONDS)
    if "lost-update" in faults:
        s = dataclasses.replace(s, write_mode="whole")
    if "cookie-secret-mismatch" in faults:
        s = dataclasses.replace(s, session_store="cookie")
    if index != faulty:
        return s
    if "local-sessions" in faults:
        s = dataclasses.replace(s, session_store="memory")
    if "secret-mismatch" in faults or "cookie-secret-mismatch" in faults:
        s = dataclasses.replace(s, secret_key=secrets.token_hex(32))
    if "version-skew" in faults:
        s = dataclasses.replace(s, build=f"{s.build}-previous")
    if "slow-target" in faults:
        s = dataclasses.replace(s, latency_ms=SLOW_TARGET_MS)
    if "stale-cache" in faults:
        s = dataclasses.replace(s, read_cache_seconds=STALE_CACHE_SECONDS)
    if "short-keepalive" in faults:
        s = dataclasses.replace(s, keep_alive=SHORT_KEEPALIVE_SECONDS)
    if "short-session-life" in faults:
        life = SHORT_SESSION_LIFE_SECONDS
        s = dataclasses.replace(s, session_ttl=life, cookie_lifetime=life)
    return s


def _app_wide(s: AppSettings, faults: tuple[str, ...]) -> AppSettings:
    """The faults of the app's code behind a balancer: every instance has them."""
    return dataclasses.replace(
        s,
        forwarded_proto=s.forwarded_proto and "ignores-forwarded-proto" not in faults,
        internal_redirect=s.internal_redirect or "internal-redirect" in faults,
        secure_cookie=s.secure_cookie and "insecure-cookie" not in faults,
        forwarded_for=s.forwarded_for and "trusts-balancer-ip" not in faults,
        broadcast="local" if "local-broadcast" in faults else s.broadcast,
    )


POLLING_PATH = "/realtime/poll"  # the reference app's long-polling transport


def unsticky_paths(faults: tuple[str, ...]) -> tuple[str, ...]:
    """Paths the front end balances without stickiness (polling-not-sticky: a listener rule
    that forwards long polling to a target group with stickiness off)."""
    return (POLLING_PATH,) if "polling-not-sticky" in faults else ()


def target_weight(index: int, faults: tuple[str, ...]) -> int:
    """The balancing weight of target `index`."""
    return UNEVEN_WEIGHT if "uneven" in faults and index == 0 else 1


def stickiness(enabled: bool, seconds: int, faults: tuple[str, ...]) -> tuple[bool, int]:
    """The target group's stickiness (enabled, duration) once the faults are applied."""
    if "no-stickiness" in faults:
        enabled = False
    if "short-stickiness" in faults:
        seconds = min(seconds, SHORT_STICKINESS_SECONDS)
    return enabled, seconds
