"""The static provider (real HAProxy runtime API, shell commands) and the replica provider."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from harness.disruption.drain import Transition, restore, wait_drained
from harness.errors import EnvironmentUnavailable
from harness.profile.environment import parse_profile, replica_profile
from harness.replica.provider import ReplicaProvider
from harness.replica.running import ReplicaHandle
from harness.replica.supervisor import Replica
from harness.topology.static import StaticProvider
from tests.helpers import TIMEOUT

pytestmark = pytest.mark.servers

Pair = tuple[Replica, ReplicaHandle]


def static_profile(replica: Replica, handle: ReplicaHandle, drain: str) -> str:
    targets = "\n".join(f'    - {{id: {t.id}, url: "{t.url}"}}' for t in replica.targets())
    return (
        f"name: static-haproxy\nurl: {handle.url}\ntopology:\n  provider: static\n"
        f"  targets:\n{targets}\n  drain: {drain}\n"
        "expect:\n  stickiness: {duration_seconds: 86400}\n"
        "  deregistration_delay_seconds: 0\n  health_check: {path: /healthz}\n"
    )


def test_static_haproxy_adapter_drains_and_restores_through_the_runtime_api(
    fresh_replica: Pair,
) -> None:
    replica, handle = fresh_replica
    socket = replica.work_dir / "haproxy.sock"
    env = parse_profile(
        static_profile(
            replica, handle, f'{{adapter: haproxy, socket: "unix:{socket}", backend: tg}}'
        ),
        "static.yaml",
    )
    provider = StaticProvider(env)
    topo = provider.resolve()
    assert [(t.id, t.state) for t in topo.targets] == [("app-1", "healthy"), ("app-2", "healthy")]
    assert topo.load_balancer.listeners[0].protocol == "HTTP"
    assert topo.target_groups[0].states_source == "the HAProxy runtime API (show stat, backend tg)"
    record = Transition("app-1", "deregister", time.time())
    provider.deregister("app-1")
    wait_drained(provider, record, delay_seconds=0)
    assert record.states()[-1] in ("unused", "gone")
    seen = {
        requests.get(handle.url + "/", timeout=TIMEOUT).headers["X-Instance-Id"] for _ in range(6)
    }
    assert seen == {"app-2"}
    back = restore(provider, "app-1", timeout=15)
    assert back.states()[-1] == "healthy"
    assert "unhealthy" in back.states(), "must pass the health checks before taking traffic"


def test_static_command_adapter_runs_the_commands(tmp_path: Path, fresh_replica: Pair) -> None:
    """Without a state command a drain completes once the command succeeded and the delay
    elapsed; a restore once the health check passes."""
    replica, handle = fresh_replica
    flags = tmp_path
    drain = (
        f'{{adapter: command, drain: "touch {flags}/{{target}}.out", '
        f'restore: "rm -f {flags}/{{target}}.out", health: "test ! -e {flags}/{{target}}.out"}}'
    )
    text = static_profile(replica, handle, drain).replace(
        "deregistration_delay_seconds: 0", "deregistration_delay_seconds: 1"
    )
    provider = StaticProvider(parse_profile(text, "cmd.yaml"))
    provider.deregister("app-2")
    assert (flags / "app-2.out").exists()
    assert provider.target_states() == {
        "app-1": ("healthy", ""),
        "app-2": ("draining", "Target.DeregistrationInProgress"),
    }
    time.sleep(1.1)
    assert provider.target_states()["app-2"] == ("unused", "Target.NotRegistered")
    provider.register("app-2")
    assert provider.target_states()["app-2"] == ("healthy", "")
    (flags / "app-2.out").touch()  # restored, but failing its health check
    assert provider.target_states()["app-2"] == ("unhealthy", "health command exited 1")


def test_static_command_adapter_reads_a_state_command(tmp_path: Path, fresh_replica: Pair) -> None:
    replica, handle = fresh_replica
    states = tmp_path / "states"
    drain = f'{{adapter: command, drain: "true", restore: "true", state: "cat {states}"}}'
    provider = StaticProvider(parse_profile(static_profile(replica, handle, drain), "st.yaml"))
    states.write_text('{"app-1": "healthy", "app-2": "draining"}')
    assert provider.target_states() == {
        "app-1": ("healthy", ""),
        "app-2": ("draining", "Target.DeregistrationInProgress"),
    }
    states.write_text("app-1 initial\napp-2 unused\n")
    assert provider.target_states() == {
        "app-1": ("initial", "Elb.InitialHealthChecking"),
        "app-2": ("unused", "Target.NotRegistered"),
    }
    for garbage in ("app-1 sleeping\n", "[1, 2]"):
        states.write_text(garbage)
        with pytest.raises(EnvironmentUnavailable, match="state command printed"):
            provider.target_states()


def test_replica_provider_resolves_the_replica(fresh_replica: Pair) -> None:
    _, handle = fresh_replica
    topo = ReplicaProvider(replica_profile(), handle).resolve()
    assert topo.entry_url == handle.url and topo.redis_url == handle.redis_url
    assert [li.protocol for li in topo.load_balancer.listeners] == ["HTTP", "HTTPS"]
    (group,) = topo.target_groups
    assert group.stickiness.enabled and group.stickiness.duration_seconds == 86400
    assert group.deregistration_delay_seconds == 2
    assert [t.direct_url for t in group.targets] == [
        t["url"] for t in handle.control.describe()["targets"]
    ]
    assert "replica_password" in topo.secrets and "secrets" not in topo.to_json()
