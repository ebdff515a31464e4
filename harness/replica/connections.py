"""The front end's idle timeout and how its connections to the targets are kept alive.

An ALB keeps idle connections to a target open for up to its idle timeout
(`idle_timeout.timeout_seconds`, 60 s by default) and reuses them for any client; a target that
closes an idle connection sooner races it (AWS's 502 troubleshooting: make the target's
keep-alive longer than the load balancer's idle timeout). The replica's fronts do the same:
HAProxy reuses idle server connections (`http-reuse always`) for the idle timeout, Caddy's
transport keeps them `keep_alive.idle_timeout`, nginx's upstream `keepalive_timeout`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.errors import UsageError

IDLE_TIMEOUT_SECONDS = 60  # idle_timeout.timeout_seconds, AWS's default
IDLE_TIMEOUT_VARIABLE = "PARITY_REPLICA_IDLE_TIMEOUT"  # a shorter one, for tests (1..4000 s)
TARGET_KEEPALIVE_MARGIN = 5  # healthy targets keep connections this much longer, as AWS advises
IDLE_ATTRIBUTE = "idle_timeout.timeout_seconds"
# gunicorn trusts X-Forwarded-Proto from 127.0.0.1 by default; a balancer in production is not
# there, so the replica's instances trust only this address (TEST-NET-1, never a peer here)
UNTRUSTED_PROXY = "192.0.2.1"

# X-Forwarded-For/-Proto/-Port on both listeners, as an ALB sends them
FORWARDED_HEADERS = (
    "  option forwardfor",
    "  http-request set-header X-Forwarded-Proto https if { ssl_fc }",
    "  http-request set-header X-Forwarded-Proto http if !{ ssl_fc }",
    "  http-request set-header X-Forwarded-Port %[dst_port]",
)


def idle_timeout() -> int:
    """The front end's idle timeout: 60 s as on AWS, or `$PARITY_REPLICA_IDLE_TIMEOUT`."""
    raw = os.environ.get(IDLE_TIMEOUT_VARIABLE, "")
    if not raw:
        return IDLE_TIMEOUT_SECONDS
    if not raw.isdigit() or not 1 <= int(raw) <= 4000:
        raise UsageError(f"{IDLE_TIMEOUT_VARIABLE}={raw!r}: give whole seconds from 1 to 4000")
    return int(raw)


def target_keepalive(idle: int, fault_seconds: int = 0) -> int:
    """A target's gunicorn --keep-alive: longer than the balancer's idle timeout when healthy,
    `fault_seconds` for the short-keepalive instance."""
    return fault_seconds or idle + TARGET_KEEPALIVE_MARGIN


def haproxy_lines(idle: int) -> list[str]:
    """Keep-alive on both sides, idle server connections reused by any client (a client's
    connection is never tied to a target) for the idle timeout; a request whose target stays
    silent that long gets 504, as on an ALB."""
    return [
        "  option http-keep-alive",
        "  http-reuse always",
        "  timeout connect 10s",
        f"  timeout client {idle}s",
        f"  timeout http-keep-alive {idle}s",
        f"  timeout server {idle}s",
    ]


NGINX_UPGRADE_MAP = (  # an upgrade (WebSocket) passed on; any other request keeps its keep-alive
    "  map $http_upgrade $connection_upgrade {\n"
    '    default upgrade;\n    "" "";\n  }\n'
)
NGINX_PROXY_HEADERS = (  # HTTP/1.1 with keep-alive to the upstreams, and the forwarded headers
    "      proxy_http_version 1.1;\n"
    "      proxy_set_header Upgrade $http_upgrade;\n"
    "      proxy_set_header Connection $connection_upgrade;\n"
    "      proxy_set_header Host $http_host;\n"
    "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
    "      proxy_set_header X-Forwarded-Proto $scheme;\n"
)


def certificate_files(work: Path) -> dict[str, str]:
    """The replica's HTTPS certificate and key (made at start-up), as Caddy loads them."""
    return {"certificate": str(work / "alb.crt"), "key": str(work / "alb.key")}


def caddy_tls_server(https_port: int, http_port: int) -> dict[str, Any]:
    """Caddy's HTTPS listener: TLS with the replica's certificate, proxied to its http server
    (which trusts its X-Forwarded-Proto), so draining that server's upstreams drains both."""
    inner = {"handler": "reverse_proxy", "upstreams": [{"dial": f"127.0.0.1:{http_port}"}]}
    return {
        "listen": [f"127.0.0.1:{https_port}"],
        "tls_connection_policies": [{}],
        "automatic_https": {"disable": True},
        "routes": [{"handle": [inner]}],
    }
