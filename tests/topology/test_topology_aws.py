"""The AWS provider against moto: in-process (mock_aws) and as a real moto_server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from harness.disruption.drain import Transition, wait_drained
from harness.errors import EnvironmentUnavailable, UsageError
from harness.profile.environment import parse_profile
from harness.profile.sections import Expect
from harness.topology import open_provider
from harness.topology.aws.parse import target_of
from harness.topology.aws.provider import AwsProvider, _desc
from harness.topology.model import TargetGroup
from harness.traffic.keepalive import balancer_idle_timeout
from tests.aws_world import REGION, World, build, profile


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def provider_for(world: World, endpoint_url: str | None = None) -> AwsProvider:
    env = parse_profile(profile(world, endpoint_url=endpoint_url), f"{world.lb_name}.yaml")
    provider = open_provider(env)
    assert isinstance(provider, AwsProvider)
    return provider


@pytest.mark.usefixtures("aws")
def test_resolves_listener_group_attributes_and_targets() -> None:
    world = build(stickiness_seconds=3600, deregistration_delay=45)
    topo = provider_for(world).resolve()
    assert topo.load_balancer.arn == world.lb_arn
    assert [(li.protocol, li.port, li.target_groups) for li in topo.load_balancer.listeners] == [
        ("HTTP", 80, ["staging-alb-web"])
    ]
    (group,) = topo.target_groups
    assert (group.stickiness.enabled, group.stickiness.type, group.stickiness.duration_seconds) == (
        True,
        "lb_cookie",
        3600,
    )
    assert group.deregistration_delay_seconds == 45
    assert (
        group.health_check.path,
        group.health_check.interval_seconds,
        group.health_check.healthy_threshold,
    ) == ("/healthz", 15, 3)
    assert sorted(t.id for t in group.targets) == sorted(world.instances)
    assert {t.zone for t in group.targets} == {"us-east-1a", "us-east-1b"}
    for target in group.targets:
        assert target.address.startswith("10.0.")
        assert target.direct_url == f"http://{target.address}:8080"
        assert target.state == "healthy"
    assert topo.entry_url == f"http://{world.dns_name}"


@pytest.mark.usefixtures("aws")
def test_the_keepalive_check_reads_the_albs_idle_timeout_attribute() -> None:
    """The keep-alive check compares targets with the ALB's idle_timeout.timeout_seconds, read
    through DescribeLoadBalancerAttributes; the profile's expect.idle_timeout_seconds wins."""
    topo = provider_for(build(idle_timeout=120)).resolve()
    attributes = topo.load_balancer.attributes
    assert balancer_idle_timeout(Expect(), attributes) == (
        120.0,
        "the load balancer's idle_timeout.timeout_seconds",
    )
    assert balancer_idle_timeout(Expect(idle_timeout_seconds=30), attributes)[0] == 30.0
    idle, why = balancer_idle_timeout(Expect(), {})
    assert idle is None and "set expect.idle_timeout_seconds" in why


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("ref", ["name", "arn", "dns"])
def test_finds_the_load_balancer_by_name_arn_or_dns(ref: str) -> None:
    world = build()
    build("other-alb")
    provider = provider_for(world)
    provider.ref = {"name": world.lb_name, "arn": world.lb_arn, "dns": world.dns_name.upper()}[ref]
    assert provider.resolve().load_balancer.arn == world.lb_arn


@pytest.mark.usefixtures("aws")
def test_weighted_forward_resolves_both_groups_with_weights() -> None:
    topo = provider_for(build(weighted=True)).resolve()
    assert [(g.name, g.weight) for g in topo.target_groups] == [
        ("staging-alb-web-blue", 80),
        ("staging-alb-web-green", 20),
    ]
    assert topo.load_balancer.listeners[0].target_groups == [
        "staging-alb-web-blue",
        "staging-alb-web-green",
    ]


@pytest.mark.usefixtures("aws")
def test_unknown_load_balancer_lists_the_candidates() -> None:
    world = build()
    build("prod-alb")
    provider = provider_for(world)
    provider.ref = "stagng-alb"
    with pytest.raises(EnvironmentUnavailable) as err:
        provider.resolve()
    assert str(err.value) == (
        "load balancer 'stagng-alb' not found in us-east-1; load balancers "
        "there: prod-alb, staging-alb"
    )


