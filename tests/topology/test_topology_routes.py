"""`topology.route` against moto: the rule an ALB would take for a host, path and listener, in
priority order; the checks then test that rule's target groups only, with its Host and path.
Also weighted forwards with group stickiness, read and compared by `parity diff`."""

from __future__ import annotations

import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest
from moto import mock_aws

from harness.drift.facts import facts
from harness.errors import UsageError
from harness.profile.environment import parse_profile
from harness.topology.aws.provider import AwsProvider
from harness.topology.aws.rules import RouteRequest, matches
from harness.topology.model import Topology
from harness.topology.render import render
from harness.traffic.client import Identity, VirtualUser
from tests.aws_world import REGION, World, build, profile


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def _group(elb: Any, world: World, name: str) -> str:
    vpc = boto3.client("ec2", region_name=REGION).describe_vpcs()["Vpcs"][-1]["VpcId"]
    arn = elb.create_target_group(Name=name, Protocol="HTTP", Port=8080, VpcId=vpc)["TargetGroups"][
        0
    ]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": world.instances[0], "Port": 8080}])
    return str(arn)


def routed_world() -> World:
    """An ALB whose HTTP:8080 listener routes by header, host and path, with an OIDC login in
    front of the app, a weighted canary host, and a fixed response."""
    world = build("routed-alb")
    elb = boto3.client("elbv2", region_name=REGION)
    arns = {n: _group(elb, world, n) for n in ("app", "api", "canary", "blue", "green", "other")}
    listener = elb.create_listener(
        LoadBalancerArn=world.lb_arn,
        Protocol="HTTP",
        Port=8080,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": arns["other"]}],
    )["Listeners"][0]["ListenerArn"]

    def rule(priority: int, conditions: list[Any], actions: list[Any]) -> None:
        elb.create_rule(
            ListenerArn=listener, Priority=priority, Conditions=conditions, Actions=actions
        )

    forward = {"Type": "forward", "Order": 2}
    header = {"HttpHeaderName": "X-Canary", "Values": ["1"]}
    rule(5, [{"Field": "http-header", "HttpHeaderConfig": header}],
         [{**forward, "TargetGroupArn": arns["canary"]}])  # fmt: skip
    rule(
        10,
        [
            {"Field": "host-header", "HostHeaderConfig": {"Values": ["staging.example.com"]}},
            {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/app/*"]}},
        ],
        [
            {
                "Type": "authenticate-oidc",
                "Order": 1,
                "AuthenticateOidcConfig": {
                    "Issuer": "https://idp.example.com",
                    "AuthorizationEndpoint": "https://idp.example.com/auth",
                    "TokenEndpoint": "https://idp.example.com/token",
                    "UserInfoEndpoint": "https://idp.example.com/userinfo",
                    "ClientId": "parity",
                    "ClientSecret": "not-a-real-secret",
                },
            },
            {**forward, "TargetGroupArn": arns["app"]},
        ],
    )
    rule(20, [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
         [{**forward, "TargetGroupArn": arns["api"]}])  # fmt: skip
    weighted = {
        "TargetGroups": [
            {"TargetGroupArn": arns["blue"], "Weight": 90},
            {"TargetGroupArn": arns["green"], "Weight": 10},
        ],
        "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 3600},
    }
    rule(30, [{"Field": "host-header", "HostHeaderConfig": {"Values": ["shop.*.com"]}}],
         [{"Type": "forward", "ForwardConfig": weighted}])  # fmt: skip
    rule(40, [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/gone"]}}],
         [{"Type": "fixed-response",
           "FixedResponseConfig": {"StatusCode": "410", "ContentType": "text/plain"}}])  # fmt: skip
    return world


def resolve(world: World, route: str) -> Topology:
    extra = f"  route: {route}\n" if route else ""
    text = profile(world).replace("\nsafety:", f"\n{extra}safety:") if extra else profile(world)
    return AwsProvider(parse_profile(text, "routed.yaml")).resolve()


def test_host_and_path_select_the_rule_in_priority_order() -> None:
    world = routed_world()
    topology = resolve(world, "{listener: 8080, host: Staging.Example.com, path: /app/}")
    assert [g.name for g in topology.target_groups] == ["app"]
    assert topology.route is not None and topology.route.rule == "10"
    assert "host-header staging.example.com" in topology.route.why
    assert topology.route.passed_over == [
        "rule 5: needs http-header X-Canary: 1 (not in topology.route)"
    ]
    assert topology.entry_url == f"http://{world.dns_name}:8080/app"
    assert topology.host == "Staging.Example.com"
    shown = render(topology)
    assert "authenticate-oidc -> forward" in shown and "<- topology.route" in shown
    assert "not-a-real-secret" not in shown


def test_a_weighted_rule_gives_its_groups_weights_and_group_stickiness() -> None:
    topology = resolve(routed_world(), "{listener: 8080, host: shop.eu.com}")
    assert {g.name: g.weight for g in topology.target_groups} == {"blue": 90, "green": 10}
    listener = next(li for li in topology.load_balancer.listeners if li.port == 8080)
    chosen = next(r for r in listener.rules if r.priority == "30")
    assert chosen.group_stickiness_seconds == 3600 and chosen.weights == [90, 10]
    assert chosen.actions == "forward blue 90, green 10"


def test_no_matching_rule_takes_the_default_action() -> None:
    topology = resolve(routed_world(), "{listener: 8080, path: /elsewhere}")
    assert topology.route is not None and topology.route.rule == "default"
    assert [g.name for g in topology.target_groups] == ["other"]


def test_a_route_to_nothing_testable_is_a_usage_error() -> None:
    world = routed_world()
    with pytest.raises(UsageError, match=r"listener 9999: .*listeners: HTTP:80, HTTP:8080"):
        resolve(world, "{listener: 9999}")
    with pytest.raises(UsageError, match="fixed-response 410: it forwards to no target group"):
        resolve(world, "{listener: 8080, path: /gone}")


def test_without_a_route_every_group_is_resolved_and_the_port_kept() -> None:
    world = routed_world()
    topology = resolve(world, "")
    assert {g.name for g in topology.target_groups} >= {"app", "api", "blue", "green", "other"}
    assert topology.entry_url == f"http://{world.dns_name}"  # port 80 is the first listener
    assert topology.route is None and topology.host is None


def test_parity_diff_sees_group_stickiness_and_weights() -> None:
    left = build("left-alb", weighted=True, group_stickiness=3600)
    right = build("right-alb", weighted=True)
    a = facts(AwsProvider(parse_profile(profile(left), "l.yaml")).resolve())
    b = facts(AwsProvider(parse_profile(profile(right), "r.yaml")).resolve())
    key = "listener.HTTP:80.rule[default].group_stickiness_seconds"
    assert a[key] == 3600 and b[key] is None
    assert a["listener.HTTP:80.rule[default].weights"] == [80, 20]


@pytest.mark.parametrize(
    ("host", "path", "taken"),
    [
        ("STAGING.example.com", "/app/x", True),  # hosts fold case
        ("staging.example.com", "/APP/x", False),  # paths do not
        ("staging.example.com", "/app/", True),  # * matches nothing too
        ("other.example.com", "/app/x", False),
        (None, "/app/x", False),
    ],
)
def test_conditions_match_like_the_alb(host: str | None, path: str, taken: bool) -> None:
    rule = {
        "Conditions": [
            {"Field": "host-header", "Values": ["staging.example.com"]},
            {"Field": "path-pattern", "Values": ["/app/*"]},
        ]
    }
    assert matches(rule, RouteRequest(None, host, path))[0] is taken


class _Echo(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str | None, str | None]]] = []

    def do_GET(self) -> None:
        sni = getattr(self.server, "sni", None)
        _Echo.seen.append((self.headers.get("Host"), sni))
        self.send_response(200)
        self.send_header("X-Instance-Id", "echo")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.mark.servers
def test_requests_carry_the_routes_host_as_header_and_tls_server_name(tmp_path: Path) -> None:
    """An HTTPS server with a certificate for the route's host only, reached by its address:
    the request verifies against that name and the server sees it in SNI and in Host."""
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=staging.example.com", "-keyout", str(key),
         "-out", str(cert), "-addext", "subjectAltName=DNS:staging.example.com"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HTTPServer(("127.0.0.1", 0), _Echo)

    def remember(sock: Any, name: str | None, _: Any) -> None:
        server.sni = name  # type: ignore[attr-defined]

    context.sni_callback = remember
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}"
        user = VirtualUser(
            url, Identity(header="X-Instance-Id"), verify=str(cert), host="staging.example.com"
        )
        assert user.request("GET", "/app/login").status_code == 200
    finally:
        server.shutdown()
    assert _Echo.seen[-1] == ("staging.example.com", "staging.example.com")


class _Login(BaseHTTPRequestHandler):
    cookies: ClassVar[list[str | None]] = []

    def do_POST(self) -> None:
        _Login.cookies.append(self.headers.get("Cookie"))
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Set-Cookie", "session=s1; Path=/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST

    def log_message(self, *args: object) -> None:
        return


@pytest.mark.servers
def test_auth_cookies_from_the_profile_go_with_every_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """An ALB that authenticates (OIDC) before forwarding: the contract sends the pre-made
    session cookie, from ${VAR}, next to the app's own."""
    from harness.traffic.contract import load_driver

    monkeypatch.setenv("ALB_AUTH", "signed-by-the-idp")
    text = (
        "name: authed\nurl: http://127.0.0.1:1\ntopology:\n  provider: static\n"
        "  targets: [{id: a, url: 'http://127.0.0.1:1'}]\n"
        "session:\n  cookie: session\n  auth_cookies: {AWSELBAuthSessionCookie-0: '${ALB_AUTH}'}\n"
        "  login: {method: POST, path: /login}\n  write: {method: POST, path: /w}\n"
        "  read: {method: GET, path: /r}\n"
    )
    env = parse_profile(text, "authed.yaml")
    driver = load_driver(env.session, {})
    server = HTTPServer(("127.0.0.1", 0), _Login)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        user = VirtualUser(f"http://127.0.0.1:{server.server_address[1]}", Identity(header="X"))
        driver.login(user, 1)
        driver.write(user, "k", "v")
    finally:
        server.shutdown()
    assert _Login.cookies[0] == "AWSELBAuthSessionCookie-0=signed-by-the-idp"
    assert set(_Login.cookies[1].split("; ")) == {  # type: ignore[union-attr]
        "session=s1",
        "AWSELBAuthSessionCookie-0=signed-by-the-idp",
    }
