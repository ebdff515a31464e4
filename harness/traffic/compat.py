"""Two builds side by side: which targets serve which build, sessions carried across them, and
the assets each build's pages reference."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from harness.errors import DeploymentFinding, NotApplicable
from harness.profile.sections import Assets, Version
from harness.traffic.builds import serving_builds
from harness.traffic.client import Route, VirtualUser
from harness.traffic.contract import SessionDriver, StepFailed
from harness.traffic.site import Site


@dataclass(frozen=True)
class Side:
    """One target of one environment, with the build it serves and a route to it."""

    site: Site
    target: str
    build: str  # "" when the profile gives no expect.version
    route: Route
    where: str = ""  # the environment's name when it is --previous-env

    @property
    def label(self) -> str:
        """`app-1 (build-1)`, `app-2 (build-0, blue-env)`: the target, its build and where."""
        notes = ", ".join(n for n in (self.build, self.where) if n)
        return f"{self.target} ({notes})" if notes else self.target


def sides_of(site: Site, version: Version | None, where: str = "") -> list[Side]:
    """Every healthy target of `site`, with the build it names when there is `expect.version`
    ("" for a target that does not answer it)."""
    routes = {t.id: site.route(t.id) for t in site.topology.healthy_targets()}
    if not version:
        return [Side(site, t, "", route, where) for t, route in routes.items()]
    builds = serving_builds(site, version, routes)
    return [
        Side(site, t, "" if b.startswith("HTTP ") else b, routes[t], where)
        for t, b in builds.items()
    ]


def one_per_build(sides: list[Side]) -> dict[str, Side]:
    """A target for each build, the first one met (targets that named none left out)."""
    chosen: dict[str, Side] = {}
    for side in sides:
        if side.build:
            chosen.setdefault(side.build, side)
    return chosen


def _step(call: Any) -> str | None:
    """None when the step worked, else what went wrong ("HTTP 500 on GET /session")."""
    try:
        call()
    except StepFailed as failed:
        return f"HTTP {failed.status} on {failed.request or failed.step}"
    except requests.RequestException as exc:
        return f"no response ({type(exc).__name__})"
    return None


def cross_build_problems(driver: SessionDriver, writer: Side, reader: Side, n: int) -> list[str]:
    """A session made on `writer`'s build read, written and logged out on `reader`'s, and read
    back on the writer's: each step that failed, naming the direction."""
    a, b = writer.build, reader.build
    user = writer.site.user(f"compat-{a}-to-{b}")
    value, back = f"{a}-{secrets.token_hex(3)}", f"{b}-{secrets.token_hex(3)}"
    made = _step(lambda: driver.login(user, n, writer.route))
    made = made or _step(lambda: driver.write(user, "compat", value, writer.route))
    if made:
        return [f"a session could not be made on {writer.label}: {made}"]
    problems = []
    seen, failed = _read(driver, user, "compat", reader.route)
    if failed:
        problems.append(f"sessions written by {a} are unreadable on {b}: {failed}")
    elif seen != value:
        problems.append(f"sessions written by {a} lose their data on {b} (read {seen!r})")
    wrote = _step(lambda: driver.write(user, "compat_back", back, reader.route))
    if wrote:
        problems.append(f"sessions made on {a} cannot be written on {b}: {wrote}")
    else:
        seen, failed = _read(driver, user, "compat_back", writer.route)
        if failed or seen != back:
            problems.append(
                f"a session {b} wrote into is unreadable on {a}: {failed or f'read {seen!r}'}"
            )
    ended = _step(lambda: driver.logout(user, reader.route))
    if ended:
        problems.append(f"logging out on {b} of a session made on {a} failed: {ended}")
    else:
        seen, failed = _read(driver, user, "compat", writer.route)
        if not failed and seen == value:
            problems.append(f"logging out on {b} did not end the session on {a}")
    return problems


GATEWAY_ERRORS = ("HTTP 502 ", "HTTP 503 ", "HTTP 504 ")


def unanswered(problem: str) -> bool:
    """Whether a problem `cross_build_problems` reported says nothing about the builds: a step
    without a response, a gateway error, or no session made on the writer (a target going away
    in the middle of the probe, as during a deploy)."""
    return (
        "no response (" in problem
        or any(g in problem for g in GATEWAY_ERRORS)
        or problem.startswith("a session could not be made on ")
    )


