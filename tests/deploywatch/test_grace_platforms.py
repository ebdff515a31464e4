"""The shutdown-grace rule per platform (issue 23, item 7): delay < grace holds where SIGTERM
comes at deregistration (Kubernetes), not where it comes after the drain (ECS, Auto Scaling,
CodeDeploy), and is not guessed when the profile does not say."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.deploywatch.grace import PLATFORMS, grace_problem, grace_verdict, not_the_rule
from tests.helpers import parity


def test_on_kubernetes_a_delay_longer_than_the_grace_is_the_problem() -> None:
    found = grace_problem("web", 40, 30, "kubernetes")
    assert found is not None and "on kubernetes an instance gets SIGTERM when it is" in found
    assert grace_problem("web", 20, 30, "kubernetes") is None
    assert grace_verdict(40, 30, "kubernetes").endswith("BROKEN")


@pytest.mark.parametrize("platform", ["ecs", "autoscaling", "codedeploy"])
def test_where_sigterm_comes_after_the_drain_the_rule_does_not_apply(platform: str) -> None:
    """A regression: ECS with a 300 s delay and a 30 s stopTimeout failed as short grace."""
    assert grace_problem("web", 300, 30, platform) is None
    why = not_the_rule(platform)
    assert why is not None and "does not race" in why
    assert grace_verdict(300, 30, platform).startswith("not checked: ")


def test_without_a_platform_the_rule_is_not_guessed() -> None:
    assert grace_problem("web", 300, 30, None) is None
    assert "no deploy.platform" in str(not_the_rule(None))


def test_a_platform_outside_the_known_ones_is_one_line_naming_them(tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "name: p\nurl: http://127.0.0.1:9\ntopology: {provider: static, targets: []}\n"
        "deploy: {shutdown_grace_seconds: 30, platform: nomad}\n"
    )
    done = parity(tmp_path, "profile", "check", str(profile))
    assert done.returncode == 2 and "deploy.platform" in done.stderr
    assert all(p in done.stderr for p in PLATFORMS), done.stderr
