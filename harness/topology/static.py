"""The static provider: any load balancer described in the profile (HAProxy, Caddy, nginx, ...).

Drain adapters: `haproxy` (its runtime API socket and backend; server names are the target ids)
or `command` (shell commands with a `{target}` placeholder for drain, restore and health, and an
optional `state` command). Without a `state` command, a drained target is `draining` until
`expect.deregistration_delay_seconds` after its drain command succeeded, then `unused`; once
restored it is `healthy` when its health check passes. Without an adapter the targets' health
comes from their direct URL's health-check path.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from typing import Any
from urllib.parse import urlsplit

import requests

from harness.errors import EnvironmentUnavailable, UsageError
from harness.haproxy_admin import HaproxyAdmin, ServerStat
from harness.profile.environment import Environment
from harness.profile.sections import Drain, StaticTarget
from harness.statuses import status_matches
from harness.topology import TargetStates
from harness.topology.base import ProviderBase
from harness.topology.model import (
    HealthCheckSettings,
    Listener,
    LoadBalancer,
    Stickiness,
    Target,
    TargetGroup,
    Topology,
)

COMMAND_TIMEOUT = 60.0
GROUP_NAME = "static"
STATES = ("healthy", "initial", "unhealthy", "draining", "unused")
REASONS = {
    "draining": "Target.DeregistrationInProgress",
    "unused": "Target.NotRegistered",
    "unhealthy": "Target.FailedHealthChecks",
    "initial": "Elb.InitialHealthChecking",
}


def haproxy_state(stat: ServerStat) -> tuple[str, str]:
    """An HAProxy server state in the ALB's vocabulary."""
    status = stat.status
    if status == "MAINT" or status == "DRAIN":
        return (
            ("draining", "Target.DeregistrationInProgress")
            if stat.current_sessions
            else ("unused", "Target.NotRegistered")
        )
    if status.startswith("UP") or status == "no check":
        return "healthy", ""
    return "unhealthy", f"HAProxy {status} ({stat.check_status or 'no check'})"


