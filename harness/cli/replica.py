"""`parity up`, `parity status`, `parity down`: the embedded replica's lifecycle."""

from __future__ import annotations

import argparse
import json
from typing import Any

from harness.errors import UsageError
from harness.replica.faults import FAULTS
from harness.replica.spec import (
    ACTIONS,
    BALANCERS,
    DEFAULT_DEREGISTRATION_DELAY,
    DEFAULT_FAULTY_INSTANCE,
    DEFAULT_STICKINESS_SECONDS,
    STICKINESS_TYPES,
    STORES,
    ReplicaConfig,
    parse_builds,
    parse_groups,
)


def _print_targets(targets: list[dict[str, Any]]) -> None:
    print(f"  {'target':<10} {'state':<10} {'reason':<32} {'build':<12} url")
    for t in targets:
        build = t.get("build") or "-"
        print(f"  {t['id']:<10} {t['state']:<10} {t['reason'] or '-':<32} {build:<12} {t['url']}")


def cmd_up(args: argparse.Namespace) -> int:
    from harness.replica import lifecycle

    config = ReplicaConfig(
        instances=args.instances,
        faults=tuple(args.fault),
        stickiness_seconds=args.stickiness_seconds,
        deregistration_delay=args.deregistration_delay,
        deregistration_lag=args.deregistration_lag,
        algorithm=args.algorithm,
        balancer=args.balancer,
        stickiness_type=args.stickiness,
        app_cookie=args.app_cookie,
        groups=parse_groups(args.groups) if args.groups else (),
        group_stickiness=args.group_stickiness,
        store=args.store,
        builds=parse_builds(args.builds) if args.builds else (),
        faulty_instance=args.faulty_instance,
    )
    handle = lifecycle.up(config)
    described = handle.control.describe()
    https = f"  (https: {handle.https_url})" if handle.https_url else ""
    print(f"replica up: {handle.url}{https}  front end: {config.balancer}")
    print(f"  redis: {handle.redis_url}   control: {handle.control_url}")
    if config.faults:
        print(f"  faults: {', '.join(config.faults)} (faulty instance: {config.faulty_instance})")
    _print_targets(described["targets"])
    state = lifecycle.running_state() or {}
    if state.get("profile"):
        print(
            f"  profile: {state['profile']} (static provider; drains through "
            f"{config.balancer}'s own interface); every command uses it while this replica runs"
        )
    print("stop it with: parity down")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from harness.replica import lifecycle

    described = lifecycle.status()
    if args.json:
        print(json.dumps(described, indent=2))
        return 0
    tg = described["target_group"]
    print(f"replica: {described['url']}  (https: {described['https_url']})")
    print(f"  redis: {described['redis_url']}   faults: {', '.join(described['faults']) or 'none'}")
    sticky = tg["stickiness"]
    cookie = f" on {sticky['cookie_name']}" if sticky.get("cookie_name") else ""
    print(
        f"  stickiness: {sticky['type']}{cookie} "
        f"{sticky['enabled'] and sticky['duration_seconds']}"
        f" s   deregistration delay: {tg['deregistration_delay_seconds']:g} s"
        f"   algorithm: {tg['algorithm']}"
    )
    _print_targets(described["targets"])
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from harness.replica import lifecycle

    stopped = lifecycle.down()
    print(f"replica stopped ({', '.join(stopped)})" if stopped else "no replica was running")
    return 0


def cmd_weights(args: argparse.Namespace) -> int:
    """New weights for the running replica's weighted forward: `blue=50 green=50`."""
    from harness.replica import lifecycle

    weights: dict[str, int] = {}
    for pair in args.weights:
        name, _, weight = pair.partition("=")
        if not weight.isdigit():
            raise UsageError(f"{pair!r}: expected GROUP=WEIGHT, for example blue=50")
        weights[name] = int(weight)
    now = lifecycle.running_handle().control.set_weights(weights)
    print("weights: " + ", ".join(f"{name} {weight}" for name, weight in now.items()))
    return 0


def cmd_rollout(args: argparse.Namespace) -> int:
    """A rolling deploy of the running replica to --build, and/or back (--rollback)."""
    from harness.replica import lifecycle
    from harness.replica.rollout import roll

    handle = lifecycle.running_handle()
    done = roll(handle.control, args.build, args.batch, args.rollback, print)
    _print_targets(handle.control.describe()["targets"])
    print(f"rollout done: {len(done.steps)} target deploys")
    return 0


