"""The drain rule: an app stopped at deregistration must outlive the deregistration delay.

Whether it applies depends on when the platform sends SIGTERM (`deploy.platform`). Kubernetes
removes a pod from the endpoints and sends SIGTERM at the same time, so the app must keep serving
for the whole delay: delay < grace. ECS stops a task, Auto Scaling terminates an instance and
CodeDeploy runs ApplicationStop only once the target has drained (deregistration delay elapsed):
there the delay never races the app's shutdown grace.
"""

from __future__ import annotations

SIGTERM_AT_DEREGISTRATION = ("kubernetes",)
AFTER_THE_DRAIN = {
    "ecs": "ECS stops a task (SIGTERM) once its targets have drained",
    "autoscaling": "Auto Scaling terminates an instance once it has drained from its groups",
    "codedeploy": "CodeDeploy's BlockTraffic drains the target before ApplicationStop",
}
PLATFORMS = (*SIGTERM_AT_DEREGISTRATION, *AFTER_THE_DRAIN)


def not_the_rule(platform: str | None) -> str | None:
    """Why the rule does not apply on `platform`, or None when it does."""
    if platform is None:
        return (
            "the profile gives no deploy.platform: the rule depends on when SIGTERM comes "
            f"(at deregistration on kubernetes; after the drain on {', '.join(AFTER_THE_DRAIN)})"
        )
    if platform in AFTER_THE_DRAIN:
        return f"{AFTER_THE_DRAIN[platform]}: the delay does not race the app's shutdown grace"
    return None


def grace_problem(
    group: str, delay: float, grace: float | None, platform: str | None = "kubernetes"
) -> str | None:
    """What is wrong when the deregistration delay is not below the app's shutdown grace on a
    platform that sends SIGTERM at deregistration; None when it is, or nothing to compare."""
    if grace is None or delay < grace or not_the_rule(platform):
        return None
    return (
        f"{group}: deregistration delay {delay:g} s, the app's shutdown grace "
        f"(deploy.shutdown_grace_seconds) {grace:g} s: on {platform} an instance gets SIGTERM "
        "when it is deregistered and exits while the balancer still drains it, cutting "
        "requests in flight"
    )


def grace_verdict(delay: float, grace: float | None, platform: str | None = "kubernetes") -> str:
    """One line for a drain's report: the rule, held or broken, or why it was not checked."""
    if grace is None:
        return "not checked: the profile gives no deploy.shutdown_grace_seconds"
    why = not_the_rule(platform)
    if why:
        return f"not checked: {why}"
    held = "holds" if delay < grace else "BROKEN"
    return f"deregistration delay {delay:g} s < shutdown grace {grace:g} s: {held}"
