"""Build AWS environments in moto (in-process or moto_server) for the topology tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3

REGION = "us-east-1"
AMI = "ami-12c6146b"  # one of moto's built-in images


@dataclass
class World:
    lb_name: str
    lb_arn: str
    dns_name: str
    target_groups: dict[str, str] = field(default_factory=dict)  # name -> arn
    instances: list[str] = field(default_factory=list)


def build(
    name: str = "staging-alb",
    *,
    endpoint_url: str | None = None,
    instances: int = 2,
    stickiness_seconds: int | None = 86400,
    deregistration_delay: int = 30,
    weighted: bool = False,
    group_stickiness: int | None = None,
    zones: tuple[str, ...] = ("a", "b"),
    instance_type: str = "t3.small",
    health_path: str = "/healthz",
    admit_lb: bool = True,
    open_to_world: bool = False,
    idle_timeout: int | None = None,
    redis_version: str | None = None,
    redis_node: str = "cache.t3.micro",
) -> World:
    """An ALB with an HTTP listener forwarding to a target group of `instances` instances."""
    kw: dict[str, Any] = {"region_name": REGION}
    if endpoint_url:
        kw["endpoint_url"] = endpoint_url
    ec2, elb = boto3.client("ec2", **kw), boto3.client("elbv2", **kw)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in enumerate(zones)
    ]
    sg = ec2.create_security_group(GroupName=f"{name}-sg", Description="alb", VpcId=vpc)["GroupId"]
    lb = elb.create_load_balancer(
        Name=name,
        Subnets=subnets,
        SecurityGroups=[sg],
        Scheme="internet-facing",
        Type="application",
    )["LoadBalancers"][0]
    app_sg = ec2.create_security_group(GroupName=f"{name}-app", Description="app", VpcId=vpc)[
        "GroupId"
    ]
    rules: list[dict[str, Any]] = []
    if admit_lb:
        rules.append(
            {
                "IpProtocol": "tcp",
                "FromPort": 8080,
                "ToPort": 8080,
                "UserIdGroupPairs": [{"GroupId": sg}],
            }
        )
    if open_to_world:
        rules.append(
            {
                "IpProtocol": "tcp",
                "FromPort": 8080,
                "ToPort": 8080,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        )
    if rules:
        ec2.authorize_security_group_ingress(GroupId=app_sg, IpPermissions=rules)
    if idle_timeout is not None:
        elb.modify_load_balancer_attributes(
            LoadBalancerArn=lb["LoadBalancerArn"],
            Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": str(idle_timeout)}],
        )
    if redis_version is not None:
        boto3.client("elasticache", **kw).create_replication_group(
            ReplicationGroupId=f"{name}-sessions",
            ReplicationGroupDescription="sessions",
            Engine="redis",
            EngineVersion=redis_version,
            CacheNodeType=redis_node,
            NumCacheClusters=2,
        )
    ids = []
    for i in range(instances):
        run = ec2.run_instances(
            SecurityGroupIds=[app_sg],
            ImageId=AMI,
            MinCount=1,
            MaxCount=1,
            InstanceType=instance_type,
            SubnetId=subnets[i % len(subnets)],
        )
        ids.append(run["Instances"][0]["InstanceId"])
    world = World(name, lb["LoadBalancerArn"], lb["DNSName"], instances=ids)
    groups = ["web-blue", "web-green"] if weighted else ["web"]
    for gname in groups:
        tg = elb.create_target_group(
            Name=f"{name}-{gname}",
            Protocol="HTTP",
            Port=8080,
            VpcId=vpc,
            TargetType="instance",
            HealthCheckPath=health_path,
            HealthCheckIntervalSeconds=15,
            HealthyThresholdCount=3,
            UnhealthyThresholdCount=2,
            Matcher={"HttpCode": "200"},
        )["TargetGroups"][0]
        attrs = [
            {"Key": "deregistration_delay.timeout_seconds", "Value": str(deregistration_delay)}
        ]
        if stickiness_seconds is not None:
            attrs += [
                {"Key": "stickiness.enabled", "Value": "true"},
                {"Key": "stickiness.type", "Value": "lb_cookie"},
                {"Key": "stickiness.lb_cookie.duration_seconds", "Value": str(stickiness_seconds)},
            ]
        elb.modify_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"], Attributes=attrs)
        elb.register_targets(
            TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": i, "Port": 8080} for i in ids]
        )
        world.target_groups[f"{name}-{gname}"] = tg["TargetGroupArn"]
    arns = list(world.target_groups.values())
    if weighted:
        action = {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": arns[0], "Weight": 80},
                    {"TargetGroupArn": arns[1], "Weight": 20},
                ],
                **(
                    {
                        "TargetGroupStickinessConfig": {
                            "Enabled": True,
                            "DurationSeconds": group_stickiness,
                        }
                    }
                    if group_stickiness
                    else {}
                ),
            },
        }
    else:
        action = {"Type": "forward", "TargetGroupArn": arns[0]}
    elb.create_listener(
        LoadBalancerArn=world.lb_arn, Protocol="HTTP", Port=80, DefaultActions=[action]
    )
    return world


def profile(world: World, *, endpoint_url: str | None = None, extra: str = "") -> str:
    """An environment profile for the world."""
    endpoint = f"\n  endpoint_url: {endpoint_url}" if endpoint_url else ""
    return (
        f"name: {world.lb_name}\ntopology:\n  provider: aws\n  load_balancer: {world.lb_name}\n"
        f'  region: {REGION}\n  instance_url: "http://{{private_ip}}:{{port}}"{endpoint}\n'
        f"safety: {{allow_disruptive: true}}\n{extra}"
    )
