"""Why a session made on one target fails on another: the cause its evidence shows, no more.

The evidence: where each target's sessions live (the shared store under the profile's key, the
store under another key, the cookie itself, neither, or unknown), whether the session id in the
cookie is signed, and the statuses the other targets answered. Each cause is named only on that
evidence; with none that tells, the finding says what was seen and that sessions are not shared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.traffic.session_location import Location

# `<id>.<signature>`: Flask-Session's, express-session's (`s:<id>.<sig>`) and other signers'
SIGNED = re.compile(r"^(?:s:|s%3A)?[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-+/=]{16,}$")


@dataclass
class Placement:
    """Per target: where a session made there lives (None: cannot tell), the key it was found
    under when that is not where the others are, and whether its cookie carries a signed id."""

    where: dict[str, Location | None] = field(default_factory=dict)
    other_keys: dict[str, str] = field(default_factory=dict)
    signed: dict[str, bool] = field(default_factory=dict)


def signed_id(cookie: str | None) -> bool:
    return cookie is not None and SIGNED.match(cookie) is not None


def cause(placed: Placement, seen: str, statuses: list[int | None]) -> tuple[str, str]:
    """The finding (fault name, what) for sessions another target did not accept."""
    where = placed.where
    neither = [t for t, w in where.items() if w == "neither"]
    if placed.other_keys:
        keys = ", ".join(f"{t} under {k!r}" for t, k in sorted(placed.other_keys.items()))
        return (
            "session-not-shared",
            f"sessions made on {', '.join(sorted(placed.other_keys))} are in the store under "
            f"another key than the other targets' ({keys}): the instances use another key "
            f"prefix or layout. {seen}",
        )
    if neither:
        return (
            "local-sessions",
            f"sessions made on {', '.join(neither)} are neither in the shared store nor "
            f"carried in the cookie: {', '.join(neither)} keeps sessions in process memory. {seen}",
        )
    if where and all(w == "cookie" for w in where.values()):
        return (
            "cookie-secret-mismatch",
            "sessions live in signed cookies (the cookie carries the data; nothing is in the "
            "shared store) and another target rejects them: the instances sign session cookies "
            f"with different secret keys. {seen}",
        )
    if where and all(w == "store" for w in where.values()):
        failing = sorted({s for s in statuses if s == 500})  # the app's; 502-504: a balancer
        if failing:
            codes = ", ".join(f"HTTP {s}" for s in failing)
            return (
                "session-not-shared",
                f"sessions are in the shared store, and another target fails reading them "
                f"({codes}): the instances decode sessions differently (a serializer or session "
                f"format that differs between them). {seen}",
            )
        if all(placed.signed.get(t) for t in where):
            return (
                "secret-mismatch",
                "sessions that are in the shared store are rejected by another target, and the "
                "cookie carries a signed session id: the instances sign session cookies with "
                f"different secret keys. {seen}",
            )
        return (
            "session-not-shared",
            "sessions are in the shared store under the same key layout, and another target "
            "does not accept them (the cookie carries no signature, so no secret mismatch is "
            f"shown). {seen}",
        )
    return ("session-not-shared", seen)
