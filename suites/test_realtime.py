"""Real-time sessions: a stream opens on every target with a session made on another, long
polling stays on the target of its handshake, and a message published through one target
reaches the subscribers of every other within the bound the profile states."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest

from harness.errors import NotApplicable
from harness.findings import fail
from harness.profile.sections import Realtime
from harness.topology.model import Target
from harness.traffic.client import Route
from harness.traffic.contract import SessionDriver, StepFailed, send_request
from harness.traffic.login_pool import LoginPool
from harness.traffic.realtime import publish
from harness.traffic.realtime_reach import Reach
from harness.traffic.realtime_verdicts import (
    Delivery,
    broadcast_finding,
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
        why = None if a.refused is None else f"answered {a.refused.status or 'nothing'}"
        if a.refused is not None and a.refused.detail:
            why = f"{why} ({a.refused.detail})"
        if why is None and realtime.user and a.stream is not None and not a.stream.user:
            why = "opened, but its hello names no user"
        seen.append((a.made_on, a.served_by, why))
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
    polls: list[tuple[str | None, int]] = []
    for _ in range(polling.polls or 10):
        try:
            send_request("poll", polling.poll, user, {}, field="realtime.polling.poll")
            polls.append((user.last_target, 200))
        except StepFailed as failed:
            polls.append((failed.target, failed.status))
    finding = polls_finding(handshake, polls)
    if finding:
        fail("polling-not-sticky", finding, site.trace_text())
    refused = [status for _, status in polls if status != 200]
    if refused:
        pytest.fail(
            f"{len(refused)} of {len(polls)} polls were refused by {handshake}, the target of "
            f"their handshake (statuses {sorted(set(refused))})\nevidence:\n{site.trace_text()}",
            pytrace=False,
        )


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
