"""A profile's sections, typed: frozen objects the schema's checked mapping is built into.

Every stage reads a profile through these attributes. A field the profile leaves out is None
(or the schema's default); a section the profile leaves out is still there, every field None,
and is false in a test (`if env.expect.assets:`), as the empty mapping it was built from. A
section that has a required field (`expect.version`, `session`, `topology.drain`) is None when
left out. `build` makes any of them from a mapping: the checked profile, or the JSON a parent
process handed over.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from harness.profile.target_count import TargetCount

T = TypeVar("T")


class Section:
    """A profile section: false when no field of it is given, like the mapping it came from."""

    def __bool__(self) -> bool:
        return bool(self.given())

    def given(self) -> dict[str, Any]:
        """The fields the profile gives (or the schema defaults), by name."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if getattr(self, f.name) is not None
        }


@dataclass(frozen=True)
class Identity(Section):
    """How a response names the instance that served it."""

    header: str | None = None
    json: str | None = None


@dataclass(frozen=True)
class Stickiness(Section):
    enabled: bool | None = True
    type: str | None = "lb_cookie"
    duration_seconds: int | None = None
    cookie_name: str | None = None  # app_cookie: the app's own cookie that the ALB's follows


@dataclass(frozen=True)
class HealthCheck(Section):
    path: str | None = None
    interval_seconds: float | None = None
    timeout_seconds: float | None = None
    healthy_threshold: int | None = None
    unhealthy_threshold: int | None = None
    matcher: str | None = None


@dataclass(frozen=True)
class CookieExpect(Section):
    """`expect.cookie`: overrides of the balancer's sticky-cookie rule."""

    name: str | None = None
    cors_name: str | None = None
    issued: str | None = None
    lifetime: str | None = None
    expires_days: float | None = None
    max_age_seconds: float | None = None
    path: str | None = None
    secure: bool | None = None
    httponly: bool | None = None


@dataclass(frozen=True)
class Version(Section):
    """Where a target says its build; `builds`: the builds it may serve."""

    path: str
    json: str | None = None
    header: str | None = None
    builds: tuple[str, ...] | None = None

    def spec(self) -> dict[str, str]:
        """What to read the build from, for `harness.traffic.contract.extract`."""
        given = {"json": self.json, "header": self.header}
        return {k: v for k, v in given.items() if v} or {"json": "/build"}


@dataclass(frozen=True)
class Assets(Section):
    pages: tuple[str, ...] | None = None
    pattern: str | None = None
    manifest: str | None = None


@dataclass(frozen=True)
class StoreFailover(Section):
    max_recovery_seconds: float | None = None
    max_lost_sessions: int | None = None
    max_errors: int | None = None


@dataclass(frozen=True)
class ClientIp(Section):
    """Where the app says the client address it saw."""

    path: str
    json: str | None = None


@dataclass(frozen=True)
class LongestRequest(Section):
    path: str
    seconds: float | None = None


@dataclass(frozen=True)
class Expect(Section):
    """What the team expects of the environment."""

    version: Version | None = None
    assets: Assets = field(default_factory=Assets)
    targets: int | dict[str, int] | None = None  # `count` is it typed
    stickiness: Stickiness = field(default_factory=Stickiness)
    deregistration_delay_seconds: float | None = None
    health_check: HealthCheck = field(default_factory=HealthCheck)
    algorithm: str | None = None
    balancer: str | None = None
    cookie: CookieExpect = field(default_factory=CookieExpect)
    error_budget: int = 0
    store_failover: StoreFailover = field(default_factory=StoreFailover)
    idle_timeout_seconds: float | None = None  # the balancer's
    client_ip: ClientIp | None = None
    longest_request: LongestRequest | None = None
    redirect_paths: tuple[str, ...] | None = None  # followed through the HTTPS entry
    https_entry: str | None = None  # the balancer's HTTPS listener, when `url` is its http one

    @property
    def count(self) -> TargetCount | None:
        """`targets`, typed; None when the profile states no count."""
        return TargetCount.parse(self.targets)


@dataclass(frozen=True)
class Redis(Section):
    """The session store, and where a session is in it."""

    url: str | None = field(default=None, repr=False)  # may hold a password
    mode: str | None = None
    sentinels: tuple[str, ...] | None = None
    service: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    key: str | None = "session:{session_id}"
    session_id: str | None = r"^([^.]+)"
    elasticache: str | None = None
    reachable: bool | None = True
    pressure_mb: int | None = None


@dataclass(frozen=True)
class Safety(Section):
    allow_disruptive: bool = False
    max_users: int = 200
    max_rps: float = 500


@dataclass(frozen=True)
class Failover(Section):
    clients: int = 4
    in_flight_path: str | None = None
    in_flight_seconds: float | None = None


@dataclass(frozen=True)
class Deploy(Section):
    shutdown_grace_seconds: float | None = None
    platform: str | None = None  # when SIGTERM comes (deploywatch.grace)


