"""`topology.route`: which listener and rule a request would take, so the checks test the target
groups that serve it, with the Host (and TLS SNI) and path that request carries."""

from __future__ import annotations

from typing import Any

from harness.errors import UsageError
from harness.profile.sections import Route
from harness.topology.aws.rules import RouteRequest, choose
from harness.topology.model import Listener, RouteMatch

DEFAULT_PORTS = {"HTTP": 80, "HTTPS": 443}


def entry_listener(listeners: list[Listener], route: Route | None) -> Listener | None:
    """The listener requests enter by: the route's, else the first HTTPS one, else the first."""
    wanted = route.listener if route else None
    if wanted is not None:
        found = next((li for li in listeners if li.port == int(wanted)), None)
        if found is None:
            have = ", ".join(f"{li.protocol}:{li.port}" for li in listeners) or "none"
            raise UsageError(
                f"topology.route.listener {wanted}: the load balancer has no such listener "
                f"(listeners: {have})"
            )
        return found
    https = [li for li in listeners if li.protocol == "HTTPS"]
    return next(iter(https or listeners), None)


def select(
    listener: Listener | None, raw_rules: dict[int, list[Any]], route: Route | None
) -> RouteMatch | None:
    """The rule the route takes on its listener; None when the profile names no route."""
    if not route or listener is None:
        return None
    request = RouteRequest(route.listener, route.host, route.path)
    rule, why, passed = choose(raw_rules.get(listener.port, []), request)
    priority = "default" if rule is None else str(rule.get("Priority"))
    chosen = next(r for r in listener.rules if r.priority == priority)
    if not chosen.target_groups:
        raise UsageError(
            f"topology.route {route.given()}: {why} on {listener.protocol}:{listener.port}, "
            f"whose action is {chosen.actions}: it forwards to no target group, so there is "
            "nothing to test"
        )
    return RouteMatch(
        listener=f"{listener.protocol}:{listener.port}",
        rule=priority,
        why=why,
        passed_over=passed,
        host=route.host,
        path=route.path,
    )


def entry_url(dns_name: str, listener: Listener | None, route: RouteMatch | None) -> str:
    """The listener's scheme and port (left out when it is the scheme's own), and the route's
    path as the base every request is sent under."""
    protocol = listener.protocol if listener else "HTTP"
    scheme = "https" if protocol == "HTTPS" else "http"
    port = listener.port if listener else DEFAULT_PORTS.get(protocol, 80)
    suffix = "" if port == DEFAULT_PORTS.get(protocol) else f":{port}"
    base = (route.path or "").rstrip("/") if route else ""
    return f"{scheme}://{dns_name}{suffix}{base}"
