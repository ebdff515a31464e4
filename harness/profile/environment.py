"""Environment profiles: finding, loading, `${VAR}` interpolation and validation.

A profile is `environments/<name>.yaml` (or any file given with `--env-file`); with neither, the
embedded replica's built-in profile is used. Every error names the file, the line and the field.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from harness.errors import ProfileError, UsageError
from harness.findings import FIELD_FAULTS
from harness.profile.recipe_rules import check_recipe
from harness.profile.schema import PROFILE, TARGET_COUNT
from harness.profile.sections import (
    Accept,
    Deploy,
    DiffPolicy,
    Expect,
    Failover,
    Identity,
    Load,
    Realtime,
    Redis,
    Safety,
    Session,
    TopologySection,
    build,
)
from harness.profile.target_count import FIELD as TARGETS_FIELD
from harness.profile.target_count import TargetCount
from harness.profile.validation import Context, line_map
from harness.store.keys import key_problem

ENV_DIR_VARIABLE = "PARITY_ENV_DIR"
DEFAULT_ENV_DIR = "environments"
REPLICA_PROFILE = "replica.yaml"
DEFAULT_IDENTITY_HEADER = "X-Instance-Id"
MAX_PROFILE_BYTES = 1 << 20
TARGETS = ("expect", "targets")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def mask_url(url: str | None) -> str | None:
    """The URL with any password replaced by ***."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (
        f":{parts.port}" if parts.port else ""
    )
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class Environment:
    """A validated environment profile: its sections typed (`harness.profile.sections`)."""

    name: str
    source: str
    production: bool
    url: str | None
    tls_verify: bool | str
    topology: TopologySection
    identity: Identity = field(default_factory=Identity)
    expect: Expect = field(default_factory=Expect)
    session: Session | None = None
    realtime: Realtime | None = None
    redis: Redis = field(default_factory=Redis)
    safety: Safety = field(default_factory=Safety)
    failover: Failover = field(default_factory=Failover)
    deploy: Deploy = field(default_factory=Deploy)
    accept: tuple[Accept, ...] = ()
    load: Load = field(default_factory=Load)
    parity: DiffPolicy = field(default_factory=DiffPolicy)
    owned_targets: bool = False  # the targets are Parity's: a profile a replica front end wrote

    raw: dict[str, Any] = field(repr=False, default_factory=dict)  # read only in profile/

    @property
    def provider(self) -> str:
        return self.topology.provider

    @property
    def target_count(self) -> TargetCount | None:
        """`expect.targets`, typed; None when the profile states no count."""
        return self.expect.count

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Environment:
        """The environment `dataclasses.asdict` made (handed to a child process), again."""
        return build(cls, data)

    def __repr__(self) -> str:
        return (
            f"Environment(name={self.name!r}, source={self.source!r}, "
            f"provider={self.provider!r}, url={self.url!r}, "
            f"redis={mask_url(self.redis.url)!r})"
        )


def variables_in(text: str) -> set[str]:
    """The `${VAR}`s a text needs set (those without a `:-default`)."""
    return {m.group(1) for m in _VAR.finditer(text) if m.group(2) is None}


def _interpolate(value: Any, path: tuple[str | int, ...], ctx: Context) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, (*path, str(k)), ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*path, i), ctx) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ctx.fail(path, f"environment variable {name} is not set")

    return _VAR.sub(substitute, value)


def _asset_rules(assets: dict[str, Any] | None, ctx: Context) -> None:
    """expect.assets: pages with a pattern, or a manifest; the pattern a regular expression."""
    if not assets:  # absent (the validator gives an empty section)
        return
    if not assets.get("pages") and not assets.get("manifest"):
        raise ctx.fail(("expect", "assets"), "give pages (with a pattern) or a manifest path")
    if assets.get("pages") and not assets.get("pattern"):
        raise ctx.fail(
            ("expect", "assets", "pattern"),
            "missing; a regular expression whose group 1 (or whole match) is an asset URL",
        )
    try:
        re.compile(assets.get("pattern") or "")
    except re.error as exc:
        raise ctx.fail(("expect", "assets", "pattern"), f"not a regular expression: {exc}") from exc


def _redis_rules(redis: dict[str, Any], ctx: Context) -> None:
    """redis.key names only {session_id} and {session_id_sha256}; redis.session_id is a
    regular expression with a group (the id)."""
    problem = key_problem(str(redis.get("key", "")))
    if problem:
        raise ctx.fail(("redis", "key"), problem)
    try:
        groups = re.compile(str(redis.get("session_id", "(.+)"))).groups
    except re.error as exc:
        raise ctx.fail(("redis", "session_id"), f"not a regular expression: {exc}") from exc
    if groups < 1:
        raise ctx.fail(("redis", "session_id"), "give a group, ( ), around the session id")


def _target_rules(data: dict[str, Any], ctx: Context) -> None:
    """expect.targets: a range names a bound, and min <= max."""
    value = data["expect"].get("targets")
    if not isinstance(value, dict):
        return
    low, high = value.get("min"), value.get("max")
    if low is None and high is None:
        raise ctx.fail(TARGETS, f"give min, max or both; allowed: {TARGET_COUNT.describe()}")
    if low is not None and high is not None and low > high:
        raise ctx.fail(TARGETS, f"min {low} is more than max {high}; allowed: min <= max")


def _replica_target_rules(data: dict[str, Any], ctx: Context) -> None:
    """A replica the profile starts (`topology.replica.instances`) is expected whole: the
    count defaults to its instances, and a count they cannot meet is refused."""
    instances = (data["topology"].get("replica") or {}).get("instances")
    if data["topology"]["provider"] != "replica" or instances is None:
        return
    count = TargetCount.from_expect(data["expect"])
    if count is None:
        data["expect"]["targets"] = instances
    elif not count.allows(instances):
        raise ctx.fail(
            TARGETS,
            f"{count.describe()}, but topology.replica.instances starts {instances}: "
            f"give {instances}, a range holding it, or leave {TARGETS_FIELD} out",
        )


