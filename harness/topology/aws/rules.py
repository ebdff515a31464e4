"""Listener rules: what each matches and does, and which one a given request would take.

The ALB evaluates a listener's rules in priority order (lowest first) and the default action
last; a rule matches when every condition does. Host headers match case-insensitively, path
patterns case-sensitively, both with the wildcards `*` and `?`. Conditions on headers, methods,
query strings and source addresses are shown but cannot be matched from `topology.route`: a rule
that needs one is passed over, and said so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MATCHABLE = ("host-header", "path-pattern")


@dataclass(frozen=True)
class RouteRequest:
    """What `topology.route` says a request looks like."""

    listener: int | None = None
    host: str | None = None
    path: str | None = None


def _values(condition: dict[str, Any]) -> list[str]:
    field = condition.get("Field", "")
    config_key = {
        "host-header": "HostHeaderConfig",
        "path-pattern": "PathPatternConfig",
        "http-request-method": "HttpRequestMethodConfig",
        "source-ip": "SourceIpConfig",
    }.get(field)
    config = condition.get(config_key or "", {}) if config_key else {}
    if field == "http-header":
        cfg = condition.get("HttpHeaderConfig", {})
        return [f"{cfg.get('HttpHeaderName', '?')}: {v}" for v in cfg.get("Values", [])]
    if field == "query-string":
        pairs = condition.get("QueryStringConfig", {}).get("Values", [])
        return [f"{p.get('Key') or ''}={p.get('Value', '')}".lstrip("=") for p in pairs]
    return list(config.get("Values") or condition.get("Values") or [])


def describe_conditions(rule: dict[str, Any]) -> list[str]:
    return [f"{c.get('Field')} {' | '.join(_values(c))}" for c in rule.get("Conditions", [])]


def describe_actions(actions: Sequence[dict[str, Any]]) -> str:
    """The actions in order, e.g. `authenticate-oidc -> forward blue 90, green 10`."""
    parts = []
    for action in sorted(actions, key=lambda a: a.get("Order", 0)):
        kind = action.get("Type", "forward")
        if kind == "forward":
            groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
            if len(groups) > 1:
                weights = ", ".join(
                    f"{_short(g['TargetGroupArn'])} {g.get('Weight', 1)}" for g in groups
                )
                kind = f"forward {weights}"
        elif kind == "redirect":
            cfg = action.get("RedirectConfig") or {}
            kind = f"redirect {cfg.get('StatusCode', '')}".strip()
        elif kind == "fixed-response":
            cfg = action.get("FixedResponseConfig") or {}
            kind = f"fixed-response {cfg.get('StatusCode', '')}".strip()
        parts.append(kind)
    return " -> ".join(parts) or "none"


def _short(arn: str) -> str:
    """A target group's name from its ARN (targetgroup/NAME/id)."""
    parts = arn.split("/")
    return parts[-2] if len(parts) >= 3 else arn


def group_stickiness(actions: Sequence[dict[str, Any]]) -> int | None:
    """TargetGroupStickinessConfig's duration when enabled on the forward action, else None."""
    for action in actions:
        config = (action.get("ForwardConfig") or {}).get("TargetGroupStickinessConfig") or {}
        if action.get("Type") == "forward" and config.get("Enabled"):
            return int(config.get("DurationSeconds") or 0)
    return None


def _wildcard(pattern: str, value: str, *, fold: bool) -> bool:
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if fold else 0) is not None


def matches(rule: dict[str, Any], request: RouteRequest) -> tuple[bool, str]:
    """Whether the rule takes the request, and why (or why not)."""
    path = request.path or "/"
    for condition in rule.get("Conditions", []):
        field, values = condition.get("Field", ""), _values(condition)
        if field not in MATCHABLE:
            return False, f"needs {field} {' | '.join(values)} (not in topology.route)"
        if field == "host-header":
            if request.host is None:
                return False, f"needs host {' | '.join(values)} (topology.route.host is not set)"
            if not any(_wildcard(v, request.host, fold=True) for v in values):
                return False, f"host {request.host} is not {' | '.join(values)}"
        elif not any(_wildcard(v, path, fold=False) for v in values):
            return False, f"path {path} is not {' | '.join(values)}"
    said = ", ".join(describe_conditions(rule)) or "no condition"
    return True, f"matches {said}"


def priority_key(rule: dict[str, Any]) -> tuple[int, int]:
    priority = str(rule.get("Priority", "default"))
    return (1, 0) if priority == "default" else (0, int(priority))


def choose(
    rules: Sequence[dict[str, Any]], request: RouteRequest
) -> tuple[dict[str, Any] | None, str, list[str]]:
    """The rule the ALB would take (None: the default action), why, and the rules passed over
    with their reasons, in the ALB's order."""
    passed: list[str] = []
    for rule in sorted((r for r in rules if not r.get("IsDefault")), key=priority_key):
        taken, why = matches(rule, request)
        if taken:
            return rule, f"rule {rule.get('Priority')}: {why}", passed
        passed.append(f"rule {rule.get('Priority')}: {why}")
    return None, "default action: no rule matched", passed
