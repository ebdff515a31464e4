"""How long a session lives on each target: the cookie lifetime each one sets and the store TTL
each one leaves, after its own login and after it reads a session made on another target.

A target that gives sessions a shorter life than the others (its store TTL, or its session age
setting) logs out every user whose session it made or touched; some stores also reset the TTL
to the reading instance's setting, so a read is measured as well as a write.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SLACK_SECONDS = 60  # lifetimes are read seconds apart and rounded: closer than this is equal
SLACK_SHARE = 0.05  # ... or within 5 % of the longer one


@dataclass(frozen=True)
class Seen:
    """One response's effect on a session: the target that answered, where the session was
    made, the cookie lifetime it set (None: it set none, or a browser-session cookie) and the
    store TTL right after (math.inf: the key has no expiry; -2: the key is absent)."""

    target: str
    made_on: str
    cookie: float | None
    ttl: float

    @property
    def action(self) -> str:
        return "its login" if self.made_on == self.target else f"a read of {self.made_on}'s"


def ttl_of(raw: int) -> float:
    """A Redis TTL reply as seconds: -1 (no expiry) is infinite, -2 (absent) stays -2."""
    return math.inf if raw == -1 else float(raw)


def shorter(life: float, than: float) -> bool:
    """`life` is clearly shorter than `than`, beyond the measuring slack."""
    return life < than - max(SLACK_SECONDS, SLACK_SHARE * than)


def cookie_outlives_store(seen: list[Seen]) -> list[str]:
    """Responses after which the store keeps the session clearly shorter than the cookie."""
    return [
        f"on {s.target} (after {s.action} session) the session cookie lives {s.cookie:.0f} s "
        f"but the store keeps the session {s.ttl:.0f} s"
        for s in seen
        if s.cookie is not None and s.ttl >= 0 and shorter(s.ttl, s.cookie)
    ]


def _life(s: Seen) -> float:
    return min(s.ttl, s.cookie) if s.cookie is not None else s.ttl


def _seconds(value: float) -> str:
    return "no expiry" if value == math.inf else f"{value:.0f} s"


def short_lives(seen: list[Seen], promised: int | None) -> str | None:
    """The targets whose sessions live clearly shorter than the promise (the profile's
    `session.lifetime_seconds`) or, with none, than on the longest-lived target; None if none."""
    present = [s for s in seen if s.ttl >= 0]
    if not present:
        return None
    life = {
        t: min(_life(s) for s in present if s.target == t)
        for t in sorted({s.target for s in present})
    }
    longest = max(life, key=lambda t: life[t])
    reference = float(promised) if promised is not None else life[longest]
    short = sorted(t for t, v in life.items() if shorter(v, reference))
    if not short:
        return None
    parts = []
    for t in short:
        brief = [s for s in present if s.target == t and shorter(_life(s), reference)]
        worst = min(brief, key=lambda s: (_life(s), s.made_on != t))
        cookie = "no lifetime" if worst.cookie is None else f"{worst.cookie:.0f} s"
        after = ["its login"] if any(s.made_on == t for s in brief) else []
        read = sorted(s.made_on for s in brief if s.made_on != t)
        if read:
            after.append(f"reading sessions made on {', '.join(read)}")
        parts.append(
            f"{t} leaves {_life(worst):.0f} s (cookie {cookie}, store TTL "
            f"{_seconds(worst.ttl)}) after {' and '.join(after)}"
        )
    against = (
        f"the profile's session.lifetime_seconds is {promised}"
        if promised is not None
        else f"on {longest} sessions live {_seconds(life[longest])}"
    )
    who = "that target" if len(short) == 1 else "those targets"
    return (
        f"{'; '.join(parts)}, while {against}: users whose session {who} made or touched are "
        "logged out that much sooner"
    )
