"""Server-side sessions for the reference app: Flask-Session, a signed session id, Redis hashes.

The healthy app writes back only the keys a request changed (one Redis hash per session), so two
concurrent requests on two instances never lose each other's keys. The `lost-update` fault writes
the whole session back instead, the `local-sessions` fault keeps sessions in process memory, and
the `stale-cache` fault memoises reads in front of the shared store.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import zlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal, Protocol, TypeVar, cast

import redis
from flask import Flask
from flask_session.base import ServerSideSession, ServerSideSessionInterface

WriteMode = Literal["field", "whole"]
KEY_PREFIX = "session:"


class SessionStore(Protocol):
    """Where session data lives, keyed by the store id (`session:<sid>`)."""

    def load(self, key: str) -> dict[str, Any] | None: ...
    def apply(self, key: str, changed: dict[str, Any], removed: set[str], ttl: int) -> None: ...
    def replace(self, key: str, data: dict[str, Any], ttl: int) -> None: ...
    def delete(self, key: str) -> None: ...


def store_client(url: str) -> Any:
    """A client on `redis://...`, or on the primary of `redis+sentinel://H:P,H:P/SERVICE`."""
    if not url.startswith("redis+sentinel://"):
        return redis.Redis.from_url(url)
    from redis.sentinel import Sentinel

    hosts, _, service = url.removeprefix("redis+sentinel://").partition("/")
    nodes = [(h, int(p)) for h, _, p in (a.rpartition(":") for a in hosts.split(","))]
    sentinel = Sentinel(nodes, socket_timeout=2.0)  # type: ignore[no-untyped-call]
    return sentinel.master_for(service, socket_timeout=2.0)  # type: ignore[no-untyped-call]


FAILOVER_TRIES = 40  # 40 x 0.25 s: a store failover is ridden out, not turned into 500s
FAILOVER_PAUSE = 0.25
T = TypeVar("T")


def riding_failovers(call: Callable[[], T]) -> T:
    """`call`, tried again while the store fails over. A connection that met a demoted primary
    is closed; the next one is checked out of the pool, which asks Sentinel for the primary
    (redis-py's own retry reconnects to the same address, so it cannot do this)."""
    for attempt in range(FAILOVER_TRIES):
        try:
            return call()
        except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError):
            if attempt == FAILOVER_TRIES - 1:
                raise
            time.sleep(FAILOVER_PAUSE)
    raise AssertionError("unreachable")


V2_PREFIX = b"2:"


def encode_value(value: Any, session_format: int) -> bytes:
    """A session field as stored: JSON (format 1), or the `session-format` fault's new
    serializer (format 2: compressed JSON behind a `2:` tag), which format 1 cannot read."""
    text = json.dumps(value).encode()
    return V2_PREFIX + base64.b64encode(zlib.compress(text)) if session_format >= 2 else text


def decode_value(raw: bytes, session_format: int) -> Any:
    """A stored field read back; a build that knows format 2 reads both, format 1 only JSON (a
    format-2 field fails to parse: the request ends in a 500, as a serializer change does)."""
    if session_format >= 2 and raw.startswith(V2_PREFIX):
        return json.loads(zlib.decompress(base64.b64decode(raw[len(V2_PREFIX) :])))
    return json.loads(raw)


class RedisHashStore:
    """One Redis hash per session; each key of the session is an encoded field."""

    def __init__(self, url: str, session_format: int = 1) -> None:
        self._client = store_client(url)
        self._sentinel = url.startswith("redis+sentinel://")
        self._format = session_format

    def _run(self, call: Callable[[], T]) -> T:
        return riding_failovers(call) if self._sentinel else call()

    def _encode(self, value: Any) -> bytes:
        return encode_value(value, self._format)

    def load(self, key: str) -> dict[str, Any] | None:
        raw = cast(dict[bytes, bytes], self._run(lambda: self._client.hgetall(key)))
        return {k.decode(): decode_value(v, self._format) for k, v in raw.items()} if raw else None

    def apply(self, key: str, changed: dict[str, Any], removed: set[str], ttl: int) -> None:
        def write() -> None:
            pipe = self._client.pipeline()
            if changed:
                pipe.hset(key, mapping={k: self._encode(v) for k, v in changed.items()})
            if removed:
                pipe.hdel(key, *removed)
            pipe.expire(key, ttl)
            pipe.execute()

        self._run(write)

    def replace(self, key: str, data: dict[str, Any], ttl: int) -> None:
        def write() -> None:
            pipe = self._client.pipeline()
            pipe.delete(key)
            pipe.hset(key, mapping={k: self._encode(v) for k, v in data.items()})
            pipe.expire(key, ttl)
            pipe.execute()

        self._run(write)

    def delete(self, key: str) -> None:
        self._run(lambda: self._client.delete(key))


