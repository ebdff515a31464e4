"""Compatibility: two builds side by side, as during a rolling deploy or after a rollback.

Sessions made on each build work on the other, in both directions, and every asset a page
references is served by every target. The builds come from the targets (`expect.version`: a
replica started with `--builds`, or target groups on two builds) and from `--previous-env`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from itertools import permutations
from typing import Any

import pytest

from harness.errors import NothingToCheck, ParityError
from harness.findings import fail
from harness.profile.environment import Environment
from harness.topology import load_environment, open_environment
from harness.traffic.compat import (
    Side,
    asset_report,
    cross_build_problems,
    describe_missing,
    manifest_text,
    one_per_build,
    sides_of,
)
from harness.traffic.contract import SessionDriver
from harness.traffic.site import Site


@pytest.fixture(scope="module")
def previous_site(pytestconfig: pytest.Config) -> Iterator[Site | None]:
    """The `--previous-env` environment (the build before), opened for this module."""
    name = pytestconfig.getoption("previous_env", None)
    if not name:
        yield None
        return
    try:
        env = load_environment(name)
    except ParityError as exc:
        raise pytest.UsageError(f"--previous-env: {exc}") from exc
    with ExitStack() as stack:
        try:
            provider = stack.enter_context(open_environment(env))
        except ParityError as exc:
            pytest.exit(f"parity: cannot reach --previous-env {name}: {exc}", returncode=3)
        yield Site(env, provider.resolve())


@pytest.fixture(scope="module")
def sides(site: Site, previous_site: Site | None, environment: Environment) -> list[Side]:
    """Every healthy target of the environment (and of --previous-env) with its build."""
    version = environment.expect.version
    if not version:
        pytest.skip("no expect.version in the profile: the build of each target is unknown")
    found = sides_of(site, version)
    if previous_site is not None:
        own = previous_site.env.expect.version or version
        found += sides_of(previous_site, own, where=previous_site.env.name)
    return found


@pytest.mark.parity(
    title="Sessions made on each build work on the other",
    why="During a rolling deploy or a rollback two builds serve the same users at once.",
)
def test_sessions_work_across_builds(
    sides: list[Side], session_driver: SessionDriver, evidence: dict[str, Any]
) -> None:
    builds = one_per_build(sides)
    evidence["builds"] = {side.label: side.build for side in sides}
    if len(builds) < 2:
        listing = (
            ", ".join(f"{s.target} {s.build or 'names no build'}" for s in sides) or "no target"
        )
        pytest.skip(
            f"not applicable: one build is reachable ({listing}); give two: a replica with "
            "--builds current,previous, --previous-env NAME, or target groups on two builds"
        )
    problems: list[str] = []
    for n, (a, b) in enumerate(permutations(builds.values(), 2), start=1):
        problems += cross_build_problems(session_driver, a, b, 40 + n)
    if problems:
        trace = "\n".join(s.site.trace_text(10) for s in {id(s.site): s for s in sides}.values())
        fail("session-format", "; ".join(problems), trace)


@pytest.mark.parity(
    title="Every asset a page references is served by every target",
    why="A page of one build asking an instance on another for its hashed chunks gets 404.",
)
def test_every_asset_is_served_by_every_target(
    environment: Environment, site: Site, previous_site: Site | None, evidence: dict[str, Any]
) -> None:
    assets = environment.expect.assets
    if not assets:
        pytest.skip("no expect.assets in the profile (pages and a pattern, or a manifest)")
    version = environment.expect.version  # to name each target's build, if known
    everyone = sides_of(site, version)
    if previous_site is not None:
        own = previous_site.env.expect.version or version
        everyone += sides_of(previous_site, own, where=previous_site.env.name)
    report = asset_report(everyone, assets)
    evidence["assets"] = report
    if not report["assets"]:
        unread = "; ".join(report["unread"]) or "the pattern matched nothing"
        raise NothingToCheck(f"expect.assets found no asset URL in the pages: {unread}")
    if report["missing"]:
        fault = "version-skew" if report["skewed"] else "missing-asset"
        what = describe_missing(report)
        if report["skewed"]:
            what = f"targets' pages reference different assets (builds differ): {what}"
        fail(fault, what, manifest_text(report))
