"""The schema of an environment profile (`environments/<name>.yaml`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from harness.deploywatch.grace import PLATFORMS
from harness.profile.validation import (
    Context,
    Free,
    ListOf,
    MapOf,
    OneOf,
    Path_,
    Scalar,
    ScalarOrSection,
    Section,
    Url,
)
from harness.spread_promises import ALGORITHM_SPREAD
from harness.statuses import STATUS_MATCHER
from harness.traffic.balancers import BALANCERS

STR = Scalar((str,))
HTTP_URL = Url(("http", "https"))
NAME = Scalar(
    (str,),
    pattern=r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}",
    pattern_text="letters, digits, '.', '_' and '-' (up to 64, starting with a letter or digit)",
)
BOOL = Scalar((bool,))
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
REALTIME_PROTOCOLS = ("websocket", "sse", "socketio")
ALGORITHMS = tuple(ALGORITHM_SPREAD)  # each with the spread it promises (spread_promises)

EXTRACT = Section(
    {
        "json": STR,
        "regex": STR,
        "header": STR,
        "cookie": STR,
        "form_field": STR,  # the value of an HTML <input name=...> (a CSRF token, say)
        "meta": STR,  # the content of an HTML <meta name=...> (Rails' csrf-token, say)
    }
)
STATUS = Scalar((int,), minimum=100, maximum=599)
EXPECT_STATUS = OneOf(
    (
        STATUS,
        ListOf(STATUS),
        Scalar((str,), pattern=STATUS_MATCHER, pattern_text='codes as "200,302" or "200-299"'),
    )
)
REQUEST = Section(
    {
        "method": Scalar((str,), choices=METHODS),
        "path": STR,
        "headers": MapOf(STR),
        "json": Free(),
        "form": MapOf(Scalar((str, int, float))),
        "body": STR,  # a raw body, as text (an Engine.IO packet, say)
        "expect_status": EXPECT_STATUS,
        "follow_redirects": BOOL,
        "extract": MapOf(EXTRACT),
    },
    required=("method", "path"),
    defaults={"expect_status": 200, "headers": {}, "extract": {}, "follow_redirects": True},
)
STEP = OneOf((REQUEST, ListOf(REQUEST)))  # one request, or several in turn (a form, then post)
SESSION = Section(
    {
        "cookie": STR,
        "driver": STR,
        "credentials": MapOf(STR),
        "auth_cookies": MapOf(STR),
        "lifetime_seconds": Scalar((int,), minimum=1),
        "login": STEP,
        "write": STEP,
        "read": STEP,
        "logout": STEP,
        "cart": STEP,
    },
    required=("cookie",),
    defaults={"driver": "recipe", "credentials": {}},
)
IDENTITY = Section({"header": STR, "json": STR})
STICKINESS = Section(
    {
        "enabled": BOOL,
        "type": Scalar((str,), choices=("lb_cookie", "app_cookie")),
        "duration_seconds": Scalar((int,), minimum=1, maximum=604800),
        "cookie_name": STR,  # app_cookie: the app's own cookie that the ALB's follows
    },
    defaults={"enabled": True, "type": "lb_cookie"},
)
HEALTH = Section(
    {
        "path": STR,
        "interval_seconds": Scalar((float,), minimum=0.1, maximum=300),
        "timeout_seconds": Scalar((float,), minimum=0.1, maximum=120),
        "healthy_threshold": Scalar((int,), minimum=2, maximum=10),
        "unhealthy_threshold": Scalar((int,), minimum=2, maximum=10),
        "matcher": Scalar(
            (str,),
            pattern=STATUS_MATCHER,
            pattern_text='HTTP codes as the ALB writes them: "200", "200,204" or "200-299"',
        ),
    }
)
COOKIE = Section(
    {
        "name": STR,
        "cors_name": STR,
        "issued": Scalar((str,), choices=("every_response", "on_assignment", "never")),
        "lifetime": Scalar((str,), choices=("expires", "max_age", "session", "any")),
        "expires_days": Scalar((float,), minimum=0),
        "max_age_seconds": Scalar((float,), minimum=0),
        "path": STR,
        "secure": BOOL,
        "httponly": BOOL,
    }
)
MAX_DECLARED_BUILDS = 20


@dataclass
class BuildList(ListOf):
    """expect.version.builds: the builds the targets may serve (a rolling deploy standing still,
    a canary), each named once; any other build is version skew."""

    def describe(self) -> str:
        return f"a list of 1 to {MAX_DECLARED_BUILDS} distinct build names"

    def json_schema(self) -> dict[str, Any]:
        limits = {"minItems": 1, "maxItems": MAX_DECLARED_BUILDS, "uniqueItems": True}
        return {**super().json_schema(), **limits}

    def check(self, value: Any, path: Path_, ctx: Context) -> Any:
        builds = super().check(value, path, ctx)
        if not 1 <= len(builds) <= MAX_DECLARED_BUILDS or len(set(builds)) != len(builds):
            raise ctx.fail(path, f"got {value!r}; allowed: {self.describe()}")
        return builds


BUILD = Scalar(
    (str,), pattern=r"\S(.{0,198}\S)?", pattern_text="a build name (1 to 200 characters)"
)
VERSION = Section(
    {"path": STR, "json": STR, "header": STR, "builds": BuildList(BUILD)}, required=("path",)
)
ASSETS = Section({"pages": ListOf(STR), "pattern": STR, "manifest": STR})
DEPLOY = Section(
    {
        "shutdown_grace_seconds": Scalar((float,), minimum=0, maximum=3600),
        "platform": Scalar((str,), choices=PLATFORMS),  # when SIGTERM comes (deploywatch.grace)
    }
)
STORE_FAILOVER = Section(
    {
        "max_recovery_seconds": Scalar((float,), minimum=0, maximum=600),
        "max_lost_sessions": Scalar((int,), minimum=0),
        "max_errors": Scalar((int,), minimum=0),
    }
)
CLIENT_IP = Section({"path": STR, "json": STR}, required=("path",))  # what the app sees
LONGEST_REQUEST = Section(
    {"path": STR, "seconds": Scalar((float,), minimum=0, maximum=4000)}, required=("path",)
)
COUNT = Scalar((int,), minimum=1)
TARGET_COUNT = ScalarOrSection(  # exactly that many healthy, or a range (an autoscaling group)
    COUNT,
    Section({"min": COUNT, "max": COUNT}),
    note="min, max or both, each an integer of at least 1, min <= max",
)
EXPECT = Section(
    {
        "version": VERSION,
        "assets": ASSETS,
        "targets": TARGET_COUNT,
        "stickiness": STICKINESS,
        "deregistration_delay_seconds": Scalar((float,), minimum=0, maximum=3600),
        "health_check": HEALTH,
        "algorithm": Scalar((str,), choices=ALGORITHMS),
        "balancer": Scalar((str,), choices=tuple(BALANCERS)),
        "cookie": COOKIE,
        "error_budget": Scalar((int,), minimum=0),
        "store_failover": STORE_FAILOVER,
        "idle_timeout_seconds": Scalar((float,), minimum=1, maximum=4000),  # the balancer's
        "client_ip": CLIENT_IP,
        "longest_request": LONGEST_REQUEST,
        "redirect_paths": ListOf(STR),  # followed through the HTTPS entry (default: /)
        "https_entry": HTTP_URL,  # the balancer's HTTPS listener, when `url` is its http one
    },
    defaults={"error_budget": 0},
)
REDIS = Section(
    {
        "url": Url(("redis", "rediss", "unix")),
        "mode": Scalar((str,), choices=("standalone", "sentinel", "cluster")),
        "sentinels": ListOf(STR),
        "service": STR,
        "username": STR,
        "password": STR,
        "ca_file": STR,
        "key": STR,
        "session_id": STR,
        "elasticache": STR,
        "reachable": BOOL,
        "pressure_mb": Scalar((int,), minimum=1, maximum=1024),
    },
    defaults={"key": "session:{session_id}", "session_id": r"^([^.]+)", "reachable": True},
)
SAFETY = Section(
    {
        "allow_disruptive": BOOL,
        "max_users": Scalar((int,), minimum=1),
        "max_rps": Scalar((float,), minimum=1),
    },
    defaults={"allow_disruptive": False, "max_users": 200, "max_rps": 500},
)
STATIC_TARGET = Section({"id": STR, "url": HTTP_URL, "address": STR, "zone": STR}, required=("id",))
DRAIN = Section(
    {
        "adapter": Scalar((str,), choices=("haproxy", "command")),
        "socket": STR,
        "backend": STR,
        "drain": STR,
        "restore": STR,
        "health": STR,
        "state": STR,
        "pinned": Scalar((str,), choices=("move", "keep")),
    },
    required=("adapter",),
    defaults={"pinned": "move"},
)
REPLICA = Section(
    {
        "instances": Scalar((int,), minimum=1, maximum=8),
        "faults": ListOf(STR),
        "stickiness_seconds": Scalar((int,), minimum=1, maximum=604800),
        "deregistration_delay": Scalar((float,), minimum=0, maximum=3600),
    }
)
ROUTE = Section(
    {
        "listener": Scalar((int,), minimum=1, maximum=65535),
        "host": Scalar(
            (str,),
            pattern=r"[A-Za-z0-9*?][A-Za-z0-9*?.-]{0,252}",
            pattern_text="a host name (letters, digits, '.', '-', wildcards * and ?)",
        ),
        "path": Scalar((str,), pattern=r"/\S*", pattern_text="a path starting with /"),
    }
)
TOPOLOGY = Section(
    {
        "provider": Scalar((str,), choices=("aws", "static", "replica")),
        "load_balancer": STR,
        "region": STR,
        "profile": STR,
        "endpoint_url": HTTP_URL,
        "instance_url": STR,
        "targets": ListOf(STATIC_TARGET),
        "drain": DRAIN,
        "replica": REPLICA,
        "route": ROUTE,
    },
    required=("provider",),
)
FAILOVER = Section(
    {
        "clients": Scalar((int,), minimum=1, maximum=50),
        "in_flight_path": STR,
        "in_flight_seconds": Scalar((float,), minimum=0.1, maximum=60),
    },
    defaults={"clients": 4},
)
POLLING = Section(  # a long-polling transport: its handshake (extracting {sid}), then its polls
    {"handshake": REQUEST, "poll": REQUEST, "polls": Scalar((int,), minimum=2, maximum=100)},
    required=("handshake", "poll"),
    defaults={"polls": 10},
)
REALTIME = Section(
    {
        "protocol": Scalar((str,), choices=REALTIME_PROTOCOLS),
        "path": Scalar((str,), pattern=r"/\S*", pattern_text="a path starting with /"),
        "identity": STR,  # a JSON pointer into the stream's first message (its hello)
        "user": STR,  # a JSON pointer into the hello naming the session's user
        "subscribe": STR,  # a WebSocket text frame sent once open (Socket.IO: an event)
        "publish": REQUEST,  # an HTTP request that publishes {message}
        "publish_frame": STR,  # or a WebSocket frame that does (Socket.IO: the event emitted)
        "hello_event": STR,  # Socket.IO: the event that opens with the hello (default hello)
        "message_event": STR,  # Socket.IO: the event that carries messages (default message)
        "message": STR,  # a JSON pointer to a delivered message's text (default: the whole)
        "delivery_within_seconds": Scalar((float,), minimum=0.01, maximum=60),
        "max_lost_messages": Scalar((int,), minimum=0),  # across a drain's reconnect
        "polling": POLLING,
    },
    required=("protocol", "path"),
    defaults={"delivery_within_seconds": 2.0},
)
LOAD = Section({"gates": ListOf(STR)}, defaults={"gates": []})
ACCEPT = Section(
    {"check": STR, "fault": STR, "reason": STR, "until": Scalar((date,))},
    required=("reason", "until"),
)
EXPECTED_DIFFERENCE = Section({"path": STR, "reason": STR}, required=("path", "reason"))
PARITY = Section({"expected": ListOf(EXPECTED_DIFFERENCE)}, defaults={"expected": []})
PROFILE = Section(
    {
        "load": LOAD,
        "parity": PARITY,
        "accept": ListOf(ACCEPT),
        "failover": FAILOVER,
        "deploy": DEPLOY,
        "name": NAME,
        "production": BOOL,
        "url": HTTP_URL,
        "tls_verify": Scalar((bool, str)),
        "topology": TOPOLOGY,
        "identity": IDENTITY,
        "expect": EXPECT,
        "session": SESSION,
        "realtime": REALTIME,
        "redis": REDIS,
        "safety": SAFETY,
    },
    required=("name", "topology"),
    defaults={"production": False, "tls_verify": True, "accept": []},
)

SCHEMA_ID = "urn:parity:environment-profile"


def profile_json_schema() -> dict[str, Any]:
    """The profile's JSON Schema, generated from PROFILE (the one schema the code validates)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Parity environment profile",
        "description": "environments/<name>.yaml: one environment Parity checks",
        **PROFILE.json_schema(),
    }
