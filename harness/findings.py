"""Findings: failure messages that name the field fault and carry the evidence.

Each message starts `[fault] title: what was seen`, then the evidence (request traces with the
target of each request, statuses, timings, cookie names and attributes, values redacted).
"""

from __future__ import annotations

from typing import NoReturn

from harness.printable import printable

FIELD_FAULTS: dict[str, str] = {
    "abrupt-drain": "draining that cuts requests",
    "cookie-secret-mismatch": "signed-cookie sessions with a secret per instance",
    "fail-open": "every target unhealthy: the load balancer routes to all of them (fail-open)",
    "early-exit": "the app exits before its drain ends, cutting requests in flight",
    "idle-timeout": "a request outlives the balancer's idle timeout (504 through the balancer)",
    "ignored-drain": "a drained target still takes new clients",
    "incomplete-rollout": "the deploy ended with its targets on different builds",
    "insecure-cookie": "the session cookie is not Secure behind TLS termination",
    "internal-redirect": "a redirect points to plain http or to a target's own address",
    "keepalive-race": "target keep-alive shorter than the balancer's idle timeout",
    "local-broadcast": "real-time messages reach only their own instance's clients",
    "local-sessions": "in-process session store",
    "lost-message": "a published real-time message never reached some subscribers",
    "logout-kept": "a logged-out session still works",
    "lost-update": "whole-session write-back loses concurrent writes",
    "missing-asset": "an asset a page references is not served by every target",
    "no-stickiness": "stickiness disabled or misconfigured",
    "polling-not-sticky": "long polling leaves the target of its handshake",
    "redirect-loop": "a redirect loop behind TLS termination",
    "secret-mismatch": "a different secret key per instance",
    "session-not-shared": "sessions not shared between instances",
    "session-format": "sessions one build writes cannot be read or written by another build",
    "server-error": "the app answers with a server error (5xx)",
    "short-shutdown-grace": "the app's shutdown grace is shorter than the deregistration delay",
    "short-redis-ttl": "session store TTL shorter than the session cookie",
    "short-session-life": "sessions live shorter on some targets than promised or than on others",
    "short-stickiness": "stickiness shorter than expected",
    "slow-broadcast": "real-time messages reach other instances' clients later than promised",
    "slow-target": "one slow instance",
    "stale-cache": "a per-instance cache in front of the shared store",
    "store-evicts": "the session store's eviction policy drops live sessions under memory pressure",
    "store-failover": "sessions lost or writes failing too long across a session store failover",
    "store-stale-primary": "the app keeps writing to the old primary after a store failover",
    "settings-drift": "load balancer settings differ from the profile",
    "upgrade-refused": "a real-time stream does not open through the balancer with a session",
    "unhealthy-target": "a target is not healthy",
    "unreached-target": "a healthy target the balancer sends no fresh client to",
    "unannounced-restart": (
        "a target stopped or restarted while still registered: the deploy did not deregister it "
        "first"
    ),
    "trusts-balancer-ip": "the app takes the balancer's address for the client's",
    "uneven": "uneven distribution",
    "version-skew": "version skew across targets",
}


def message(fault: str, what: str, evidence: str = "") -> str:
    """The text of a finding."""
    text = f"[{fault}] {FIELD_FAULTS[fault]}: {printable(what)}"
    return f"{text}\nevidence:\n{printable(evidence)}" if evidence else text


def fail(fault: str, what: str, evidence: str = "") -> NoReturn:
    """Fail the current test with a finding (no Python traceback: the evidence is the story)."""
    __tracebackhide__ = True
    import pytest  # here, so that profiles and the CLI load without pytest

    pytest.fail(message(fault, what, evidence), pytrace=False)
