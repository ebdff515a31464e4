"""The drain rule: an app stopped at deregistration must outlive the deregistration delay."""

from __future__ import annotations


def grace_problem(group: str, delay: float, grace: float | None) -> str | None:
    """What is wrong when the deregistration delay is not below the app's shutdown grace; None
    when it is (or when the profile gives no grace: nothing to compare)."""
    if grace is None or delay < grace:
        return None
    return (
        f"{group}: deregistration delay {delay:g} s, the app's shutdown grace "
        f"(deploy.shutdown_grace_seconds) {grace:g} s: an instance stopped when it is "
        "deregistered exits while the balancer still drains it, cutting requests in flight"
    )


def grace_verdict(delay: float, grace: float | None) -> str:
    """One line for a drain's report: the rule, held or broken, or why it was not checked."""
    if grace is None:
        return "not checked: the profile gives no deploy.shutdown_grace_seconds"
    held = "holds" if delay < grace else "BROKEN"
    return f"deregistration delay {delay:g} s < shutdown grace {grace:g} s: {held}"