@pytest.mark.usefixtures("aws")
def test_drain_and_restore_handle_moto_removing_targets_at_once() -> None:
    world = build(weighted=True)
    provider = provider_for(world)
    target = world.instances[0]
    record = Transition(target, "deregister", 0)
    details = provider.deregister(target)
    assert len(details["registrations"]) == 2  # in both weighted groups
    wait_drained(provider, record, delay_seconds=30)
    assert record.states() == ["gone"]
    assert provider.deregister(target)  # again: moto's InvalidTarget is not an error
    provider.register(target, details)
    assert provider.target_states()[target] == ("healthy", "")
    groups = provider.resolve().target_groups
    assert all(target in [t.id for t in g.targets] for g in groups)


def test_missing_region_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    text = "name: s\ntopology: {provider: aws, load_balancer: staging-alb}\n"
    with pytest.raises(UsageError) as err:
        open_provider(parse_profile(text, "s.yaml")).resolve()
    assert str(err.value).startswith("s.yaml: topology.region is missing")


def test_missing_credentials_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    text = f"name: s\ntopology: {{provider: aws, load_balancer: x, region: {REGION}}}\n"
    with pytest.raises(EnvironmentUnavailable, match=r"^no AWS credentials found: set AWS_PROFILE"):
        open_provider(parse_profile(text, "s.yaml")).resolve()


def test_moto_server_resolves_the_same_topology(moto_server: str) -> None:
    requests.post(f"{moto_server}/moto-api/reset", timeout=10)
    world = build(endpoint_url=moto_server, stickiness_seconds=600)
    topo = provider_for(world, moto_server).resolve()
    assert topo.target_groups[0].stickiness.duration_seconds == 600
    assert sorted(t.id for t in topo.targets) == sorted(world.instances)


