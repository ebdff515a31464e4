"""`parity init NAME`: write environments/NAME.yaml from what the environment says."""

from __future__ import annotations

import argparse
import re
import sys
from urllib.parse import urlsplit

from harness.errors import UsageError
from harness.profile.environment import environment_dir
from harness.scaffold.frameworks import FRAMEWORKS
from harness.scaffold.source import Source


def _source(args: argparse.Namespace) -> Source:
    chosen = [f for f in ("aws", "static", "from_replica") if getattr(args, f)]
    if len(chosen) != 1:
        raise UsageError(
            "parity init: give one of --aws LOAD_BALANCER, --static URL, --from-replica"
        )
    if args.target and not args.static:
        raise UsageError("--target goes with --static URL")
    if args.health_path and not args.static:
        raise UsageError(
            "--health-path goes with --static URL (an ALB's own health check is read from it)"
        )
    app = _app_flags(args)
    if args.static:
        if not args.target:
            raise UsageError("--static URL needs at least one --target ID=URL")
        targets = []
        for spec in args.target:
            target_id, sep, url = spec.partition("=")
            if not sep or not target_id or not url.startswith(("http://", "https://")):
                raise UsageError(f"--target {spec!r}: use ID=http://host:port")
            targets.append((target_id, url))
        if args.health_path is not None and not args.health_path.startswith("/"):
            raise UsageError(f"--health-path {args.health_path!r}: a path starting with /")
        found = Source("static", url=args.static, targets=targets, health_path=args.health_path)
        return _with_app(found, app)
    if args.aws:
        return _with_app(Source("aws", args.aws, args.region, args.profile), app)
    if any(app):
        raise UsageError(
            "--framework, --session-path and --redis-url describe your app: not with "
            "--from-replica (the reference app's contract is known)"
        )
    return Source("replica")


def _with_app(source: Source, app: tuple[str | None, str | None, str | None]) -> Source:
    source.framework, source.session_path, source.redis_url = app
    return source


def _app_flags(args: argparse.Namespace) -> tuple[str | None, str | None, str | None]:
    """--framework, --session-path and --redis-url, checked."""
    path, url = args.session_path, args.redis_url
    if path is not None and not path.startswith("/"):
        raise UsageError(f"--session-path {path!r}: a path starting with /")
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise UsageError("--redis-url: give redis://[:${PASSWORD}@]HOST:PORT/DB (or rediss://)")
        if parts.password and not parts.password.startswith("${"):
            raise UsageError(
                "--redis-url: write the password as ${VARIABLE}, in single quotes "
                "(a profile holds no secret)"
            )
    return args.framework, path, url


def _production(args: argparse.Namespace) -> bool:
    if args.production is not None:
        return bool(args.production)
    guess = "prod" in args.name.lower()
    if sys.stdin.isatty():
        answer = input(f"Is {args.name} production? [{'Y/n' if guess else 'y/N'}] ").strip()
        return guess if not answer else answer.lower().startswith("y")
    return guess


def cmd_init(args: argparse.Namespace) -> int:
    from harness.commands.init import init_profile, session_note
    from harness.profile.schema import NAME

    if not NAME.pattern or not re.fullmatch(NAME.pattern, args.name):
        raise UsageError(f"NAME {args.name!r}: {NAME.describe()}")
    source = _source(args)
    path = init_profile(environment_dir(), args.name, source, _production(args), args.force)
    print(f"wrote {path} (and {path.parent / 'parity-profile.schema.json'} for editors)")
    if source.kind != "replica":
        print(f"  {session_note(path.read_text())}")
    print(f"next: parity profile check {args.name} && parity check --env {args.name}")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = sub.add_parser(
        "init",
        help="write environments/NAME.yaml from what the environment itself says",
        description="Resolve an environment once and write environments/NAME.yaml: the "
        "topology, expect: from what was observed (each value says where it came from), a "
        "session skeleton, ${VAR} for every secret, conservative safety.",
    )
    init.add_argument("name", metavar="NAME")
    init.add_argument("--aws", metavar="LOAD_BALANCER", help="an ALB: name, ARN or DNS name")
    init.add_argument("--region")
    init.add_argument("--profile", help="the AWS credentials profile")
    init.add_argument("--static", metavar="URL", help="any balancer's entry URL")
    init.add_argument(
        "--target", action="append", default=[], metavar="ID=URL", help="with --static; repeat"
    )
    init.add_argument(
        "--health-path",
        metavar="PATH",
        help="with --static: the path every target answers 2xx when healthy (default: probe "
        "/healthz, /health, /up, /actuator/health, /status, /ping, /)",
    )
    init.add_argument(
        "--framework",
        choices=sorted(FRAMEWORKS),
        help="the app's framework, whose login recipe and store key layout to write (default: "
        "recognised from its cookies and login page)",
    )
    init.add_argument(
        "--session-path",
        metavar="PATH",
        help="the app's session endpoint: PUT PATH/KEY {value} stores, GET PATH answers "
        "{data: {KEY: value}} (default /parity/session)",
    )
    init.add_argument(
        "--redis-url",
        metavar="URL",
        help="the session store, its password as ${VAR}: 'redis://:${REDIS_PASSWORD}@host:6379/0'",
    )
    init.add_argument("--from-replica", action="store_true", help="the embedded replica")
    init.add_argument("--force", action="store_true", help="overwrite an existing profile")
    prod = init.add_mutually_exclusive_group()
    prod.add_argument("--production", dest="production", action="store_true", default=None)
    prod.add_argument("--not-production", dest="production", action="store_false")
    init.set_defaults(handler=cmd_init)
