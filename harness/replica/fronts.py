"""Front ends other than the local ALB: Caddy 2 and open-source nginx, as their users run them.

Each answers the four calls the replica's target operations make of HAProxy's runtime API
(`set_maint`, `set_ready`, `shutdown_sessions`, `servers`) through its own interface: Caddy's
admin API (an upstream removed and added back by its @id), nginx's configuration (a server
marked `down`, then SIGHUP). Health is what their health checks see: the instance's /healthz.
Neither can cut requests in flight (both drain gracefully), so `shutdown_sessions` does nothing.
`profile_drain` gives the shell commands a user would write for the static provider.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import requests

from harness.errors import ReplicaError
from harness.haproxy_admin import ServerStat
from harness.replica.connections import (
    NGINX_PROXY_HEADERS,
    NGINX_UPGRADE_MAP,
    caddy_tls_server,
    certificate_files,
    idle_timeout,
)
from harness.replica.processes import free_port, http_ok

HEALTH_CACHE_SECONDS = 0.5
RELOAD_SECONDS = 1.0  # nginx applies a reload (SIGHUP) asynchronously: wait it out


@dataclass(frozen=True)
class Upstream:
    id: str
    port: int
    weight: int = 1

    @property
    def dial(self) -> str:
        return f"127.0.0.1:{self.port}"


class Front(Protocol):
    """What the target operations need of a front end (HaproxyAdmin answers the same)."""

    def set_maint(self, backend: str, server: str) -> None: ...
    def set_ready(self, backend: str, server: str, *, recheck: bool) -> None: ...
    def shutdown_sessions(self, backend: str, server: str) -> None: ...
    def servers(self, backend: str) -> dict[str, ServerStat]: ...


class _Probed:
    """Membership kept here, health probed like an active health check, cached briefly."""

    def __init__(self, upstreams: list[Upstream], health_path: str) -> None:
        self.upstreams = {u.id: u for u in upstreams}
        self.removed: set[str] = set()
        self._health_path = health_path
        self._health: dict[str, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def _healthy(self, upstream: Upstream) -> bool:
        with self._lock:
            cached = self._health.get(upstream.id)
        if cached and time.monotonic() - cached[0] < HEALTH_CACHE_SECONDS:
            return cached[1]
        ok = http_ok(f"http://{upstream.dial}{self._health_path}")
        with self._lock:
            self._health[upstream.id] = (time.monotonic(), ok)
        return ok

    def servers(self, backend: str) -> dict[str, ServerStat]:
        stats = {}
        for u in self.upstreams.values():
            if u.id in self.removed:
                status, check = "MAINT", ""
            else:
                up = self._healthy(u)
                status, check = ("UP", "L7OK") if up else ("DOWN", "L7STS")
            stats[u.id] = ServerStat(u.id, status, check, "", 0, u.weight, True)
        return stats

    def shutdown_sessions(self, backend: str, server: str) -> None:
        """Neither Caddy nor nginx can cut a request in flight: they drain gracefully."""


class CaddyFront(_Probed):
    """Caddy 2 with `lb_policy cookie` (or round robin without stickiness), JSON config."""

    name = "caddy"

    def __init__(
        self,
        work: Path,
        upstreams: list[Upstream],
        health: str,
        sticky: bool,
        unsticky_paths: tuple[str, ...] = (),
    ) -> None:
        super().__init__(upstreams, health)
        self.work, self.sticky, self.unsticky_paths = work, sticky, unsticky_paths
        self.port, self.admin_port = free_port(), free_port()
        self.idle_timeout = idle_timeout()  # its transport's keep_alive.idle_timeout
        self.https_port = free_port()  # a TLS server in front of `front` (the replica's cert)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def upstreams_url(self) -> str:
        main = 1 if self.unsticky_paths else 0  # after the unsticky route, when there is one
        return f"{self.api}/config/apps/http/servers/front/routes/{main}/handle/0/upstreams"

    def config(self) -> dict[str, Any]:
        policy = {"policy": "cookie", "name": "lb"} if self.sticky else {"policy": "round_robin"}
        routes: list[dict[str, Any]] = []
        if self.unsticky_paths:  # a route of its own, balanced without the cookie (a fault)
            unsticky = self._proxy({"policy": "round_robin"}, "unsticky-")
            paths = [f"{p}*" for p in self.unsticky_paths]
            routes.append({"match": [{"path": paths}], "handle": [unsticky]})
        routes.append({"handle": [self._proxy(policy, "")]})
        server = {"listen": [f"127.0.0.1:{self.port}"], "routes": routes}
        return {
            "admin": {"listen": f"127.0.0.1:{self.admin_port}"},
            "logging": {"logs": {"default": {"level": "ERROR"}}},
            "apps": {
                "http": {
                    "servers": {
                        "front": server,
                        "front-tls": caddy_tls_server(self.https_port, self.port),
                    }
                },
                "tls": {"certificates": {"load_files": [certificate_files(self.work)]}},
            },
        }

    def _proxy(self, policy: dict[str, str], prefix: str) -> dict[str, Any]:
        """A reverse_proxy handler over every upstream (ids `<prefix>upstream-<target>`)."""
        return {
            "handler": "reverse_proxy",
            "load_balancing": {"selection_policy": policy},
            "trusted_proxies": ["127.0.0.1/32"],  # its own TLS server (callers: 127.0.0.2)
            "health_checks": {
                "active": {"uri": self._health_path, "interval": "1s", "timeout": "1s"}
            },
            "upstreams": [
                {"@id": f"{prefix}upstream-{u.id}", "dial": u.dial}
                for u in self.upstreams.values()
            ],
            "transport": {
                "protocol": "http",
                "keep_alive": {"enabled": True, "idle_timeout": f"{self.idle_timeout}s"},
            },
        }

    def argv(self) -> list[str]:
        path = self.work / "caddy.json"
        path.write_text(json.dumps(self.config()))
        return ["caddy", "run", "--config", str(path)]

    def _call(self, method: str, url: str, body: Any = None) -> None:
        try:
            answer = requests.request(method, url, json=body, timeout=10)
        except requests.RequestException as exc:
            raise ReplicaError(f"Caddy's admin API did not answer: {exc}") from exc
        if answer.status_code >= 300:
            raise ReplicaError(f"Caddy's admin API refused {method} {url}: {answer.text[:200]}")

    def _routes(self) -> list[tuple[str, str]]:
        """Each route's upstream id prefix and its upstreams' URL (the unsticky one first)."""
        main = [("", self.upstreams_url)]
        if not self.unsticky_paths:
            return main
        first = f"{self.api}/config/apps/http/servers/front/routes/0/handle/0/upstreams"
        return [("unsticky-", first), *main]

    def set_maint(self, backend: str, server: str) -> None:
        for prefix, _ in self._routes():
            self._call("DELETE", f"{self.api}/id/{prefix}upstream-{server}")
        self.removed.add(server)

    def set_ready(self, backend: str, server: str, *, recheck: bool = False) -> None:
        dial = self.upstreams[server].dial
        for prefix, url in self._routes():
            self._call("POST", url, {"@id": f"{prefix}upstream-{server}", "dial": dial})
        self.removed.discard(server)

    def profile_drain(self) -> dict[str, str]:
        """The command adapter a Caddy user would write: its admin API, with curl."""
        dials = " ".join(f"{u.id}) D={u.dial} ;;" for u in self.upstreams.values())
        body = '\'{"@id": "upstream-\'{target}\'", "dial": "\'$D\'"}\''
        drain = " && ".join(
            f"curl -sf -X DELETE {self.api}/id/{prefix}upstream-{{target}}"
            for prefix, _ in self._routes()
        )
        restore = " && ".join(
            f"curl -sf -X POST -H 'Content-Type: application/json' "
            f"-d {body.replace('upstream-', prefix + 'upstream-')} {url}"
            for prefix, url in self._routes()
        )
        return {
            "adapter": "command",
            "drain": drain,
            "restore": f"case {{target}} in {dials} esac; {restore}",
            "health": f"case {{target}} in {dials} esac; curl -sf http://$D{self._health_path}",
        }


class NginxFront(_Probed):
    """Open-source nginx: no sticky cookie; affinity hashes the app's session cookie (a fresh
    request id when there is none, so new clients spread), weights honoured."""

    name = "nginx"

    def __init__(
        self,
        work: Path,
        upstreams: list[Upstream],
        health: str,
        sticky: bool,
        cookie: str,
        unsticky_paths: tuple[str, ...] = (),
    ) -> None:
        super().__init__(upstreams, health)
        self.work, self.sticky, self.cookie = work, sticky, cookie
        self.unsticky_paths = unsticky_paths
        self.port = free_port()
        self.idle_timeout = idle_timeout()  # its upstream keepalive_timeout
        self.https_port = free_port()  # ssl, with the replica's certificate
        self.conf = work / "nginx.conf"
        self.pid_file = work / "nginx.pid"

    def _server_line(self, u: Upstream) -> str:
        down = " down" if u.id in self.removed else ""
        return f"    server {u.dial}{down} weight={u.weight} max_fails=1 fail_timeout=2s; # {u.id}"

    def render(self) -> str:
        w = self.work
        balance = "    hash $affinity;\n" if self.sticky else ""  # not ketama: even for 2 servers
        servers = "\n".join(self._server_line(u) for u in self.upstreams.values())
        return (
            f"worker_processes 1;\npid {self.pid_file};\nerror_log {w}/nginx-error.log warn;\n"
            "events { worker_connections 512; }\nhttp {\n  access_log off;\n"
            f"  client_body_temp_path {w}/nginx-body; proxy_temp_path {w}/nginx-proxy;\n"
            f"  fastcgi_temp_path {w}/nginx-fcgi; uwsgi_temp_path {w}/nginx-uwsgi;\n"
            f"  scgi_temp_path {w}/nginx-scgi;\n"
            f"  map $cookie_{self.cookie} $affinity {{\n"
            f'    "" $request_id;\n    default $cookie_{self.cookie};\n  }}\n'
            f"{NGINX_UPGRADE_MAP}"
            f"{self._upstream('app', balance, servers)}"
            f"{self._upstream('app_unsticky', '', servers) if self.unsticky_paths else ''}"
            f"  server {{\n    listen 127.0.0.1:{self.port};\n"
            f"    listen 127.0.0.1:{self.https_port} ssl;\n    ssl_certificate {w}/alb.crt;\n"
            f"    ssl_certificate_key {w}/alb.key;\n"
            + "".join(self._location(p, "app_unsticky") for p in self.unsticky_paths)
            + f"{self._location('/', 'app')}  }}\n}}\n"
        )

    def _upstream(self, name: str, balance: str, servers: str) -> str:
        return (
            f"  upstream {name} {{\n{balance}{servers}\n"
            f"    keepalive 32;\n    keepalive_timeout {self.idle_timeout}s;\n  }}\n"
        )

    @staticmethod
    def _location(path: str, upstream: str) -> str:
        return (
            f"    location {path} {{\n      proxy_pass http://{upstream};\n{NGINX_PROXY_HEADERS}"
            "      proxy_next_upstream error timeout http_502;\n    }\n"
        )

    def argv(self) -> list[str]:
        self.conf.write_text(self.render())
        return ["nginx", "-p", str(self.work), "-c", str(self.conf), "-g", "daemon off;"]

    def _reload(self) -> None:
        self.conf.write_text(self.render())
        try:
            os.kill(int(self.pid_file.read_text().strip()), signal.SIGHUP)
        except (OSError, ValueError) as exc:
            raise ReplicaError(f"nginx could not be told to reload: {exc}") from exc
        time.sleep(RELOAD_SECONDS)

    def set_maint(self, backend: str, server: str) -> None:
        self.removed.add(server)
        self._reload()

    def set_ready(self, backend: str, server: str, *, recheck: bool = False) -> None:
        self.removed.discard(server)
        self._reload()

    def profile_drain(self) -> dict[str, str]:
        """The command adapter an nginx user would write: mark the server down, reload."""
        reload = f"kill -HUP $(cat {self.pid_file}) && sleep {RELOAD_SECONDS:g}"
        line = "^\\(    server [0-9.:]*\\)\\( down\\)\\?\\( .*# \\){target}$"
        return {
            "adapter": "command",
            "drain": f"sed -i 's/{line}/\\1 down\\3{{target}}/' {self.conf} && {reload}",
            "restore": f"sed -i 's/{line}/\\1\\3{{target}}/' {self.conf} && {reload}",
        }