def _read(
    driver: SessionDriver, user: VirtualUser, key: str, route: Route
) -> tuple[str | None, str | None]:
    got: list[str | None] = []
    failed = _step(lambda: got.append(driver.read(user, key, route)))
    return (got[0] if got else None), failed


# ---- assets ---------------------------------------------------------------------------------
def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def same_origin_path(url: str, entry_url: str) -> str | None:
    """The path of an asset URL served by the app itself (relative, or on the entry host);
    None for another host's (a CDN's)."""
    parts = urlsplit(url)
    if parts.scheme and parts.netloc and parts.netloc != urlsplit(entry_url).netloc:
        return None
    if not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def referenced_assets(side: Side, assets: Assets) -> tuple[set[str], list[str]]:
    """The asset paths `side`'s pages (and manifest) reference, and what could not be read."""
    user = side.site.user(f"assets-{side.target}")
    found: set[str] = set()
    unread: list[str] = []
    pattern = re.compile(assets.pattern or "$^")
    for page in assets.pages or ():
        response = user.request("GET", page, route=side.route)
        if response.status_code != 200:
            unread.append(f"{page} answered {response.status_code} on {side.label}")
            continue
        for match in pattern.finditer(response.text):
            found.add(match.group(1) if pattern.groups else match.group(0))
    manifest = assets.manifest
    if manifest:
        response = user.request("GET", manifest, route=side.route)
        try:
            found.update(_strings(response.json()) if response.status_code == 200 else [])
        except ValueError:
            unread.append(f"{manifest} on {side.label} is not JSON")
        if response.status_code != 200:
            unread.append(f"{manifest} answered {response.status_code} on {side.label}")
    entry = side.site.topology.entry_url
    return {p for url in found if (p := same_origin_path(url, entry))}, unread


def asset_route(side: Side) -> Route:
    """How a browser on `side`'s target reaches an asset: through the balancer, pinned to the
    target by its sticky cookie, so a path the balancer sends to a CDN or a bucket is asked
    there; the side's own route where the balancer pins no client by a cookie."""
    if not side.route.direct:
        return side.route
    try:
        pinned = side.site.pin(side.target)
    except (NotApplicable, DeploymentFinding):  # no client lands there: stickiness's finding
        return side.route
    return pinned if pinned.cookies else side.route


def asset_status(side: Side, path: str, route: Route | None = None) -> str:
    """`200`, another status, or the error of a GET of `path` on `side` (by `route`)."""
    user = side.site.user(f"asset-{side.target}")
    try:
        return str(user.request("GET", path, route=route or side.route).status_code)
    except requests.RequestException as exc:
        return type(exc).__name__


def asset_report(sides: list[Side], assets: Assets) -> dict[str, Any]:
    """Per side the assets its pages reference; per asset the sides that do not serve it."""
    referenced: dict[str, set[str]] = {}
    unread: list[str] = []
    for side in sides:
        paths, problems = referenced_assets(side, assets)
        referenced[side.label] = paths
        unread += problems
    every = sorted(set().union(*referenced.values())) if referenced else []
    routes = {side.label: asset_route(side) for side in sides} if every else {}
    missing: dict[str, dict[str, str]] = {}
    for path in every:
        for side in sides:
            status = asset_status(side, path, routes[side.label])
            if status != "200":
                missing.setdefault(path, {})[side.label] = status
    return {
        "referenced": {k: sorted(v) for k, v in referenced.items()},
        "assets": every,
        "fetched": {
            label: "directly" if r.direct else "through the balancer" for label, r in routes.items()
        },
        "missing": missing,
        "unread": unread,
        "skewed": len({frozenset(v) for v in referenced.values()}) > 1,
    }


def describe_missing(report: dict[str, Any]) -> str:
    """`/static/app.1.js (referenced by app-2 (build-2)) answers 404 on app-1 (build-1); ...`"""
    parts = []
    for path, where in report["missing"].items():
        by = [side for side, paths in report["referenced"].items() if path in paths]
        on = ", ".join(f"{status} on {side}" for side, status in where.items())
        parts.append(f"{path} (referenced by {', '.join(by)}) answers {on}")
    return "; ".join(parts)


def manifest_text(report: dict[str, Any]) -> str:
    return "\n".join(
        f"  {side}: {', '.join(paths)}" for side, paths in report["referenced"].items()
    )
