"""Real-time sessions: a stream opens on every target with a session made on another, long
polling stays on the target of its handshake, and a message published through one target
reaches the subscribers of every other within the bound the profile states."""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest

from harness.disruption.drain import restore_timeout
from harness.disruption.guard import Guard
from harness.errors import NotApplicable
from harness.findings import fail
from harness.profile.sections import Realtime
from harness.topology.model import Target, Topology
from harness.traffic.client import Route
from harness.traffic.contract import SessionDriver, StepFailed, send_request
from harness.traffic.login_pool import LoginPool
from harness.traffic.realtime import publish
from harness.traffic.realtime_drain import drain_with_streams
from harness.traffic.realtime_reach import Reach
from harness.traffic.realtime_verdicts import (
    Delivery,
    Poll,
    broadcast_finding,
    drain_finding,
    polls_finding,
    upgrade_finding,
)
from harness.traffic.site import Site

LATE_GRACE_SECONDS = 2.0  # after the bound: a message this late is late, later still is lost
WAIT_TICK_SECONDS = 0.01


@pytest.fixture(scope="module")
def realtime(site: Site) -> Realtime:
    if site.env.realtime is None:
        pytest.skip("the profile has no realtime: section (the app's real-time endpoint)")
    return site.env.realtime


@pytest.fixture(scope="module")
def routes(site: Site, healthy_targets: list[Target], realtime: Realtime) -> dict[str, Route]:
    """A route through the balancer to each healthy target: a stream's upgrade must pass it."""
    healthy = [t.id for t in healthy_targets]
    if len(healthy) < 2:
        pytest.skip(f"real-time checks need two healthy targets; healthy: {healthy}")
    return {t: site.pin(t) for t in healthy}


@pytest.fixture(scope="module")
def pool(site: Site, routes: dict[str, Route], session_driver: SessionDriver) -> LoginPool:
    return LoginPool(site, session_driver, routes, "realtime")


@pytest.fixture
def reach(
    site: Site,
    routes: dict[str, Route],
    pool: LoginPool,
    session_driver: SessionDriver,
    realtime: Realtime,
) -> Iterator[Reach]:
    """Streams on every target; each one closed when the check ends."""
    opener = Reach(site, routes, pool, session_driver, realtime)
    yield opener
    opener.close()


@pytest.mark.parity(
    title="A session made on one target opens a stream on every other",
    why="A socket that reconnects to another instance after a deploy must keep its user.",
)
def test_stream_opens_on_every_target_with_a_session_made_on_another(
    site: Site, realtime: Realtime, reach: Reach
) -> None:
    stranger = reach.attempt(site.user("realtime-anonymous"), None, None)  # no cookie at all
    if stranger.stream is not None and not (realtime.user and stranger.stream.user is None):
        raise NotApplicable(
            f"{realtime.path} opens without a session, and its hello names no user "
            "(realtime.user): whether a session made elsewhere is honoured cannot be seen"
        )
    seen = []
    for a in reach.across():
        why = None
        if a.refused is not None:
            why = f"answered {a.refused.status}" if a.refused.status else "refused"
            why += f" ({a.refused.detail})" if a.refused.detail else ""
        if why is None and realtime.user and a.stream is not None and not a.stream.user:
            why = "opened, but its hello names no user"
        seen.append((a.made_on, a.served_by, why))
    reach.close()  # judged: their server threads are freed before the next check
    finding = upgrade_finding(seen)
    if finding:
        fail(finding[0], finding[1], site.trace_text())


@pytest.mark.parity(
    title="Long polling stays on the target of its handshake",
    why="A poll that reaches another instance than its handshake is answered 'session unknown'.",
)
def test_long_polling_stays_on_the_target_of_its_handshake(
    site: Site,
    routes: dict[str, Route],
    session_driver: SessionDriver,
    realtime: Realtime,
) -> None:
    polling = realtime.polling
    if polling is None:
        pytest.skip("the profile names no long-polling transport (realtime.polling)")
    user = site.user("realtime-polling")
    session_driver.login(user, 0)  # through the balancer, as a browser: no route chosen
    made_on = user.last_target
    try:
        send_request("handshake", polling.handshake, user, {}, field="realtime.polling.handshake")
    except StepFailed as failed:
        if failed.target not in (made_on, None) and failed.status in (401, 403):
            fail(
                "session-not-shared",
                f"a long-polling handshake with a session made on {made_on} was refused by "
                f"{failed.target} ({failed.status})",
                site.trace_text(),
            )
        raise
    handshake = user.last_target
    if handshake is None:
        raise NotApplicable(
            "the long-polling handshake's answer names no instance (identity): which target "
            "its polls should stay on cannot be seen"
        )
    polls: list[Poll] = []
    for _ in range(polling.polls or 10):
        try:
            answer = send_request("poll", polling.poll, user, {}, field="realtime.polling.poll")
            polls.append(Poll(user.last_target, answer.status_code))
        except StepFailed as failed:
            polls.append(Poll(failed.target, failed.status, failed.body))
    finding = polls_finding(handshake, polls)
    if finding and finding[0]:
        fail(finding[0], finding[1], site.trace_text())
    if finding:  # refused, and what answered is not known: shown, no cause named
        pytest.fail(f"{finding[1]}\nevidence:\n{site.trace_text()}", pytrace=False)


@pytest.mark.parity(
    title="A message published on one target reaches every other",
    why="Without a shared adapter, clients of the other instances never see the message.",
)
def test_message_published_on_one_target_reaches_every_target(
    site: Site, realtime: Realtime, reach: Reach
) -> None:
    subscribers = reach.subscribers()
    streams = {t: a.stream for t, a in subscribers.items() if a.stream is not None}
    bound = float(realtime.delivery_within_seconds or 2.0)
    deliveries: list[Delivery] = []
    for publisher, attempt in subscribers.items():
        text = f"parity-{publisher}-{secrets.token_hex(4)}"
        route = attempt.route
        sent = publish(attempt.user, route, realtime, text, on=streams[publisher])
        if route is None and realtime.publish and attempt.user.last_target != publisher:
            raise NotApplicable(
                f"a publish meant for {publisher} was served by {attempt.user.last_target}: "
                "the balancer sets no sticky cookie to pin it"
            )
        deadline = sent + bound + LATE_GRACE_SECONDS
        while time.monotonic() < deadline and not all(s.received(text) for s in streams.values()):
            time.sleep(WAIT_TICK_SECONDS)
        for target, stream in streams.items():
            got = stream.received(text)
            deliveries.append(Delivery(publisher, target, None if got is None else got.at - sent))
    finding = broadcast_finding(deliveries, bound)
    if finding:
        fail(finding[0], finding[1], site.trace_text())


@pytest.mark.disruptive
@pytest.mark.parity(
    title="Drained streams last the delay and return with their session",
    why="Every deploy drains: streams cut early, or back without their user, break live pages.",
)
def test_drain_keeps_streams_for_its_delay_and_they_come_back_with_their_session(
    site: Site,
    topology: Topology,
    realtime: Realtime,
    reach: Reach,
    guard: Guard,
    evidence: dict[str, Any],
) -> None:
    target = next(iter(reach.routes))
    group = topology.group_of(target) or topology.target_groups[0]
    hc = group.health_check
    seen = drain_with_streams(
        reach,
        guard,
        target,
        group.deregistration_delay_seconds,
        restore_timeout(hc.interval_seconds, hc.healthy_threshold),
    )
    evidence["realtime_drain"] = dataclasses.asdict(seen)
    finding = drain_finding(seen, realtime.max_lost_messages)
    if finding:
        fail(finding[0], finding[1], site.trace_text())