def _realtime_rules(data: dict[str, Any], ctx: Context) -> None:
    """realtime: one way to publish; frames only on a WebSocket; a session to open it with."""
    realtime = data.get("realtime")
    if not realtime:
        return
    if bool(realtime.get("publish")) == bool(realtime.get("publish_frame")):
        raise ctx.fail(
            ("realtime",), "give publish (an HTTP request) or publish_frame (a socket message)"
        )
    for name in ("publish_frame", "subscribe"):
        if realtime.get(name) and realtime["protocol"] == "sse":
            raise ctx.fail(
                ("realtime", name),
                "a socket message; Server-Sent Events have none: use publish",
            )
    for name in ("hello_event", "message_event"):
        if realtime.get(name) and realtime["protocol"] != "socketio":
            raise ctx.fail(("realtime", name), "a Socket.IO event; give it with protocol socketio")
    if not data.get("session"):
        raise ctx.fail(("realtime",), "needs a session: section (the socket opens with it)")
    if realtime["protocol"] == "socketio" and not realtime.get("identity"):
        raise ctx.fail(
            ("realtime", "identity"),
            "missing; a Socket.IO connection names its instance in its hello event: give a "
            "JSON pointer into the hello's data",
        )
    if (data.get("identity") or {}).get("json") and not realtime.get("identity"):
        raise ctx.fail(
            ("realtime", "identity"),
            "missing; identity.json reads a response body, which a stream's upgrade has none "
            "of: give a JSON pointer into the stream's first message",
        )


def _provider_rules(data: dict[str, Any], ctx: Context) -> None:
    topo = data["topology"]
    provider = topo["provider"]
    if provider == "aws" and not topo.get("load_balancer"):
        raise ctx.fail(
            ("topology", "load_balancer"),
            "missing; the aws provider needs a load balancer name, ARN or DNS name",
        )
    if provider == "static":
        if not data.get("url"):
            raise ctx.fail(("url",), "missing; a static environment needs its entry URL")
        if not topo.get("targets"):
            raise ctx.fail(("topology", "targets"), "missing; list every target (id, url)")
    for i, entry in enumerate(data["accept"]):
        if not entry.get("check") and not entry.get("fault"):
            raise ctx.fail(
                ("accept", i),
                "give check (suite::test), fault, or both (that check failing with that fault)",
            )
        if entry.get("fault") and entry["fault"] not in FIELD_FAULTS:
            raise ctx.fail(
                ("accept", i, "fault"),
                f"{entry['fault']!r} is not a fault; known: {', '.join(sorted(FIELD_FAULTS))}",
            )
        if entry.get("check") and "::" not in entry["check"]:
            raise ctx.fail(("accept", i, "check"), "a check id is suite::test_name")
    expect = data["expect"]
    _asset_rules(expect.get("assets"), ctx)
    _redis_rules(data.get("redis") or {}, ctx)
    _target_rules(data, ctx)
    _replica_target_rules(data, ctx)
    _realtime_rules(data, ctx)
    expect.setdefault("balancer", "alb" if provider in ("aws", "replica") else "generic")
    ident = data["identity"]
    if not ident.get("header") and not ident.get("json"):
        ident["header"] = DEFAULT_IDENTITY_HEADER


def parse_profile(text: str, source: str) -> Environment:
    """Validate a profile's text; `source` names it in errors."""
    try:
        loaded = yaml.safe_load(text)
        lines = line_map(text, source)
    except RecursionError as exc:
        raise ProfileError(f"{source}: the YAML nests too deeply to be a profile") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ProfileError(f"{source}:{line}: {problem}") from exc
    ctx = Context(source, lines)
    if not isinstance(loaded, dict):
        raise ctx.fail((), "a profile is a mapping (name:, topology:, ...)")
    data = PROFILE.check(_interpolate(loaded, (), ctx), (), ctx)
    _provider_rules(data, ctx)
    check_recipe(data.get("session"), ctx)
    return build(Environment, {**data, "source": source, "raw": loaded})


def load_file(path: Path) -> Environment:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PROFILE_BYTES + 1)
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the profile: {exc.strerror}") from exc
    if len(data) > MAX_PROFILE_BYTES:
        raise ProfileError(f"{path}: larger than 1 MiB; a profile is a small YAML file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(
            f"{path}: not UTF-8 text (byte {exc.start}); a profile is a YAML text file"
        ) from exc
    return parse_profile(text, str(path))


def replica_profile() -> Environment:
    """The built-in profile of the embedded replica."""
    text = resources.files("harness.profile").joinpath(REPLICA_PROFILE).read_text()
    return parse_profile(text, f"<built-in {REPLICA_PROFILE}>")


def environment_dir() -> Path:
    return Path(os.environ.get(ENV_DIR_VARIABLE) or DEFAULT_ENV_DIR)


def load_named(name: str | None = None, env_file: str | None = None) -> Environment | None:
    """The profile `--env-file` or `--env NAME` names; None for the default (no name, or
    `replica`), which the provider registry opens (`harness.topology.load_environment`)."""
    if name and env_file:
        raise UsageError(f"--env {name} and --env-file {env_file}: give one of them, not both")
    if env_file:
        return load_file(Path(env_file))
    if not name or name == "replica":
        return None
    path = environment_dir() / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in environment_dir().glob("*.yaml"))
        listing = ", ".join(known) if known else "none"
        raise ProfileError(
            f"--env {name}: no profile {path} (profiles there: {listing}; or give --env-file PATH)"
        )
    return load_file(path)
