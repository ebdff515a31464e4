"""Each time a target left service during a watched deploy, named by how it left.

From the polls: deregistered first (a drain: the balancer stopped sending it users before it
stopped), or failing its health check or refusing connections while still registered (a crash,
or an in-place restart the deploy did not announce), and whether it came back on another build
(replaced). Behind a provider that does not report registrations (a static profile whose drain
adapter has no `state` command) a drain and a crash look alike: such a departure is `left`,
unless the load shows its balancer still sending it users after it stopped (their requests
failing): then it was still registered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.deploywatch.analysis import Event, belongs_to
from harness.deploywatch.poller import OUT_OF_SERVICE, REFUSED
from harness.profile.environment import Environment

DRAIN, RESTART, LEFT = "drain", "restart", "left"
DEREGISTERED = ("deregistered", "gone", "deregistered and registered again")


@dataclass
class Episode:
    target: str
    kind: str  # drain, restart or left
    since: float  # the last poll that saw it in service: it left after this (epoch seconds)
    seen_at: float  # the first poll that saw it out of service
    ended: float  # the first poll that saw it back in service, or the end of the watch
    back: bool
    signs: list[str] = field(default_factory=list)  # what that first poll showed
    build_before: str | None = None
    build_after: str | None = None
    still_sent: bool = False  # the load saw requests sent to it after it stopped

    @property
    def replaced(self) -> str | None:
        """`build-1 -> build-2` when it came back on another build."""
        before, after = self.build_before, self.build_after
        return f"{before} -> {after}" if before and after and before != after else None

    @property
    def how(self) -> str:
        """`stopped answering while registered`, `deregistered`, ..."""
        signs = " and ".join(self.signs)
        if self.still_sent:
            return f"{signs} while still registered (its balancer kept sending it users)"
        return f"{signs} while registered" if self.kind == RESTART else signs


def registrations_visible(env: Environment) -> bool:
    """Whether the provider reports a target's registration (not only its health)."""
    if env.topology.provider != "static":
        return True
    drain = env.topology.drain
    return drain is not None and (drain.adapter == "haproxy" or bool(drain.state))


def in_service(row: dict[str, Any]) -> bool:
    return row["state"] == "healthy" and not row.get(REFUSED)


def signs_of(row: dict[str, Any]) -> list[str]:
    """What a poll of a target out of service showed."""
    state = row["state"]
    signs = []
    if state in OUT_OF_SERVICE:
        signs.append("gone" if state == "gone" else "deregistered")
    elif state == "initial":
        signs.append("deregistered and registered again")
    elif state == "unhealthy":
        signs.append("failed health")
    if row.get(REFUSED):
        signs.append("stopped answering")
    return signs or [state]


def episodes_of(samples: list[dict[str, Any]], ended: float, visible: bool) -> list[Episode]:
    """Every departure of every target, in order."""
    targets = dict.fromkeys(t for s in samples for t in s["targets"])
    found = [e for t in targets for e in _of_target(t, samples, ended, visible)]
    return sorted(found, key=lambda e: e.since)


def _of_target(
    target: str, samples: list[dict[str, Any]], ended: float, visible: bool
) -> list[Episode]:
    out: list[Episode] = []
    good: tuple[float, str | None] | None = None  # the last poll in service: when, which build
    current: Episode | None = None
    for sample in samples:
        row = sample["targets"].get(target)
        if row is None:
            continue
        if in_service(row):
            if current is not None:
                current.ended, current.back = sample["at"], True
                current.build_after = row.get("build") or current.build_after
                out.append(current)
                current = None
            good = (sample["at"], row.get("build"))
            continue
        if current is None and good is not None:
            signs = signs_of(row)
            left = any(s in DEREGISTERED for s in signs)
            kind = DRAIN if left else (RESTART if visible else LEFT)
            current = Episode(target, kind, good[0], sample["at"], ended, False, signs, good[1])
        if current is not None:
            current.build_after = row.get("build") or current.build_after
    if current is not None:
        out.append(current)
    return out


def _stopped(ep: Episode, events: list[Event]) -> float:
    """When the target stopped, at the latest: the first poll that saw it out, or a request in
    flight on it that was cut before that."""
    cuts = [
        e.at
        for e in events
        if e.kind == "cut-in-flight" and ep.since < e.at <= ep.seen_at and e.target == ep.target
    ]
    return min([ep.seen_at, *cuts])


def confirm_registered(episodes: list[Episode], events: list[Event]) -> None:
    """A departure the provider cannot name (`left`) during which requests meant for the
    target that began after it stopped failed: its balancer still sent it users, so it was not
    deregistered first (a restart). Requests in flight when it stopped do not count."""
    for ep in episodes:
        if ep.kind != LEFT:
            continue
        stopped = _stopped(ep, events)
        if any(
            e.kind in ("5xx", "no-response")
            and stopped < (e.began if e.began is not None else e.at) <= ep.ended
            and belongs_to(e, ep.target)
            for e in events
        ):
            ep.kind, ep.still_sent = RESTART, True
