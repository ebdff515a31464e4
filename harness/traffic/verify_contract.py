"""Is the session contract right? Log in, write and read once on each healthy target.

If that fails on every target with a 4xx or a wrong read, the contract (a path, a body, an
expected status) is wrong, not the deployment: a ContractError (exit 2) naming the step, the
request and the status. If every target answers a step with a 5xx, the deployment is failing: a
DeploymentFinding `[server-error]` (exit 1) with the same evidence. If it works on at
least one target, what fails elsewhere is left to the checks, which name the fault.
"""

from __future__ import annotations

import contextlib

import requests

from harness.errors import ContractError, DeploymentFinding
from harness.findings import message
from harness.traffic.client import Route, VirtualUser
from harness.traffic.contract import SessionDriver, StepFailed
from harness.traffic.site import Site
from harness.where import raised_where

PROBE_KEY, PROBE_VALUE = "parity-contract", "probe"


def _try(site: Site, driver: SessionDriver, target: str) -> tuple[str, bool] | None:
    """None when login, write and read work on `target`, else what went wrong and whether the
    server failed (a 5xx, or no answer) rather than the contract."""
    user = site.user(f"contract-{target}")
    route = site.route(target)
    try:
        driver.login(user, 0, route)
        driver.write(user, PROBE_KEY, PROBE_VALUE, route)
        value = driver.read(user, PROBE_KEY, route)
    except StepFailed as failed:
        return f"{failed} ({failed.request or 'request unknown'})", failed.status >= 500
    except requests.RequestException as exc:  # unreachable from here: not the app's 5xx
        return f"no answer: {type(exc).__name__}", False
    except Exception as exc:  # the user's SessionDriver: its bug, named where it was raised
        return f"the session driver raised {raised_where(exc)}", False
    finally:
        _log_out(driver, user, route)
    if value != PROBE_VALUE:
        return (
            f"read returned {value!r} right after writing {PROBE_VALUE!r} on the same target",
            False,
        )
    return None


def _log_out(driver: SessionDriver, user: VirtualUser, route: Route | None) -> None:
    """The probe's session is ended where the contract allows it (a failure here is not news)."""
    with contextlib.suppress(Exception):
        driver.logout(user, route)


def verify_contract(site: Site, driver: SessionDriver, targets: list[str], source: str) -> None:
    """ContractError when the contract works on none of `targets`; DeploymentFinding when every
    target fails it with a server error."""
    problems = {}
    for target in targets:
        problem = _try(site, driver, target)
        if problem is None:
            return
        problems[target] = problem
    listing = "; ".join(f"on {t}: {p}" for t, (p, _) in problems.items())
    if all(server for _, server in problems.values()):
        raise DeploymentFinding(
            message(
                "server-error",
                f"the session contract fails on every target with a server error: {listing}: "
                "the deployment is failing, not the profile",
                site.trace_text(),
            )
        )
    raise ContractError(
        f"the session contract of {source} works on no target: {listing}; check its "
        "session: steps (or the SessionDriver)"
    )