@dataclass(frozen=True)
class Load(Section):
    gates: tuple[str, ...] = ()


@dataclass(frozen=True)
class Accept(Section):
    """A finding the team accepted, until a date."""

    reason: str
    until: date | str  # a date; its text once handed to a child process
    check: str | None = None
    fault: str | None = None


@dataclass(frozen=True)
class ExpectedDifference(Section):
    path: str
    reason: str


@dataclass(frozen=True)
class DiffPolicy(Section):
    """`parity.expected`: the differences from another environment that are intended."""

    expected: tuple[ExpectedDifference, ...] = ()


@dataclass(frozen=True)
class StaticTarget(Section):
    id: str
    url: str | None = None
    address: str | None = None
    zone: str | None = None


@dataclass(frozen=True)
class Drain(Section):
    """How a static environment's targets are drained: an HAProxy socket, or commands."""

    adapter: str
    socket: str | None = None
    backend: str | None = None
    drain: str | None = None
    restore: str | None = None
    health: str | None = None
    state: str | None = None
    pinned: str | None = "move"


@dataclass(frozen=True)
class ReplicaOptions(Section):
    """`topology.replica`: the replica a profile starts; only the options given are asked."""

    instances: int | None = None
    faults: tuple[str, ...] | None = None
    stickiness_seconds: int | None = None
    deregistration_delay: float | None = None


@dataclass(frozen=True)
class Route(Section):
    """`topology.route`: the listener rule whose target groups are tested."""

    listener: int | None = None
    host: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class TopologySection(Section):
    """Where the environment is resolved from."""

    provider: str
    load_balancer: str | None = None
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    instance_url: str | None = None
    targets: tuple[StaticTarget, ...] | None = None
    drain: Drain | None = None
    replica: ReplicaOptions = field(default_factory=ReplicaOptions)
    route: Route = field(default_factory=Route)


@dataclass(frozen=True)
class Session(Section):
    """The session contract. A driver (the YAML recipe's, or the team's `package.module:Class`)
    is given `recipe`, the section as the profile wrote it with its defaults: that mapping is
    the contract's public form."""

    recipe: dict[str, Any] = field(repr=False)  # may hold credentials

    @property
    def cookie(self) -> str:
        return str(self.recipe["cookie"])  # required by the schema

    @property
    def driver(self) -> str:
        return str(self.recipe.get("driver") or "recipe")

    @property
    def lifetime_seconds(self) -> int | None:
        given = self.recipe.get("lifetime_seconds")
        return None if given is None else int(given)

    @classmethod
    def of(cls, recipe: Mapping[str, Any] | None) -> Session | None:
        return None if recipe is None else cls(dict(recipe))


@dataclass(frozen=True)
class Polling(Section):
    """`realtime.polling`: a long-polling transport, as recipe requests."""

    handshake: dict[str, Any] = field(repr=False)
    poll: dict[str, Any] = field(repr=False)
    polls: int | None = 10


@dataclass(frozen=True)
class Realtime(Section):
    """`realtime:`: the app's real-time endpoint, how to subscribe and how to publish."""

    protocol: str
    path: str
    identity: str | None = None  # a JSON pointer into the hello; None: the identity header
    user: str | None = None  # a JSON pointer into the hello naming the session's user
    subscribe: str | None = None
    publish: dict[str, Any] | None = field(default=None, repr=False)
    publish_frame: str | None = None
    hello_event: str | None = None  # Socket.IO only
    message_event: str | None = None
    message: str | None = None
    delivery_within_seconds: float | None = 2.0
    max_lost_messages: int | None = None  # None: a drain's losses are measured, not gated
    polling: Polling | None = None


def build(kind: type[T], data: Any) -> T:
    """`kind` (a section) from a mapping: nested sections built, lists made tuples."""
    if not isinstance(data, Mapping):
        raise TypeError(f"{kind.__name__}: expected a mapping, got {type(data).__name__}")
    if kind is Session:
        made: Any = Session.of(data.get("recipe", data))
        return typing.cast(T, made)
    hints = typing.get_type_hints(kind)
    values = {
        f.name: _value(hints[f.name], data.get(f.name))
        for f in dataclasses.fields(kind)  # type: ignore[arg-type]
        if data.get(f.name) is not None or not _has_default(f)
    }
    return kind(**values)


def _has_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _value(hint: Any, value: Any) -> Any:
    """`value` as the field's type says: a section built, a tuple of them, or as it is."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        origin = typing.get_origin(option)
        if isinstance(option, type) and issubclass(option, Section) and isinstance(value, Mapping):
            return build(option, value)
        if origin is tuple and isinstance(value, list | tuple):
            item = typing.get_args(option)[0]
            if isinstance(item, type) and issubclass(item, Section):
                return tuple(build(item, v) for v in value)
            return tuple(value)
    return value
