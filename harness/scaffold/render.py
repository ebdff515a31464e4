"""The profile `parity init` writes: each value commented with where it came from, the session
contract the framework's recipe (or a skeleton marked as a guess), every secret a `${VAR}`,
safety conservative; and the JSON schema beside it for editors."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.profile.environment import Environment, parse_profile, variables_in
from harness.profile.schema import profile_json_schema
from harness.scaffold.line import Line
from harness.scaffold.realtime import realtime_lines
from harness.scaffold.session import session_lines
from harness.scaffold.source import Source, aws_topology
from harness.topology.model import Topology

SCHEMA_FILE = "parity-profile.schema.json"

BALANCER_COOKIES = {"AWSALB": "alb", "lb": "caddy", "SERVERID": "haproxy"}


def _balancer(source: Source, cookies: list[str]) -> tuple[str, str | None, str]:
    """The balancer kind, its cookie name when not the default, and why."""
    if source.kind in ("aws", "replica"):
        return "alb", None, f"the {source.kind} provider is an Application Load Balancer"
    for cookie in cookies:
        if cookie in BALANCER_COOKIES:
            kind = BALANCER_COOKIES[cookie]
            named = cookie if kind == "haproxy" else None
            return kind, named, f"guess: the entry set a {cookie} cookie"
    return "generic", None, "no known sticky cookie on the entry's answer (nginx sets none)"


def _targets(healthy: int, where: str) -> Line:
    """expect.targets as observed; with no healthy target, at least one (0 is never valid)."""
    if not healthy:
        return Line(1, "targets", {"min": 1}, f"observed: no healthy target on {where}")
    return Line(
        1,
        "targets",
        healthy,
        f"observed: {healthy} healthy targets on {where} (a scaling group: {{min: N, max: M}})",
    )


def _expect(source: Source, topology: Topology, http: dict[str, Any]) -> list[Line]:
    group = topology.target_groups[0] if topology.target_groups else None
    healthy = topology.healthy_targets()
    where = f"{topology.load_balancer.name}"
    lines = [Line(0, "expect"), _targets(len(healthy), where)]
    kind, cookie, why = _balancer(source, http["cookies"])
    lines.append(Line(1, "balancer", kind, why))
    if cookie:
        lines.append(Line(1, "cookie", {"name": cookie}, "observed on the entry's answer"))
    if source.kind == "static" and group is not None:
        hc = group.health_check
        lines.append(
            Line(1, "health_check", {"path": hc.path, "matcher": hc.matcher}, source.health_note)
        )
    if group is not None and source.kind != "static":
        s, hc = group.stickiness, group.health_check
        lines += [
            Line(
                1,
                "stickiness",
                {
                    "enabled": s.enabled,
                    "type": s.type,
                    "duration_seconds": s.duration_seconds,
                    **({"cookie_name": s.cookie_name} if s.type == "app_cookie" else {}),
                },
                f"observed: target group {group.name}",
            ),
            Line(
                1,
                "deregistration_delay_seconds",
                group.deregistration_delay_seconds,
                f"observed: target group {group.name}",
            ),
            Line(
                1,
                "health_check",
                {
                    "path": hc.path,
                    "interval_seconds": hc.interval_seconds,
                    "healthy_threshold": hc.healthy_threshold,
                    "unhealthy_threshold": hc.unhealthy_threshold,
                    "matcher": hc.matcher,
                },
                f"observed: target group {group.name}",
            ),
            Line(1, "algorithm", group.algorithm, f"observed: target group {group.name}"),
        ]
    if http["version"]:
        lines.append(
            Line(1, "version", http["version"], f"observed: GET {http['version']['path']}")
        )
    lines.append(Line(1, "error_budget", 0, "no failed request is tolerated during a drain"))
    return lines


def _topology(source: Source) -> list[Line]:
    if source.kind == "replica":
        return [Line(0, "topology", {"provider": "replica"})]
    if source.kind == "static":
        targets = [{"id": i, "url": u} for i, u in source.targets]
        return [
            Line(0, "url", source.url),
            Line(0, "topology", {"provider": "static", "targets": targets}),
            Line(
                0,
                None,
                comment="to drain: topology.drain (adapter: haproxy or command; "
                "docs/guides/your-repo.md)",
            ),
        ]
    return [Line(0, "topology", aws_topology(source))]


def render_profile(
    name: str, production: bool, source: Source, topology: Topology, http: dict[str, Any]
) -> str:
    """The profile's text."""
    identity = http["identity"]
    lines = [
        Line(0, None, comment=f"yaml-language-server: $schema={SCHEMA_FILE}"),
        Line(0, None, comment=f"Written by `parity init {name}` from what the environment said."),
        Line(0, "name", name),
        Line(0, "production", production, "true: disruptive runs must name it"),
        *_topology(source),
        Line(
            0,
            "identity",
            {"header": identity} if identity else None,
            "observed on the entry's answer"
            if identity
            else "give the header (or JSON pointer) that names the instance",
        ),
        *_expect(source, topology, http),
        *session_lines(source, http),
        *realtime_lines(http.get("realtime")),
        Line(
            0,
            "safety",
            {"allow_disruptive": source.kind == "replica", "max_users": 50, "max_rps": 100},
            "conservative: draining needs allow_disruptive and --allow-disruptive",
        ),
    ]
    return "\n".join(line.render() for line in lines if line.key or line.comment) + "\n"


def write_profile(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    (folder / SCHEMA_FILE).write_text(json.dumps(profile_json_schema(), indent=1, sort_keys=True))
    return path


def readable(text: str, source: str) -> Environment:
    """What init writes, it can read, once its `${VAR}`s are set (the user sets them: the
    credentials, the store's URL)."""
    unset = variables_in(text) - set(os.environ)
    try:
        os.environ.update({n: "set-by-the-user" for n in unset})
        return parse_profile(text, source)
    finally:
        for variable in unset:
            os.environ.pop(variable, None)


def session_note(text: str) -> str:
    """What the user does next about sessions, from the profile init wrote."""
    if "\nsession:" not in text:
        return "complete its session: section (a skeleton, commented) to check sessions"
    values = "\n".join(
        line.split("  # ")[0] for line in text.splitlines() if not line.lstrip().startswith("#")
    )
    variables = sorted(variables_in(values))
    return f"set {', '.join(variables)} before a check (the session recipe and store need them)"