def cmd_act(args: argparse.Namespace) -> int:
    """One action on one target of the running replica, through its control API."""
    from harness.replica import lifecycle

    handle = lifecycle.running_handle()
    handle.control.act(args.target, args.action)
    described = handle.control.describe()
    _print_targets([t for t in described["targets"] if t["id"] == args.target])
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = sub.add_parser("up", help="start the embedded replica in the background")
    up.add_argument("--instances", type=int, default=2, help="app instances (default 2)")
    up.add_argument(
        "--fault",
        action="append",
        default=[],
        choices=sorted(FAULTS),
        metavar="NAME",
        help=f"break it on purpose: {', '.join(sorted(FAULTS))}",
    )
    up.add_argument(
        "--faulty-instance",
        type=int,
        default=DEFAULT_FAULTY_INSTANCE,
        metavar="N",
        help="the instance (1-based) that per-instance faults such as local-sessions or "
        f"stale-cache break (default {DEFAULT_FAULTY_INSTANCE})",
    )
    up.add_argument(
        "--stickiness",
        default="lb_cookie",
        choices=STICKINESS_TYPES,
        help="lb_cookie (AWSALB, default) or app_cookie (AWSALBAPP follows --app-cookie)",
    )
    up.add_argument(
        "--app-cookie",
        metavar="NAME",
        help="the app's cookie for app_cookie (the replica's: session)",
    )
    up.add_argument("--stickiness-seconds", type=int, default=DEFAULT_STICKINESS_SECONDS)
    up.add_argument(
        "--store",
        default="standalone",
        choices=STORES,
        help="the session store: one redis-server (default), or sentinel (a primary, a replica "
        "and three sentinels; the app connects through Sentinel)",
    )
    up.add_argument(
        "--builds",
        metavar="NEW,OLD",
        help="mixed builds, newest first (current,previous): the instances take them in turn",
    )
    up.add_argument(
        "--groups",
        metavar="NAME:WEIGHT,...",
        help="weighted target groups behind the listener, --instances each: blue:90,green:10",
    )
    up.add_argument(
        "--group-stickiness",
        type=int,
        default=0,
        metavar="S",
        help="target-group stickiness (AWSALBTG) duration; 0: off (default)",
    )
    up.add_argument(
        "--deregistration-delay", type=float, default=DEFAULT_DEREGISTRATION_DELAY, metavar="S"
    )
    up.add_argument(
        "--deregistration-lag",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds new requests still reach a deregistered target, as while a real ALB's "
        "deregistration propagates (default 0)",
    )
    up.add_argument(
        "--algorithm", default="round_robin", choices=["round_robin", "least_outstanding_requests"]
    )
    up.add_argument(
        "--balancer",
        default="alb",
        choices=BALANCERS,
        help="the front end: alb (HAProxy behaving as an ALB; default), caddy (Caddy 2, "
        "lb_policy cookie) or nginx (open source, affinity by the session cookie's hash)",
    )
    up.set_defaults(handler=cmd_up)
    replica = sub.add_parser("replica", help="act on the running replica's targets")
    actions = replica.add_subparsers(dest="replica_command", required=True, metavar="ACTION")
    act = actions.add_parser(
        "act", help="deregister, register, fail or pass health, kill or restart one target"
    )
    act.add_argument("target", metavar="TARGET", help="app-1, app-2, ...")
    act.add_argument("action", choices=ACTIONS, metavar="ACTION", help=", ".join(ACTIONS))
    act.set_defaults(handler=cmd_act)
    rollout = actions.add_parser(
        "rollout",
        help="a rolling deploy: per batch deregister, SIGTERM, start on --build, register, "
        "wait healthy",
    )
    rollout.add_argument("--build", metavar="B", help="the build to roll out")
    rollout.add_argument(
        "--batch", type=int, default=1, metavar="N", help="targets per batch (default 1)"
    )
    rollout.add_argument(
        "--rollback",
        action="store_true",
        help="then put every target back on the build it served before (alone: roll back "
        "the last rollout)",
    )
    rollout.set_defaults(handler=cmd_rollout)
    weights = actions.add_parser(
        "weights", help="change the weighted forward's weights (parity up --groups)"
    )
    weights.add_argument("weights", nargs="+", metavar="GROUP=WEIGHT", help="blue=50 green=50")
    weights.set_defaults(handler=cmd_weights)
    st = sub.add_parser("status", help="show the running replica and its targets")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    st.set_defaults(handler=cmd_status)
    sub.add_parser("down", help="stop the replica").set_defaults(handler=cmd_down)
