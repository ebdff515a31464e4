"""The profile of a replica that the default one does not describe, written by `parity up`.

Behind Caddy or nginx (`--balancer caddy|nginx`): the static provider, as a user would write it,
so every check drives that front end through its own interface (the command adapter), never
through the replica's private control API. With `--stickiness app_cookie`: the replica provider,
expecting the ALB's application-based stickiness. With `--builds`: the builds it serves declared
(`expect.version.builds`), so a mixed replica is not version skew. It goes to
`$PARITY_HOME/replica-<kind>.yaml` (mode 0600: it may hold the replica's password) and the
commands that default to the replica use it while that replica runs.
"""

from __future__ import annotations

import datetime
import os
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from harness.home import home
from harness.replica.spec import ReplicaConfig
from harness.replica.supervisor import Replica

REPLICA_RECOVERY_SECONDS = 10  # the replica's clean failover recovers in about 1 s


def started_targets(cfg: ReplicaConfig) -> int:
    """Every target the replica starts: `--instances` in each weighted group (`--groups`); the
    built-in profile of a plain `parity up` expects the same (`provider.expecting_started`)."""
    return cfg.instances * max(1, len(cfg.groups))


def needs_profile(replica: Replica) -> bool:
    cfg = replica.config
    return (
        replica.other_front is not None
        or cfg.stickiness_type == "app_cookie"
        or bool(cfg.groups)
        or cfg.store == "sentinel"
        or bool(cfg.builds)
    )


def _kind(replica: Replica) -> str:
    cfg = replica.config
    if replica.other_front:
        return cfg.balancer
    if cfg.groups:
        return "groups"
    if cfg.store == "sentinel":
        return "sentinel"
    return "app-cookie" if cfg.stickiness_type == "app_cookie" else "builds"


def _version(cfg: ReplicaConfig, base: dict[str, Any]) -> dict[str, Any]:
    """`expect.version`, declaring the builds of a mixed replica (`--builds`)."""
    version = dict(base["expect"]["version"])
    if cfg.builds:
        version["builds"] = list(cfg.builds)
    return version


def variant_profile(replica: Replica) -> dict[str, Any]:
    """The default replica profile, expecting what this replica was started with: weighted
    target groups (`--groups`), application-based stickiness on the app's cookie, a sentinel
    store, the builds of a mixed replica (`--builds`)."""
    profile = yaml.safe_load(
        resources.files("harness.profile").joinpath("replica.yaml").read_text()
    )
    cfg = replica.config
    profile["name"] = f"replica-{_kind(replica)}"
    profile["expect"]["targets"] = started_targets(cfg)
    profile["expect"]["version"] = _version(cfg, profile)
    if cfg.stickiness_type == "app_cookie":
        profile["expect"]["stickiness"] = {
            "enabled": True,
            "type": "app_cookie",
            "duration_seconds": cfg.stickiness_seconds,
            "cookie_name": cfg.app_cookie,
        }
        profile["expect"].pop("cookie", None)  # the ALB's app-cookie rule: AWSALBAPP-0..3
    if cfg.store == "sentinel":
        store = replica.store.describe()
        profile["redis"].update(
            mode="sentinel", sentinels=store["sentinels"], service=store["service"]
        )
        profile["expect"]["store_failover"] = {"max_recovery_seconds": REPLICA_RECOVERY_SECONDS}
    return dict(profile)


def _drain(adapter: dict[str, str], faults: tuple[str, ...]) -> dict[str, str]:
    """The front end's drain adapter; with `ignored-drain` its drain succeeds and does nothing
    (a deploy script that drains another server, say)."""
    return {**adapter, "drain": "true"} if "ignored-drain" in faults else adapter


def front_profile(replica: Replica) -> dict[str, Any]:
    """A static profile of the replica's Caddy or nginx front end."""
    front = replica.other_front
    assert front is not None
    base = yaml.safe_load(resources.files("harness.profile").joinpath("replica.yaml").read_text())
    session = dict(base["session"])
    session["credentials"] = {"username": "parity-user-{n}", "password": replica.password}
    cfg = replica.config
    return {
        "name": f"replica-{front.name}",
        "production": False,
        "url": replica.url,
        "tls_verify": replica.ca_file,  # the HTTPS entry's self-signed certificate
        "topology": {
            "provider": "static",
            "targets": [{"id": t.id, "url": t.url} for t in replica.targets()],
            "drain": _drain(front.profile_drain(), cfg.faults),
        },
        "identity": base["identity"],
        "expect": {
            "balancer": front.name,
            "targets": started_targets(cfg),
            "deregistration_delay_seconds": cfg.deregistration_delay,
            "health_check": {"path": cfg.health.path},
            "error_budget": 0,
            "version": _version(cfg, base),
            "assets": base["expect"]["assets"],
            "idle_timeout_seconds": front.idle_timeout,  # its upstream keep-alive, set at start
            "client_ip": base["expect"]["client_ip"],
            "longest_request": base["expect"]["longest_request"],
            "redirect_paths": base["expect"]["redirect_paths"],
            "https_entry": f"https://127.0.0.1:{front.https_port}",
        },
        "deploy": base["deploy"],
        "session": session,
        "realtime": base["realtime"],
        "redis": {**base["redis"], "url": replica.redis_url},
        "failover": base["failover"],
        "safety": base["safety"],
        "accept": _accepted(front.name),
    }


CADDY_RELOAD_CLOSES_STREAMS = (  # what the replica's Caddy profile accepts, and why
    "realtime::test_drain_keeps_streams_for_its_delay_and_they_come_back_with_their_session",
    "Caddy 2.6 closes every WebSocket at each change of its config, a drain through its admin "
    "API included (caddyserver/caddy 3143)",
)
ACCEPTED_FOR_DAYS = 365


def _accepted(front_name: str) -> list[dict[str, Any]]:
    """Known findings of a front end as it is, accepted with the reason (shown in reports)."""
    if front_name != "caddy":
        return []
    check, reason = CADDY_RELOAD_CLOSES_STREAMS
    until = datetime.date.today() + datetime.timedelta(days=ACCEPTED_FOR_DAYS)
    return [{"check": check, "fault": "abrupt-drain", "reason": reason, "until": until}]


def write_front_profile(replica: Replica) -> Path:
    kind = _kind(replica)
    path = home() / f"replica-{kind}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = front_profile(replica) if replica.other_front else variant_profile(replica)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"# Written by `parity up` (the replica's {kind} front end); removed by down.\n")
        yaml.safe_dump(body, out, sort_keys=False)
    return path
