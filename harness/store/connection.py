"""A client on the session store, whatever its topology (`redis.mode`).

    standalone  one server (or an ElastiCache primary endpoint): `redis.url`
    sentinel    the primary Sentinel names: `redis.sentinels` (host:port) and `redis.service`
    cluster     Redis Cluster (or ElastiCache cluster mode): `redis.url` of any node; keys are
                routed by slot (MOVED and ASK followed by the client)

`rediss://` URLs use TLS, checked against `redis.ca_file` when given; a user and password come
from the URL or from `redis.username` / `redis.password` (ACL users, AUTH tokens). Every error
names the store without its password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException
from redis.sentinel import Sentinel

from harness.errors import EnvironmentUnavailable, UsageError
from harness.printable import printable
from harness.profile.environment import mask_url
from harness.profile.sections import Redis

MODES = ("standalone", "sentinel", "cluster")
CONNECT_TIMEOUT = 3.0


@dataclass(frozen=True)
class StoreSettings:
    mode: str = "standalone"
    url: str | None = None
    sentinels: tuple[tuple[str, int], ...] = ()
    service: str | None = None
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None

    @property
    def tls(self) -> bool:
        return bool(self.url and self.url.startswith("rediss://"))

    def describe(self) -> str:
        """The store in words, never with its password."""
        if self.mode == "sentinel":
            hosts = ", ".join(f"{h}:{p}" for h, p in self.sentinels)
            return f"Sentinel service {self.service} (sentinels {hosts})"
        return f"{'cluster ' if self.mode == 'cluster' else ''}{mask_url(self.url)}"


def _sentinel(text: str) -> tuple[str, int]:
    host, _, port = str(text).rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"redis.sentinels: {text!r} is not HOST:PORT")
    return host, int(port)


def settings_of(section: Redis, url: str | None) -> StoreSettings:
    """The profile's `redis:` section (with the URL the provider resolved) as settings."""
    mode = str(section.mode or "standalone")
    if mode not in MODES:
        raise UsageError(f"redis.mode {mode!r}: allowed {', '.join(MODES)}")
    sentinels = tuple(_sentinel(s) for s in section.sentinels or ())
    if mode == "sentinel" and (not sentinels or not section.service):
        raise UsageError("redis.mode sentinel needs redis.sentinels (HOST:PORT) and redis.service")
    return StoreSettings(
        mode=mode,
        url=url,
        sentinels=sentinels,
        service=section.service,
        username=section.username,
        password=section.password,
        ca_file=section.ca_file,
    )


def _auth(settings: StoreSettings) -> dict[str, Any]:
    parts = urlsplit(settings.url or "")
    out: dict[str, Any] = {}
    if settings.username or parts.username:
        out["username"] = settings.username or parts.username
    if settings.password or parts.password:
        out["password"] = settings.password or parts.password
    return out


def _tls(settings: StoreSettings) -> dict[str, Any]:
    if not (settings.tls or (settings.mode == "sentinel" and settings.ca_file)):
        return {}
    tls: dict[str, Any] = {"ssl": True, "ssl_cert_reqs": "required"}
    if settings.ca_file:
        tls["ssl_ca_certs"] = settings.ca_file
    return tls


def open_store(settings: StoreSettings) -> Any:
    """A connected client (it has answered PING); EnvironmentUnavailable names what failed."""
    common = {"socket_connect_timeout": CONNECT_TIMEOUT, "socket_timeout": 10.0}
    try:
        if settings.mode == "sentinel":
            auth, tls = _auth(settings), _tls(settings)
            sentinel = Sentinel(  # type: ignore[no-untyped-call]
                list(settings.sentinels), sentinel_kwargs={**common, **tls}, **common, **tls
            )
            client: Any = sentinel.master_for(str(settings.service), **auth)  # type: ignore[no-untyped-call]
        elif settings.mode == "cluster":
            client = RedisCluster.from_url(str(settings.url), **common, **_tls_url(settings))
        else:
            client = redis.Redis.from_url(str(settings.url), **common, **_tls_url(settings))
        client.ping()
    except (redis.RedisError, RedisClusterException, OSError, IndexError) as exc:
        why = printable(str(exc)).split("\n")[0]
        raise EnvironmentUnavailable(
            f"the session store {settings.describe()} cannot be used: {type(exc).__name__}: "
            f"{why} (if the runner cannot reach it, say redis.reachable: false in the profile)"
        ) from exc
    return client


def _tls_url(settings: StoreSettings) -> dict[str, Any]:
    """For a URL client: rediss:// already means TLS; add the CA and the ACL user."""
    extra: dict[str, Any] = {}
    if settings.tls and settings.ca_file:
        extra["ssl_ca_certs"] = settings.ca_file
    auth = _auth(settings)
    if settings.username or settings.password:
        extra.update(auth)
    return extra
