"""The documented least-privilege IAM policies, proven with moto enforcing IAM: the read-only
policy resolves everything a check reads and cannot drain; the disruptive one can; a policy
that lacks an action makes the error name that action."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
from moto import mock_aws, settings
from moto.core.authorization import ActionAuthenticatorMixin

from harness.errors import ParityError
from tests.aws_world import REGION, build
from tests.topology.test_topology_aws import provider_for

ROOT = Path(__file__).resolve().parents[2]
READ_ONLY = json.loads((ROOT / "examples/iam/parity-read-only.json").read_text())
DISRUPTIVE = json.loads((ROOT / "examples/iam/parity-disruptive.json").read_text())
# AWS scopes Deregister/RegisterTargets to target-group ARNs (the shipped policy does); moto
# checks every ELB call against the resource "*", so its actions are checked with that resource.
DISRUPTIVE_IN_MOTO = {
    **DISRUPTIVE,
    "Statement": [{**s, "Resource": "*"} for s in DISRUPTIVE["Statement"]],
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


def _as_user(monkeypatch: pytest.MonkeyPatch, name: str, *policies: dict[str, object]) -> None:
    """Create an IAM user with these policies and use its keys from now on."""
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName=name)
    for i, policy in enumerate(policies):
        iam.put_user_policy(UserName=name, PolicyName=f"p{i}", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])


@contextmanager
def iam_enforced() -> Iterator[None]:
    """From here on moto checks every call against the caller's IAM policies."""
    before = settings.INITIAL_NO_AUTH_ACTION_COUNT
    settings.INITIAL_NO_AUTH_ACTION_COUNT = ActionAuthenticatorMixin.request_count
    try:
        yield
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT = before


@pytest.mark.usefixtures("aws")
def test_the_read_only_policy_resolves_everything_and_cannot_drain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = build()
    _as_user(monkeypatch, "parity-read-only", READ_ONLY)
    with iam_enforced():
        provider = provider_for(world)
        topology = provider.resolve()
        assert len(topology.targets) == 2
        provider.hygiene(topology)
        with pytest.raises(ParityError, match="elasticloadbalancing:DeregisterTargets"):
            provider.deregister(topology.targets[0].id)


@pytest.mark.usefixtures("aws")
def test_the_disruptive_policy_drains_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    world = build()
    assert DISRUPTIVE["Statement"][0]["Resource"].endswith(":targetgroup/*")
    _as_user(monkeypatch, "parity-disruptive", READ_ONLY, DISRUPTIVE_IN_MOTO)
    with iam_enforced():
        provider = provider_for(world)
        target = provider.resolve().targets[0].id
        details = provider.deregister(target)
        assert target not in provider.target_states()
        provider.register(target, details)
        assert target in {t.id for t in provider.resolve().targets}


@pytest.mark.usefixtures("aws")
def test_a_missing_action_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    world = build()
    lacking = json.loads(json.dumps(READ_ONLY))
    lacking["Statement"][0]["Action"].remove("elasticloadbalancing:DescribeTargetHealth")
    _as_user(monkeypatch, "parity-lacking", lacking)
    with iam_enforced(), pytest.raises(ParityError) as refused:
        provider_for(world).resolve()
    assert "elasticloadbalancing:DescribeTargetHealth" in str(refused.value)
    assert len(str(refused.value).splitlines()) == 1
