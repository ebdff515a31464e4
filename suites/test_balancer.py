"""What the balancer changes: keep-alive races, TLS termination, the client address, idle timeouts.

Direct access is not balancer access: the balancer reuses idle connections to the targets for up
to its idle timeout, terminates TLS (the app sees plain http unless it reads X-Forwarded-Proto),
connects from its own address and answers 504 to a request that outlives its idle timeout.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from harness.errors import DeploymentFinding, NotApplicable
from harness.findings import fail
from harness.profile.environment import Environment
from harness.topology.model import Topology
from harness.traffic.contract import SessionDriver
from harness.traffic.cookies import SetCookie
from harness.traffic.forwarded import is_private, seen_address
from harness.traffic.keepalive import KeepAlive, balancer_idle_timeout, idle_keepalive, paced_run
from harness.traffic.redirects import bad_locations, follow
from harness.traffic.site import Site, verify_of

MEASURE_MARGIN = 2.0  # a target's keep-alive is measured up to the idle timeout plus this
WAIT_VARIABLE = "PARITY_KEEPALIVE_WAIT"  # seconds the keep-alive check waits at most
WAIT_LIMIT = 6.0  # catches the usual defaults (gunicorn 2 s, Node and uvicorn 5 s) quickly
PACED_REQUESTS = 30
PACE_PAST = 0.1  # the paced load's requests come this long after the target's keep-alive
PACE_SPREAD = 1.0  # ... and up to this much later (gunicorn's gthread worker, say, looks at its
# idle connections once a second, so it closes them up to a second after its keep-alive)


def _idle_timeout(environment: Environment, topology: Topology) -> tuple[float, str]:
    """The balancer's idle timeout and where it came from (`balancer_idle_timeout`), or not
    applicable saying why."""
    idle, why = balancer_idle_timeout(environment.expect, topology.load_balancer.attributes)
    if idle is None:
        pytest.skip(f"not applicable: {why} ({topology.provider})")
    return idle, why


def _https_entry(environment: Environment, topology: Topology) -> str:
    """The HTTPS entry: the profile's https:// URL or `expect.https_entry`, or the balancer's
    HTTPS listener."""
    if topology.entry_url.startswith("https://"):
        return topology.entry_url.rstrip("/")
    if environment.expect.https_entry:
        return str(environment.expect.https_entry).rstrip("/")
    host = urlsplit(topology.entry_url).hostname
    port = next((x.port for x in topology.load_balancer.listeners if x.protocol == "HTTPS"), None)
    if port is None or host is None:
        pytest.skip(
            "not applicable: no HTTPS entry (the profile's url is http and the balancer shows "
            "no HTTPS listener), so nothing here terminates TLS in front of the app"
        )
    return f"https://{host}:{port}"


def _measure(topology: Topology, path: str, bound: float) -> list[tuple[str, KeepAlive]]:
    direct = [(t.id, t.direct_url) for t in topology.healthy_targets() if t.direct_url]
    if not direct:
        pytest.skip("not applicable: no target has a direct URL to measure its keep-alive on")
    with ThreadPoolExecutor(max_workers=len(direct)) as pool:
        found = pool.map(lambda d: idle_keepalive(f"{d[1].rstrip('/')}{path}", bound), direct)
        return [(tid, ka) for (tid, _), ka in zip(direct, found, strict=True)]


def _sticky_to(site: Site, target: str) -> dict[str, str]:
    """The sticky cookies that keep the paced load on `target`, so its idle connections are the
    ones reused just past its keep-alive (none where the balancer pins no fresh client)."""
    try:
        return site.pin(target).cookies
    except (NotApplicable, DeploymentFinding):  # stickiness is its own check's finding
        return {}


@pytest.mark.parity(
    title="Targets keep connections open past the balancer's idle timeout",
    why="The balancer reuses idle connections for its idle timeout; a target closing them sooner "
    "races it: intermittent 502s.",
)
def test_targets_outlast_the_balancer_idle_timeout(
    environment: Environment, topology: Topology, site: Site, evidence: dict[str, Any]
) -> None:
    idle, source = _idle_timeout(environment, topology)
    path = environment.expect.health_check.path or "/"
    bound = min(idle + MEASURE_MARGIN, float(os.environ.get(WAIT_VARIABLE) or WAIT_LIMIT))
    measured = _measure(topology, path, bound)
    evidence["keepalive"] = {
        "idle_timeout_seconds": idle,
        "idle_timeout_from": source,
        "waited_seconds": bound,
        "targets": {tid: ka.seconds for tid, ka in measured},
    }
    short = [(tid, ka) for tid, ka in measured if ka.seconds and ka.seconds < idle]
    if not short:
        if bound < idle:
            pytest.skip(
                f"not enough evidence: every target kept its connection past {bound:g} s, the "
                f"balancer keeps them {idle:g} s; {WAIT_VARIABLE}={idle + MEASURE_MARGIN:g} "
                "waits it out"
            )
        return
    quickest, shortest = min(short, key=lambda s: s[1].seconds or 0.0)
    run = paced_run(
        f"{topology.entry_url.rstrip('/')}{path}",
        (shortest.seconds or 0.0) + PACE_PAST,
        PACED_REQUESTS,
        environment.identity.header or "X-Instance-Id",
        verify_of(environment, topology),
        _sticky_to(site, quickest),
        PACE_SPREAD,
    )
    evidence["paced_run"] = {
        "gap_seconds": run.gap_seconds,
        "spread_seconds": run.spread_seconds,
        "outcomes": dict(run.outcomes),
    }
    listing = "; ".join(f"{tid} {ka.describe()}" for tid, ka in measured)
    fail(
        "keepalive-race",
        ", ".join(f"{tid} closes idle connections after {ka.seconds:.1f} s" for tid, ka in short)
        + f", the balancer keeps them {idle:g} s (its idle timeout): make the target's "
        f"keep-alive longer than {idle:g} s (gunicorn --keep-alive, Node "
        "server.keepAliveTimeout), or the balancer's idle timeout shorter",
        f"  {listing}\n  {run.describe()}",
    )


@pytest.mark.parity(
    title="Redirects over the HTTPS entry stay on https and the balancer",
    why="Behind TLS termination an app ignoring X-Forwarded-Proto loops to https, or redirects to "
    "http:// or its own address.",
)
def test_redirects_stay_on_https_and_the_balancer(
    environment: Environment, topology: Topology, evidence: dict[str, Any]
) -> None:
    entry, verify = _https_entry(environment, topology), verify_of(environment, topology)
    internal = {f"{t.address}:{t.port}" for t in topology.targets if t.port}
    chains = []
    with requests.Session() as session:
        for path in environment.expect.redirect_paths or ("/",):
            chains.append(follow(session, f"{entry}{path}", verify))
    evidence["redirects"] = {c.start: [h.location for h in c.hops] for c in chains}
    for chain in chains:
        if bad := bad_locations(chain, internal):
            fail(
                "internal-redirect",
                f"GET {chain.start} redirects to {bad[0]}: build redirects from "
                "X-Forwarded-Proto/Host (or relative ones), never from the instance's address",
                chain.describe(),
            )
        if chain.loop or chain.cut:
            how = "a URL came back" if chain.loop else f"{len(chain.hops)} hops and no end"
            fail(
                "redirect-loop",
                f"GET {chain.start}: the redirects never end ({how}); an app that ignores "
                "X-Forwarded-Proto sees http behind TLS termination and redirects to https again",
                chain.describe(),
            )


@pytest.mark.parity(
    title="The session cookie is Secure over the HTTPS entry",
    why="Behind TLS termination the app sees http; deciding Secure from that, it sends the session "
    "cookie without Secure.",
)
def test_session_cookie_is_secure_over_https(
    environment: Environment, topology: Topology, site: Site, session_driver: SessionDriver
) -> None:
    user = site.user("https-user", own_trace=True)
    user.base_url = _https_entry(environment, topology)
    session_driver.login(user, 1)
    name = environment.session.cookie if environment.session else "session"
    twin = environment.expect.cookie.cors_name  # AWSALBCORS: Secure
    issued = [SetCookie.parse(c) for r in user.trace for c in r.set_cookies]
    cookie = next((c for c in reversed(issued) if c.name == name), None)
    if cookie is None:
        pytest.skip(f"not applicable: no {name} cookie was set at login over https")
    bare = [c.name for c in issued if c.name in (name, twin) and not c.has("secure")]
    if bare:
        fail(
            "insecure-cookie",
            f"the {' and '.join(sorted(set(bare)))} cookie set at login over {user.base_url} has "
            "no Secure attribute: the app decides it from the scheme it sees (http behind the "
            "balancer)",
            user.trace_text(),
        )


@pytest.mark.parity(
    title="The app sees the caller's address, not the balancer's",
    why="An app that takes the balancer's address for the client's applies per-IP limits and "
    "lockouts to every user at once.",
)
def test_app_sees_the_callers_address(
    environment: Environment, topology: Topology, evidence: dict[str, Any]
) -> None:
    spec = environment.expect.client_ip
    if not spec:
        pytest.skip("not applicable: the profile names no endpoint that echoes the client address")
    url = f"{topology.entry_url.rstrip('/')}{spec.path}"
    try:
        seen = [seen_address(url, spec.json or "/ip") for _ in range(4)]
    except (KeyError, ValueError) as exc:
        pytest.skip(f"not applicable: {url} did not answer JSON at {spec.json}: {exc}")
    evidence["client_ip"] = [{"caller": c, "seen": s} for c, s in seen]
    for caller, address in seen:
        wrong = address != caller if is_private(caller) else bool(address and is_private(address))
        if wrong:
            fail(
                "trusts-balancer-ip",
                f"the app at {spec.path} sees {address} for a caller at {caller}: it takes the "
                "balancer's address for the client's; trust X-Forwarded-For (one hop: the "
                "balancer's entry) instead",
            )


@pytest.mark.parity(
    title="The longest request ends within the balancer's idle timeout",
    why="A balancer answers 504 to a request silent for longer than its idle timeout, though the "
    "app answers it direct.",
)
def test_longest_request_within_idle_timeout(
    environment: Environment, topology: Topology, evidence: dict[str, Any]
) -> None:
    spec = environment.expect.longest_request
    if not spec:
        pytest.skip("not applicable: the profile names no longest request (expect.longest_request)")
    idle, source = _idle_timeout(environment, topology)
    url = f"{topology.entry_url.rstrip('/')}{spec.path}"
    started = time.monotonic()
    status = requests.get(url, timeout=idle + 30, verify=verify_of(environment, topology))
    took = time.monotonic() - started
    evidence["longest_request"] = {
        "status": status.status_code,
        "seconds": round(took, 2),
        "idle_timeout_seconds": idle,
        "idle_timeout_from": source,
    }
    declared = float(spec.seconds or 0)
    if status.status_code == 504 or max(took, declared) >= idle:
        fail(
            "idle-timeout",
            f"GET {spec.path} took {took:.1f} s (HTTP {status.status_code}; declared "
            f"{declared:g} s) against the balancer's idle timeout of {idle:g} s: raise the idle "
            "timeout, or stream or poll the long work",
        )
