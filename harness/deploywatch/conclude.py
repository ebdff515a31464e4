"""From what the watchers and the load saw to what the deploy did: every event attributed,
every departure named (drain or unannounced restart), every mixed-build window judged, and the
builds at the end."""

from __future__ import annotations

from typing import Any

from harness.deploywatch.analysis import attribute, events_of, reclassify_moves
from harness.deploywatch.document import Outcome, Watched
from harness.deploywatch.episodes import confirm_registered, episodes_of, registrations_visible
from harness.deploywatch.mixed import end_state, judge, windows_of
from harness.deploywatch.quality import drains, restarts
from harness.deploywatch.watchers import Watchers
from harness.profile.environment import Environment
from harness.topology.model import Topology

DETECTION_CAP = 60.0  # seconds a failed health check may have begun before it was seen


def detection(topology: Topology) -> dict[str, float]:
    """Per target, how long its balancer takes to see a failed health check (at most
    DETECTION_CAP s): a change seen as `unhealthy` began up to this long before."""
    return {
        t.id: min(
            g.health_check.interval_seconds * g.health_check.unhealthy_threshold
            + g.health_check.timeout_seconds,
            DETECTION_CAP,
        )
        for g in topology.target_groups
        for t in g.targets
    }


def conclude(
    env: Environment,
    topology: Topology,
    watchers: Watchers,
    evidence: dict[str, Any],
    out: Outcome,
    poll: float,
) -> Watched:
    """`out` with everything the watch concludes from its evidence."""
    poller, ended = watchers.poller, out.ended
    flights = [f for p in watchers.probes for f in p.flights]
    poller.poll_errors += watchers.errors()  # shown with the poll's
    events = events_of(evidence, flights)
    moved = reclassify_moves(events, poller.transitions, slack=poll + 1.0)
    attribute(events, poller.transitions, poll + 0.5, detection(topology))
    visible = registrations_visible(env)
    episodes = episodes_of(poller.samples, ended, visible)
    confirm_registered(episodes, events)
    delays = {
        t.id: g.deregistration_delay_seconds for g in topology.target_groups for t in g.targets
    }
    grace = env.deploy.shutdown_grace_seconds
    windows = windows_of(poller.samples, ended)
    judge(windows, watchers.crossbuild.probes if watchers.crossbuild else [])
    return Watched(
        env,
        out,
        topology.entry_url,
        evidence,
        poller,
        events,
        moved,
        drains=drains(
            episodes, events, flights, poller.samples, delays, grace, env.deploy.platform
        ),
        restarts=restarts(episodes, events),
        windows=windows,
        end=end_state(poller.samples),
        visible=visible,
    )
