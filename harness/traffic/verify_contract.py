"""Is the session contract right? Log in, write and read once on each healthy target.

If that fails on every target, the contract (a path, a body, an expected status) is wrong, not the
deployment: a ContractError (exit 2) naming the step, the request and the status. If it works on
at least one target, what fails elsewhere is left to the checks, which name the fault.
"""

from __future__ import annotations

import requests

from harness.errors import ContractError
from harness.traffic.contract import SessionDriver, StepFailed
from harness.traffic.site import Site

PROBE_KEY, PROBE_VALUE = "parity-contract", "probe"


def _try(site: Site, driver: SessionDriver, target: str) -> str | None:
    """None when login, write and read work on `target`, else what went wrong."""
    user = site.user(f"contract-{target}")
    route = site.route(target)
    try:
        driver.login(user, 0, route)
        driver.write(user, PROBE_KEY, PROBE_VALUE, route)
        value = driver.read(user, PROBE_KEY, route)
    except StepFailed as failed:
        return f"{failed} ({failed.request or 'request unknown'})"
    except requests.RequestException as exc:
        return f"no answer: {type(exc).__name__}"
    if value != PROBE_VALUE:
        return f"read returned {value!r} right after writing {PROBE_VALUE!r} on the same target"
    return None


def verify_contract(site: Site, driver: SessionDriver, targets: list[str], source: str) -> None:
    """ContractError when the contract works on none of `targets`."""
    problems = {}
    for target in targets:
        problem = _try(site, driver, target)
        if problem is None:
            return
        problems[target] = problem
    listing = "; ".join(f"on {t}: {p}" for t, p in problems.items())
    raise ContractError(
        f"the session contract of {source} works on no target: {listing}; check its "
        "session: steps (or the SessionDriver)"
    )
