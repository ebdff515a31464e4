"""Healthy stacks the harness was not built with: real Caddy (and nginx) in front of the
replica's app instances and Redis, described as a user would, with a static profile whose drain,
restore and health are shell commands against the balancer's own admin interface."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from harness.replica.processes import free_port, stop_pid, wait_until
from harness.replica.supervisor import Replica

ROOT = Path(__file__).resolve().parent.parent
REPLICA_PROFILE = yaml.safe_load((ROOT / "harness/profile/replica.yaml").read_text())
PASSWORD_VARIABLE = "STACK_APP_PASSWORD"
DRAIN_DELAY = 2


def _targets(replica: Replica) -> list[dict[str, str]]:
    return [{"id": t.id, "url": t.url} for t in replica.targets()]


def _profile(
    name: str, url: str, replica: Replica, drain: dict[str, str], **expect: object
) -> dict:
    """A static profile of the stack: the replica's app contract, its Redis, our balancer."""
    session = dict(REPLICA_PROFILE["session"])
    session["credentials"] = {
        "username": "parity-user-{n}",
        "password": "${" + PASSWORD_VARIABLE + "}",
    }
    return {
        "name": name,
        "url": url,
        "topology": {"provider": "static", "targets": _targets(replica), "drain": drain},
        "identity": {"header": "X-Instance-Id"},
        "expect": {
            "targets": 2,
            "deregistration_delay_seconds": DRAIN_DELAY,
            "health_check": {"path": "/healthz"},
            "error_budget": 0,
            "version": {"path": "/version", "json": "/build"},
            **expect,
        },
        "session": session,
        "redis": {"url": replica.redis_url, **REPLICA_PROFILE["redis"]},
        "failover": REPLICA_PROFILE["failover"],
        "safety": {"allow_disruptive": True, "max_users": 50, "max_rps": 300},
    }


def _caddy_config(front: int, admin: int, replica: Replica) -> dict:
    upstreams = [
        {"@id": f"upstream-{t.id}", "dial": t.url.split("//")[1]} for t in replica.targets()
    ]
    proxy = {
        "handler": "reverse_proxy",
        "load_balancing": {"selection_policy": {"policy": "cookie", "name": "lb"}},
        "health_checks": {"active": {"uri": "/healthz", "interval": "1s", "timeout": "1s"}},
        "upstreams": upstreams,
    }
    server = {"listen": [f"127.0.0.1:{front}"], "routes": [{"handle": [proxy]}]}
    return {
        "admin": {"listen": f"127.0.0.1:{admin}"},
        "logging": {"logs": {"default": {"level": "ERROR"}}},
        "apps": {"http": {"servers": {"front": server}}},
    }


def _caddy_drain(admin: int, replica: Replica) -> dict[str, str]:
    """Drain: DELETE the upstream by its @id; restore: POST it back (its dial per target)."""
    api = f"http://127.0.0.1:{admin}"
    upstreams = f"{api}/config/apps/http/servers/front/routes/0/handle/0/upstreams"
    dials = " ".join(f"{t.id}) D={t.url.split('//')[1]} ;;" for t in replica.targets())
    return {
        "adapter": "command",
        "drain": f"curl -sf -X DELETE {api}/id/upstream-{{target}}",
        "restore": (
            f"case {{target}} in {dials} esac; curl -sf -X POST -H 'Content-Type: "
            f'application/json\' -d \'{{"@id": "upstream-\'{{target}}\'", "dial": "\'$D\'"}}\' '
            f"{upstreams}"
        ),
    }


@contextmanager
def caddy_stack(replica: Replica, work: Path) -> Iterator[Path]:
    """Caddy 2 (`lb_policy cookie`) in front of the replica's instances; its profile's path."""
    front, admin = free_port(), free_port()
    config = work / "caddy.json"
    config.write_text(json.dumps(_caddy_config(front, admin, replica)))
    log = (work / "caddy.log").open("wb")
    proc = subprocess.Popen(
        ["caddy", "run", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{front}/healthz"), 20, "Caddy to proxy")
        profile = work / "caddy-stack.yaml"
        body = _profile(
            "caddy-stack", f"http://127.0.0.1:{front}", replica, _caddy_drain(admin, replica),
            balancer="caddy",
        )  # fmt: skip
        profile.write_text(yaml.safe_dump(body, sort_keys=False))
        yield profile
    finally:
        stop_pid(proc.pid, timeout=5, proc=proc)
        log.close()


def _answers(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False