def test_access_denied_names_the_iam_action(moto_server: str) -> None:
    requests.post(f"{moto_server}/moto-api/reset", timeout=10)
    world = build(endpoint_url=moto_server)
    iam = boto3.client("iam", endpoint_url=moto_server, region_name=REGION)
    iam.create_user(UserName="reader")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "elasticloadbalancing:DescribeLoadBalancers",
                "Resource": "*",
            }
        ],
    }
    iam.put_user_policy(UserName="reader", PolicyName="lb-only", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    requests.post(f"{moto_server}/moto-api/reset-auth", data=b"0", timeout=10)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
            mp.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
            with pytest.raises(EnvironmentUnavailable) as err:
                provider_for(world, moto_server).resolve()
    finally:
        requests.post(f"{moto_server}/moto-api/reset-auth", data=b"1000000", timeout=10)
    assert str(err.value) == (
        "AccessDenied: the IAM action elasticloadbalancing:DescribeListeners "
        "is not allowed for these credentials"
    )


@pytest.mark.usefixtures("aws")
def test_rules_beyond_the_first_page_are_followed() -> None:
    """60 path rules, each to its own group: every page of rules is read (61 groups)."""
    world = build()
    elb = boto3.client("elbv2", region_name=REGION)
    vpc = elb.describe_target_groups()["TargetGroups"][0]["VpcId"]
    listener = elb.describe_listeners(LoadBalancerArn=world.lb_arn)["Listeners"][0]["ListenerArn"]
    for i in range(60):
        tg = elb.create_target_group(
            Name=f"rule-{i}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="instance"
        )["TargetGroups"][0]["TargetGroupArn"]
        elb.create_rule(
            ListenerArn=listener,
            Priority=i + 1,
            Conditions=[{"Field": "path-pattern", "Values": [f"/r{i}/*"]}],
            Actions=[{"Type": "forward", "TargetGroupArn": tg}],
        )
    topo = provider_for(world).resolve()
    names = {g.name for g in topo.target_groups}
    assert len(names) == 61 and {"rule-0", "rule-59"} <= names


@pytest.mark.servers
@pytest.mark.usefixtures("aws")
def test_target_health_is_asked_at_most_once_a_second_per_group() -> None:
    """A drain polls; DescribeTargetHealth stays under the account's Describe* refill rate."""
    provider = provider_for(build(weighted=True))
    provider.resolve()
    calls: list[int] = []
    event = f"before-call.{provider.elb.meta.service_model.service_id.hyphenize()}"
    provider.elb.meta.events.register(f"{event}.DescribeTargetHealth", lambda **kw: calls.append(1))
    started = time.monotonic()
    while time.monotonic() - started < 2.5:  # the drain's own poll interval is 0.25 s
        provider.target_states()
        time.sleep(0.05)
    polled = len(calls)
    assert len(provider.resolve().target_groups) == 2
    assert 4 <= polled <= 6, polled  # 2.5 s, 2 groups: once a second each, not 50 calls
    provider.deregister(provider.resolve().target_groups[0].targets[0].id)
    before = len(calls)
    provider.target_states()
    assert len(calls) > before  # our own change is read afresh


def _add_group(world: World, name: str, target_type: str, targets: list[dict[str, Any]]) -> str:
    """One more target group behind the world's listener, with these targets registered."""
    elb = boto3.client("elbv2", region_name=REGION)
    vpc = elb.describe_target_groups()["TargetGroups"][0]["VpcId"]
    spec: dict[str, Any] = {"Name": name, "TargetType": target_type}
    if target_type != "lambda":
        spec.update(Protocol="HTTP", Port=80, VpcId=vpc)
    arn = elb.create_target_group(**spec)["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=arn, Targets=targets)
    listener = elb.describe_listeners(LoadBalancerArn=world.lb_arn)["Listeners"][0]["ListenerArn"]
    elb.create_rule(
        ListenerArn=listener,
        Priority=len(elb.describe_rules(ListenerArn=listener)["Rules"]),
        Conditions=[{"Field": "path-pattern", "Values": [f"/{name}/*"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": arn}],
    )
    return arn


def _health(target_id: str, port: int, zone: str | None = None) -> dict[str, Any]:
    """One TargetHealthDescription as AWS returns it (moto keys targets by Id alone and
    leaves out AvailabilityZone, so these two cases are checked on AWS-shaped answers)."""
    desc: dict[str, Any] = {"Id": target_id, "Port": port}
    if zone:
        desc["AvailabilityZone"] = zone
    return {"Target": desc, "TargetHealth": {"State": "healthy"}}


def test_one_instance_on_two_ports_is_two_targets_drained_one_at_a_time() -> None:
    health = [_health("i-0abc", 32768), _health("i-0abc", 32769)]
    targets = [target_of(h, {}, None, "instance", with_port=True) for h in health]
    assert [t.id for t in targets] == ["i-0abc:32768", "i-0abc:32769"]
    group = TargetGroup("ecs", arn="arn:tg/ecs", targets=targets)
    registrations = [{"id": t.registered_id, "port": t.port, "zone": None} for t in group.targets]
    assert _desc("i-0abc:32769", registrations[1]) == {"Id": "i-0abc", "Port": 32769}


def test_an_ip_target_outside_the_vpc_is_registered_again_with_its_zone() -> None:
    target = target_of(_health("192.168.7.7", 80, "all"), {}, None, "ip")
    assert target.zone == "all" and target.id == "192.168.7.7"
    registration = {"id": target.registered_id, "port": target.port, "zone": target.zone}
    assert _desc(target.id, registration) == {
        "Id": "192.168.7.7",
        "Port": 80,
        "AvailabilityZone": "all",
    }


@pytest.mark.usefixtures("aws")
def test_a_lambda_target_is_listed_but_not_sent_traffic() -> None:
    world = build()
    function = "arn:aws:lambda:us-east-1:123456789012:function:shop"
    _add_group(world, "fn", "lambda", [{"Id": function}])
    topo = provider_for(world).resolve()
    (target,) = [t for t in topo.targets if t.id == function]
    assert target.reason == "not an HTTP target (lambda)" and target.direct_url is None
    assert target not in topo.healthy_targets()
    assert len(topo.healthy_targets()) == 2  # the two instances