class MemoryStore:
    """Sessions in this process's memory: the `local-sessions` fault."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def load(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None or entry[0] < time.time():
                return None
            return dict(entry[1])

    def apply(self, key: str, changed: dict[str, Any], removed: set[str], ttl: int) -> None:
        with self._lock:
            data = dict(self._data.get(key, (0.0, {}))[1])
            data.update(changed)
            for name in removed:
                data.pop(name, None)
            self._data[key] = (time.time() + ttl, data)

    def replace(self, key: str, data: dict[str, Any], ttl: int) -> None:
        with self._lock:
            self._data[key] = (time.time() + ttl, dict(data))

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


class CachedStore:
    """A per-instance cache of session reads in front of the shared store: the `stale-cache`
    fault. This instance sees its own writes, but another instance's for up to `seconds` not."""

    def __init__(self, inner: SessionStore, seconds: float) -> None:
        self._inner, self._seconds = inner, seconds
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()

    def load(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < self._seconds:
            return None if hit[1] is None else dict(hit[1])
        data = self._inner.load(key)
        with self._lock:
            self._cache[key] = (time.monotonic(), data)
        return data

    def _remember(self, key: str) -> None:
        data = self._inner.load(key)
        with self._lock:
            self._cache[key] = (time.monotonic(), data)

    def apply(self, key: str, changed: dict[str, Any], removed: set[str], ttl: int) -> None:
        self._inner.apply(key, changed, removed, ttl)
        self._remember(key)

    def replace(self, key: str, data: dict[str, Any], ttl: int) -> None:
        self._inner.replace(key, data, ttl)
        self._remember(key)

    def delete(self, key: str) -> None:
        self._inner.delete(key)
        with self._lock:
            self._cache.pop(key, None)


class TrackedSession(ServerSideSession):  # type: ignore[misc]
    """A session that remembers what the store held when it was opened."""

    def __init__(
        self,
        initial: dict[str, Any] | None = None,
        sid: str | None = None,
        permanent: bool | None = None,
    ) -> None:
        super().__init__(initial, sid, permanent)
        self.stored: dict[str, Any] = dict(initial or {})


class ParitySessionInterface(ServerSideSessionInterface):  # type: ignore[misc]
    """Flask-Session's server-side sessions with a signed id and a pluggable write-back."""

    session_class = TrackedSession

    def __init__(self, app: Flask, store: SessionStore, write_mode: WriteMode, ttl: int) -> None:
        super().__init__(app, key_prefix=KEY_PREFIX, use_signer=False, permanent=True)
        # Sign the session id with SECRET_KEY (Flask-Session's signer, without its warning):
        # an instance with another key rejects the cookie, as a real mismatch does.
        self.use_signer = True
        self._store = store
        self._write_mode = write_mode
        self._ttl = ttl

    def _retrieve_session_data(self, store_id: str) -> dict[str, Any] | None:
        return self._store.load(store_id)

    def _delete_session(self, store_id: str) -> None:
        self._store.delete(store_id)

    def _upsert_session(
        self, session_lifetime: timedelta, session: ServerSideSession, store_id: str
    ) -> None:
        current = dict(session)
        if self._write_mode == "whole":
            self._store.replace(store_id, current, self._ttl)
            return
        snapshot: dict[str, Any] = getattr(session, "stored", {})
        changed = {k: v for k, v in current.items() if k not in snapshot or snapshot[k] != v}
        removed = set(snapshot) - set(current)
        self._store.apply(store_id, changed, removed, self._ttl)
