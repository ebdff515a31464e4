"""The build each target serves, read from `expect.version` (a path, and a JSON pointer or a
header)."""

from __future__ import annotations

from typing import Any

from harness.profile.sections import Version
from harness.traffic.client import Route
from harness.traffic.contract import extract
from harness.traffic.site import Site


def build_named(response: Any, version: Version) -> str | None:
    """The build a response to `expect.version.path` names (its JSON pointer or header)."""
    return extract(response, version.spec()) if response.ok else None


def serving_builds(site: Site, version: Version, routes: dict[str, Route]) -> dict[str, str]:
    """Per target: the build it names, or `HTTP <status>` when it does not answer the path."""
    builds = {}
    for target, route in routes.items():
        response = site.user(f"build-{target}").request("GET", version.path, route=route)
        build = build_named(response, version)
        builds[target] = build or f"HTTP {response.status_code}"
    return builds
