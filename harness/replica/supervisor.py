"""The replica supervisor: redis-server, N gunicorn instances and the local ALB (HAProxy).

`Replica` is a context manager; `parity up` runs one inside a background daemon. Every child is
stopped by its PID when the replica stops, on an exception or on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.errors import ReplicaError, UsageError
from harness.haproxy_admin import HaproxyAdmin
from harness.replica import alb_config, alb_groups, alb_spec, connections, faults
from harness.replica.app_settings import AppSettings
from harness.replica.assets import publish
from harness.replica.fronts import CaddyFront, Front, NginxFront, Upstream
from harness.replica.processes import (
    Spawner,
    free_port,
    http_ok,
    require_binary,
    stop_pid,
    wait_until,
)
from harness.replica.spec import ReplicaConfig
from harness.replica.store import ReplicaStore
from harness.replica.targets import Instance, TargetOperations
from harness.replica.tls import make_certificate

START_TIMEOUT = 20.0


class Replica(TargetOperations):
    """The embedded staging replica; start() it or use it as a context manager."""

    def __init__(self, config: ReplicaConfig | None = None, work_dir: Path | None = None) -> None:
        self.config = config or ReplicaConfig()
        self._tmp = None if work_dir else tempfile.TemporaryDirectory(prefix="parity-replica-")
        self.work_dir = work_dir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.password = secrets.token_urlsafe(12)
        self._spawner = Spawner(self.work_dir)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None
        self._instances: list[Instance] = []
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.redis_port = self.http_port = self.https_port = 0
        self.front: Front = HaproxyAdmin(f"unix:{self.work_dir / 'haproxy.sock'}")
        self.sticky = (True, self.config.stickiness_seconds, self.config.algorithm)
        self.other_front: CaddyFront | NginxFront | None = None  # Caddy or nginx, when asked
        self._groups = tuple(
            alb_spec.Group(name, weight, secrets.token_hex(8).upper())
            for name, weight in self.config.groups
        )
        self.weights: dict[str, int] = dict(self.config.groups)  # as changed at run time
        self._weights_map = self.work_dir / "weights.map"
        self.store = ReplicaStore(self.config.store, self.config.faults, self.work_dir)
        self.asset_dir = self.work_dir / "assets"  # the shared asset store builds publish to
        self.build_history: list[str] = list(reversed(self.config.builds)) or [self.config.build]
        self.idle_timeout = connections.idle_timeout()  # the front end's, 60 s as on AWS

    # ---- life cycle -------------------------------------------------------------------
    def __enter__(self) -> Replica:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> Replica:
        """Start every part and wait until the local ALB routes to healthy targets."""
        front = "haproxy" if self.config.balancer == "alb" else self.config.balancer
        for binary in ("redis-server", front, "openssl"):
            require_binary(binary)
        try:
            self._start_redis()
            self._plan_instances()
            for inst in self._instances:
                self._start_instance(inst)
                self._start_late_fin(inst)
            make_certificate(self.work_dir)
            self._wait_redis()
            for inst in self._instances:
                self._wait_instance(inst)
            if self.config.balancer == "alb":
                self._start_alb()
            else:
                self._start_front()
        except BaseException:
            self.stop()
            raise
        self._monitor = threading.Thread(target=self._watch, name="parity-monitor", daemon=True)
        self._monitor.start()
        return self

    def stop(self) -> None:
        """Stop every child by its PID; safe to call twice."""
        self._stop.set()
        if self._monitor is not None:
            self._monitor.join(timeout=2)
        for name, proc in reversed(list(self._procs.items())):
            stop_pid(proc.pid, timeout=5, proc=proc)
            del self._procs[name]
        self._spawner.close()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()

    def child_pids(self) -> dict[str, int]:
        """Name and PID of every running child (for the state file)."""
        with self._lock:
            return {name: proc.pid for name, proc in self._procs.items()}

    # ---- start-up ---------------------------------------------------------------------
    def _start_redis(self) -> None:
        def spawn(name: str, argv: list[str]) -> None:
            self._procs[name] = self._spawner.spawn(name, argv)

        self.store.start(spawn)
        self.redis_port = self.store.primary_port

    def _wait_redis(self) -> None:
        names = [n for n in self._procs if n.startswith(("redis", "sentinel"))]

        def alive() -> None:
            for name in names:
                self._check_alive(name)

        self.store.wait(alive)

    def _plan_instances(self) -> None:
        cfg = self.config
        base = AppSettings(
            instance_id="",
            build=cfg.build,
            secret_key=secrets.token_hex(32),
            redis_url=self.store.app_url(),
            password=self.password,
            session_ttl=cfg.session_ttl,
            cookie_lifetime=cfg.cookie_lifetime,
        )
        for build in self.build_history:  # the deployed builds' assets, published before start
            publish(self.asset_dir, build)
        groups: list[str | None] = [name for name, _ in cfg.groups] or [None]  # None: one group
        for g, group in enumerate(groups):
            for i in range(cfg.instances):
                n = g * cfg.instances + i  # the index faults see, across every group
                target_id = f"{group}-{i + 1}" if group else f"app-{i + 1}"
                build = cfg.builds[n % len(cfg.builds)] if cfg.builds else cfg.build
                settings = faults.instance_settings(
                    dataclasses.replace(base, build=build), n, cfg.faults, cfg.faulty_instance - 1
                )
                settings = dataclasses.replace(
                    settings,
                    session_format=faults.session_format(
                        settings.build, self.build_history[0], cfg.faults
                    ),
                    asset_dir=str(self.asset_dir),
                )
                health = str(self.work_dir / f"{target_id}.unhealthy")
                settings = dataclasses.replace(settings, instance_id=target_id, health_file=health)
                self._instances.append(
                    Instance(
                        id=target_id,
                        port=free_port(),
                        token=secrets.token_hex(8).upper(),
                        weight=faults.target_weight(n, cfg.faults),
                        settings=settings,
                        backend=f"{alb_spec.BACKEND}-{group}" if group else alb_spec.BACKEND,
                    )
                )

    def _start_instance(self, inst: Instance) -> None:
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "--no-control-socket",
            "-k",
            "gthread",
            "--workers",
            "1",
            "--threads",
            "32",
            "--graceful-timeout",
            str(faults.shutdown_grace(self.config.faults)),
            "--keep-alive",
            str(connections.target_keepalive(self.idle_timeout, inst.settings.keep_alive)),
            "--forwarded-allow-ips",  # trust no proxy itself: the app decides (ProxyFix), as in
            connections.UNTRUSTED_PROXY,  # production, where the balancer is not 127.0.0.1
            "--bind",
            f"127.0.0.1:{inst.port}",
            "harness.replica.app:create_app()",
        ]
        inst.proc = self._spawner.spawn(inst.id, argv, inst.settings.to_env())
        self._procs[inst.id] = inst.proc

    def _start_late_fin(self, inst: Instance) -> None:
        """The short-keepalive instance's close reaches the front end late, as over a network
        (`late_fin`): the keep-alive race then gives real 502s."""
        if not inst.settings.keep_alive:
            return
        inst.relay_port = free_port()
        argv = [sys.executable, "-m", "harness.replica.late_fin", str(inst.relay_port)]
        argv += [str(inst.port), str(faults.LATE_FIN_SECONDS)]
        self._procs[f"{inst.id}-late-fin"] = self._spawner.spawn(f"{inst.id}-late-fin", argv)

    def _wait_instance(self, inst: Instance) -> None:
        def healthy() -> bool:
            self._check_alive(inst.id)
            return http_ok(f"http://127.0.0.1:{inst.port}/healthz") and http_ok(
                f"http://127.0.0.1:{inst.balancer_port}/healthz"
            )

        wait_until(healthy, START_TIMEOUT, f"instance {inst.id} to answer /healthz")

    def _start_alb(self) -> None:
        self.http_port, self.https_port = free_port(), free_port()
        cfg = self.config
        enabled, seconds = faults.stickiness(
            cfg.stickiness_enabled, cfg.stickiness_seconds, cfg.faults
        )
        spec = alb_spec.AlbSpec(
            targets=tuple(
                alb_spec.Target(i.id, i.balancer_port, i.token, i.weight, i.backend)
                for i in self._instances
            ),
            http_port=self.http_port,
            https_port=self.https_port,
            certificate=str(self.work_dir / "alb.pem"),
            admin_socket=str(self.work_dir / "haproxy.sock"),
            cookie_key=secrets.randbelow(2**61) + 2**61,
            stickiness_enabled=enabled,
            stickiness_seconds=seconds,
            app_cookie=cfg.app_cookie if cfg.stickiness_type == "app_cookie" else None,
            algorithm=cfg.algorithm,
            health=cfg.health,
            groups=self._groups,
            group_stickiness_seconds=cfg.group_stickiness,
            weights_map=str(self._weights_map),
            idle_timeout=self.idle_timeout,
            unsticky_paths=faults.unsticky_paths(cfg.faults),
        )
        if self._groups:
            pairs = [(g.name, g.weight) for g in self._groups]
            self._weights_map.write_text(
                alb_groups.map_text(faults.applied_weights(pairs, cfg.faults))
            )
        self.sticky = (enabled, seconds, cfg.algorithm)
        path = self.work_dir / "haproxy.cfg"
        path.write_text(alb_config.render(spec))
        self._procs["haproxy"] = self._spawner.spawn("haproxy", ["haproxy", "-db", "-f", str(path)])

        def routing() -> bool:
            self._check_alive("haproxy")
            return http_ok(f"{self.url}/healthz")

        wait_until(routing, START_TIMEOUT, "the local ALB to route requests")

    def _start_front(self) -> None:
        """Caddy or nginx in front of the instances, instead of the local ALB."""
        cfg = self.config
        enabled, seconds = faults.stickiness(
            cfg.stickiness_enabled, cfg.stickiness_seconds, cfg.faults
        )
        upstreams = [Upstream(i.id, i.balancer_port, i.weight) for i in self._instances]
        path = cfg.health.path
        unsticky = faults.unsticky_paths(cfg.faults)
        front: CaddyFront | NginxFront = (
            CaddyFront(self.work_dir, upstreams, path, enabled, unsticky)
            if cfg.balancer == "caddy"
            else NginxFront(self.work_dir, upstreams, path, enabled, "session", unsticky)
        )
        self._procs[cfg.balancer] = self._spawner.spawn(cfg.balancer, front.argv())
        self.front, self.other_front = front, front
        self.http_port, self.sticky = front.port, (enabled, seconds, cfg.algorithm)

        def routing() -> bool:
            self._check_alive(cfg.balancer)
            return http_ok(f"{self.url}{path}")

        wait_until(routing, START_TIMEOUT, f"{cfg.balancer} to route requests")

    def _adopt_build(self, build: str, inst: Instance) -> AppSettings:
        """`inst`'s settings on `build`, its assets published first (as a deploy does)."""
        if build not in self.build_history:
            self.build_history.append(build)
        publish(self.asset_dir, build)
        fmt = faults.session_format(build, self.build_history[0], self.config.faults)
        return dataclasses.replace(inst.settings, build=build, session_format=fmt)

    def _check_alive(self, name: str) -> None:
        proc = self._procs.get(name)
        if proc is not None and proc.poll() is not None:
            tail = self._spawner.log_tail(name)
            raise ReplicaError(f"{name} exited with code {proc.returncode} at start: {tail}")

    # ---- what it is -------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def https_url(self) -> str:
        """The HTTPS listener (the local ALB has one; Caddy and nginx here serve HTTP only)."""
        return f"https://127.0.0.1:{self.https_port}" if self.https_port else ""

    @property
    def ca_file(self) -> str:
        """The self-signed certificate of the HTTPS listener, for clients to verify against."""
        return str(self.work_dir / "alb.crt")

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def set_weights(self, weights: dict[str, int]) -> None:
        """New weights for the weighted forward, at once (HAProxy's `set map`)."""
        if not self._groups:
            raise UsageError("this replica has one target group: start it with --groups")
        names = [g.name for g in self._groups]
        if sorted(weights) != sorted(names) or any(not 0 <= w <= 999 for w in weights.values()):
            raise UsageError(
                f"weights {weights}: give every group ({', '.join(names)}) a weight of 0 to 999"
            )
        ordered = [(name, weights[name]) for name in names]
        admin = self.front
        assert isinstance(admin, HaproxyAdmin)
        with self._lock:
            applied = faults.applied_weights(ordered, self.config.faults)
            for name, cut in alb_groups.thresholds(applied).items():
                admin.command(f"set map {self._weights_map} {name} {cut}")
            self.weights = dict(ordered)

    def _group_descriptions(self) -> list[dict[str, Any]]:
        if not self._groups:
            ids = [i.id for i in self._instances]
            return [{"name": "parity-replica", "weight": None, "targets": ids}]
        return [
            {
                "name": f"parity-{g.name}",
                "weight": self.weights[g.name],
                "targets": [i.id for i in self._instances if i.backend == g.backend],
            }
            for g in self._groups
        ]

    def describe(self) -> dict[str, Any]:
        """The replica as JSON: entry URLs, target group settings and target states."""
        enabled, seconds, algorithm = self.sticky
        return {
            "balancer": self.config.balancer,
            "url": self.url,
            "https_url": self.https_url,
            "ca_file": self.ca_file,
            "redis_url": self.redis_url,
            "faults": list(self.config.faults),
            "load_balancer_attributes": {connections.IDLE_ATTRIBUTE: str(self.idle_timeout)},
            "target_group": {
                "name": "parity-replica",
                "stickiness": {
                    "enabled": enabled,
                    "type": self.config.stickiness_type,
                    "duration_seconds": seconds,
                    **({"cookie_name": self.config.app_cookie} if self.config.app_cookie else {}),
                },
                "deregistration_delay_seconds": self.config.deregistration_delay,
                "algorithm": algorithm,
                "health_check": dataclasses.asdict(self.config.health),
            },
            "targets": [t.to_json() for t in self.targets()],
            "target_groups": self._group_descriptions(),
            "store": self.store.describe(),
            "group_stickiness_seconds": self.config.group_stickiness,
        }