class StaticProvider(ProviderBase):
    """Targets and settings from the profile; drain through HAProxy or shell commands."""

    name = "static"

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.topo = env.topology
        self.drain_cfg: Drain | None = self.topo.drain
        self._admin: HaproxyAdmin | None = None
        self._drained: dict[str, float] = {}  # target -> when its drain command succeeded
        if self.drain_cfg and self.drain_cfg.adapter == "haproxy":
            if not self.drain_cfg.socket or not self.drain_cfg.backend:
                raise UsageError(
                    f"{env.source}: topology.drain: the haproxy adapter needs socket and backend"
                )
            self._admin = HaproxyAdmin(self.drain_cfg.socket)
        if self.drain_cfg and self.drain_cfg.adapter == "command":
            for key in ("drain", "restore"):
                if not getattr(self.drain_cfg, key):
                    raise UsageError(
                        f"{env.source}: topology.drain.{key}: the command adapter "
                        "needs drain and restore commands with {target}"
                    )

    # ---- resolve --------------------------------------------------------------------------
    def resolve(self) -> Topology:
        expect = self.env.expect
        sticky = expect.stickiness
        states = self.target_states()
        targets = []
        for t in self.topo.targets or ():
            state, reason = states.get(t.id, ("unused", "Target.NotRegistered"))
            url = t.url
            address = t.address or (urlsplit(url).hostname if url else "") or ""
            port = urlsplit(url).port if url else None
            targets.append(Target(t.id, address, port, state, reason, t.zone, url))
        group = TargetGroup(
            name=GROUP_NAME,
            target_type="ip",
            settings_source="expect",
            states_source=self.states_source(),
            stickiness=Stickiness(
                enabled=bool(sticky.enabled if sticky.enabled is not None else bool(sticky)),
                type=sticky.type or "lb_cookie",
                duration_seconds=sticky.duration_seconds or 86400,
            ),
            deregistration_delay_seconds=expect.deregistration_delay_seconds or 0,
            algorithm=expect.algorithm or "round_robin",
            health_check=HealthCheckSettings(**expect.health_check.given()),
            targets=targets,
        )
        entry = str(self.env.url)
        parts = urlsplit(entry)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        lb = LoadBalancer(
            name=parts.hostname or entry,
            dns_name=parts.netloc,
            kind="static",
            listeners=[Listener(parts.scheme.upper(), port, [GROUP_NAME])],
        )
        return Topology(
            self.name,
            entry,
            lb,
            [group],
            redis_url=self.env.redis.url,
            drain_keeps_pinned=self.keeps_pinned,
        )

    def states_source(self) -> str:
        """Where `target_states` reads the targets' states, in words."""
        cfg = self.drain_cfg
        if self._admin is not None and cfg is not None:
            return f"the HAProxy runtime API (show stat, backend {cfg.backend})"
        if cfg and cfg.state:
            return "the profile's state command"
        if cfg and cfg.health:
            return "the profile's health command"
        return "a probe of each target's url (expect.health_check)"

    @property
    def keeps_pinned(self) -> bool:
        """Whether the drain keeps pinned clients on the target (`topology.drain.pinned: keep`)."""
        return bool(self.drain_cfg and self.drain_cfg.pinned == "keep")

    # ---- health -----------------------------------------------------------------------------
    def target_states(self) -> TargetStates:
        ids = [t.id for t in self.topo.targets or ()]
        if self._admin is not None:
            stats = self._admin.servers(str(self.drain_cfg.backend))  # type: ignore[union-attr]
            states = {i: haproxy_state(stats[i]) for i in ids if i in stats}
            return {i: s for i, s in states.items() if s[0] != "unused"}
        if self.drain_cfg and self.drain_cfg.state:
            return self._state_command(ids)
        if self.drain_cfg and self.drain_cfg.health:
            states = {i: self._command_health(i) for i in ids}
        else:
            states = {t.id: self._probe(t) for t in self.topo.targets or ()}
        delay = float(self.env.expect.deregistration_delay_seconds or 0)
        for target_id, since in self._drained.items():
            state = "draining" if time.monotonic() - since < delay else "unused"
            states[target_id] = (state, REASONS[state])
        return states

    def _state_command(self, ids: list[str]) -> TargetStates:
        """The `state` command's answer: JSON {id: state}, lines "id state", or, with
        {target} in it, one word per target."""
        template = str(self.drain_cfg.state)  # type: ignore[union-attr]
        if "{target}" in template:
            words = {i: self._run("state", i).stdout.strip() for i in ids}
        else:
            out = self._run("state", "").stdout.strip()
            try:
                loaded: Any = json.loads(out)
            except json.JSONDecodeError:
                loaded = dict(line.split(None, 1) for line in out.splitlines() if " " in line)
            if not isinstance(loaded, dict):
                raise EnvironmentUnavailable(
                    f"the state command printed {out[:80]!r}: print JSON {{id: state}} or "
                    "one 'id state' line per target"
                )
            words = {str(k): str(v).strip() for k, v in loaded.items()}
        bad = {i: w for i, w in words.items() if w not in STATES}
        if bad:
            raise EnvironmentUnavailable(
                f"the state command printed {bad}: each target's state must be one of "
                f"{', '.join(STATES)}"
            )
        return {i: (w, REASONS.get(w, "")) for i, w in words.items() if i in ids}

    def _probe(self, target: StaticTarget) -> tuple[str, str]:
        """The target's health as its health check would see it (`expect.health_check`: path
        and matcher, as the ALB's)."""
        if not target.url:
            return "unavailable", "no direct URL and no health command"
        health = self.env.expect.health_check
        path, matcher = health.path or "/", str(health.matcher or "200")
        try:
            code = requests.get(target.url.rstrip("/") + path, timeout=5).status_code
        except requests.RequestException as exc:
            return "unhealthy", f"Target.FailedHealthChecks ({type(exc).__name__})"
        if status_matches(code, matcher):
            return "healthy", ""
        return "unhealthy", f"Target.ResponseCodeMismatch {code} (matcher {matcher})"

    def _command_health(self, target_id: str) -> tuple[str, str]:
        result = self._run("health", target_id, check=False)
        return (
            ("healthy", "")
            if result.returncode == 0
            else ("unhealthy", f"health command exited {result.returncode}")
        )

    def _run(
        self, which: str, target_id: str, *, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        template = str(getattr(self.drain_cfg, which))
        command = template.replace("{target}", shlex.quote(target_id))
        result = subprocess.run(
            command,
            shell=True,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        if check and result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise EnvironmentUnavailable(
                f"{which} command for {target_id} exited {result.returncode}: {last}"
            )
        return result

    # ---- drive --------------------------------------------------------------------------------
    def _need_adapter(self) -> Drain:
        if not self.drain_cfg:
            raise UsageError(
                f"{self.env.source}: topology.drain is not set: this environment "
                "cannot drain a target (adapter: haproxy or command)"
            )
        return self.drain_cfg

    def deregister(self, target_id: str) -> dict[str, Any]:
        cfg = self._need_adapter()
        if self._admin is not None and self.keeps_pinned:
            self._admin.set_drain(str(cfg.backend), target_id)
        elif self._admin is not None:
            self._admin.set_maint(str(cfg.backend), target_id)
        else:
            self._run("drain", target_id)
            self._drained[target_id] = time.monotonic()
        return {}

    def register(self, target_id: str, details: dict[str, Any] | None = None) -> None:
        cfg = self._need_adapter()
        if self._admin is not None:  # with health checks, it must pass them before traffic
            stat = self._admin.servers(str(cfg.backend)).get(target_id)
            self._admin.set_ready(str(cfg.backend), target_id, recheck=bool(stat and stat.checked))
        else:
            self._run("restore", target_id)
            self._drained.pop(target_id, None)

    def actions(self) -> tuple[str, ...]:
        return ()

    def perform(self, action: str, target_id: str) -> None:
        raise UsageError(f"the static provider cannot {action} a target")

    def identity(self) -> str:
        if self.drain_cfg and self.drain_cfg.adapter == "haproxy":
            return f"static haproxy {self.drain_cfg.socket} {self.drain_cfg.backend}"
        return f"static {self.env.url}"
