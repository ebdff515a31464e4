"""A real-time stream on every target, opened through the balancer as a browser opens one.

With a sticky cookie, each stream is pinned: the session made on one target, the stream opened
on another through that target's route. A balancer that sets no cookie (open-source nginx,
hashing the app's session cookie) cannot be pinned: fresh clients log in through it and open
their streams until every target serves one, as many as reach a target taking a quarter of its
share with probability 0.999 (`Site.pin_tries`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.errors import DeploymentFinding, NotApplicable
from harness.findings import message
from harness.profile.sections import Realtime
from harness.traffic.client import Route, VirtualUser
from harness.traffic.contract import SessionDriver
from harness.traffic.login_pool import LoginPool
from harness.traffic.realtime import MAX_STREAM_SECONDS, Stream, StreamRefused, open_stream
from harness.traffic.site import Site, rotation


@dataclass
class Attempt:
    """One stream asked for: the session's target, who answered, and what came of it."""

    user: VirtualUser
    made_on: str | None
    served_by: str | None
    route: Route | None  # the pinned route; None when drawn (the balancer chose)
    stream: Stream | None = None
    refused: StreamRefused | None = None

    def describe(self) -> str:
        where = f"session made on {self.made_on or '?'}, stream on {self.served_by or '?'}"
        if self.refused is not None:
            r = self.refused
            return f"{where}: answered {r.status or 'nothing'} ({r.detail})"
        return where


class Reach:
    """Opens streams on the targets of `routes`, closing every one at `close`."""

    def __init__(
        self,
        site: Site,
        routes: dict[str, Route],
        pool: LoginPool,
        driver: SessionDriver,
        realtime: Realtime,
    ) -> None:
        self.site, self.routes, self.pool, self.driver = site, routes, pool, driver
        self.realtime = realtime
        self.opened: list[Stream] = []
        self.lifetime = MAX_STREAM_SECONDS  # how long a stream opened here may live
        self._logins = 0

    @property
    def pinned(self) -> bool:
        return all(r.cookies for r in self.routes.values())

    def close(self) -> None:
        for stream in self.opened:
            stream.close()

    def attempt(self, user: VirtualUser, made_on: str | None, route: Route | None) -> Attempt:
        """Open a stream for `user` (through `route`, or wherever the balancer sends it)."""
        try:
            stream = open_stream(user, route, self.realtime, self.site.identity, self.lifetime)
        except StreamRefused as refused:  # who refused: its identity, or where it was pinned
            served = refused.target or (route.target if route else None)
            return Attempt(user, made_on, served, route, refused=refused)
        self.opened.append(stream)
        if route is not None and stream.target is not None and stream.target != route.target:
            raise DeploymentFinding(
                message(
                    "no-stickiness",
                    f"an upgrade pinned to {route.target} was served by {stream.target}",
                    self.site.trace_text(),
                )
            )
        return Attempt(user, made_on, stream.target, route, stream)

    def _draw(self, done: Callable[[list[Attempt]], bool]) -> list[Attempt]:
        tries = max(self.site.pin_tries(t)[0] for t in self.routes)
        attempts: list[Attempt] = []
        for _ in range(tries):
            user = self.site.user("realtime-drawn")
            self._logins += 1
            self.driver.login(user, 900 + self._logins)  # through the balancer: its choice
            attempts.append(self.attempt(user, user.last_target, None))
            if done(attempts):
                return attempts
        refused = [a.describe() for a in attempts if a.refused is not None]
        if refused and not any(a.stream for a in attempts):
            raise DeploymentFinding(
                message(
                    "upgrade-refused",
                    f"none of {len(attempts)} streams opened through the balancer: "
                    + "; ".join(refused[:5]),
                    self.site.trace_text(),
                )
            )
        missing = sorted(set(self.routes) - {a.served_by for a in attempts if a.served_by})
        raise NotApplicable(
            f"no stream of {tries} fresh clients landed on {', '.join(missing)} (the balancer "
            "sets no sticky cookie, so streams cannot be pinned)"
        )

    def across(self) -> list[Attempt]:
        """A stream on every target opened with a session made on another one, and one on
        the session's own target (a pinned balancer: both, for each pair of a rotation)."""
        if self.pinned:
            attempts = []
            for made_on, opened_on in rotation(list(self.routes)):
                user = self.pool.take(made_on)
                attempts.append(self.attempt(user, made_on, self.routes[made_on]))
                attempts.append(self.attempt(user, made_on, self.routes[opened_on]))
            return attempts
        targets = set(self.routes)

        def covered(attempts: list[Attempt]) -> bool:
            crossed = {a.served_by for a in attempts if a.made_on and a.served_by != a.made_on}
            return crossed >= targets

        return self._draw(covered)

    def subscribers(self) -> dict[str, Attempt]:
        """One open stream on each target (its user publishes there, with the same route)."""
        if self.pinned:
            found = {t: self.attempt(self.pool.take(t), t, r) for t, r in self.routes.items()}
        else:
            targets = set(self.routes)
            drawn = self._draw(lambda got: {a.served_by for a in got if a.stream} >= targets)
            found = {}
            for a in drawn:
                if a.stream is not None and a.served_by in targets:
                    found.setdefault(str(a.served_by), a)
            kept = [a.stream for a in found.values()]
            for a in drawn:  # the others are not needed: their server threads are freed now
                if a.stream is not None and a.stream not in kept:
                    a.stream.close()
        refused = [a.describe() for a in found.values() if a.stream is None]
        if refused:
            raise DeploymentFinding(
                message(
                    "upgrade-refused",
                    "a subscriber's stream did not open: " + "; ".join(refused),
                    self.site.trace_text(),
                )
            )
        return found
