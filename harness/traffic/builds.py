"""The build each target serves, read from `expect.version` (a path, and a JSON pointer or a
header)."""

from __future__ import annotations

from typing import Any

from harness.traffic.client import Route
from harness.traffic.contract import extract
from harness.traffic.site import Site


def build_named(response: Any, version: dict[str, Any]) -> str | None:
    """The build a response to `expect.version.path` names (its JSON pointer or header)."""
    spec = {k: version[k] for k in ("json", "header") if version.get(k)} or {"json": "/build"}
    return extract(response, spec) if response.ok else None


def serving_builds(site: Site, version: dict[str, Any], routes: dict[str, Route]) -> dict[str, str]:
    """Per target: the build it names, or `HTTP <status>` when it does not answer the path."""
    builds = {}
    for target, route in routes.items():
        response = site.user(f"build-{target}").request("GET", version["path"], route=route)
        build = build_named(response, version)
        builds[target] = build or f"HTTP {response.status_code}"
    return builds
