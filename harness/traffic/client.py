"""A virtual user: its own cookie jar, the identity of the instance that answered, a trace.

Each request leaves one `RequestRecord` (method, path, target that answered, status, time, the
Set-Cookie names and attributes with values redacted) in a bounded trace, which failure messages
print as evidence.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.cookies import create_cookie

from harness.errors import UsageError
from harness.profile.sections import Identity as IdentitySection
from harness.traffic.cookies import set_cookies

TRACE_LIMIT = 40
_SEQUENCE = itertools.count(1)  # request numbers across users and threads (count() is atomic)
TIMEOUT_SECONDS = 15.0
REMOVED = "_remove_"  # what an ALB sets an AWSALBAPP shard to when it holds nothing


def json_pointer(document: Any, pointer: str) -> Any:
    """Resolve an RFC 6901 JSON pointer; KeyError when the path is absent."""
    if pointer in ("", "/"):
        return document
    node = document
    for raw in pointer.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node[part]
        else:
            raise KeyError(pointer)
    return node


@dataclass(frozen=True)
class Identity:
    """How a response names the instance that served it: a header or a JSON pointer."""

    header: str | None = None
    json: str | None = None

    def of(self, response: Any) -> str | None:
        """The instance named by a response (requests' or Locust's: anything with headers)."""
        if self.header:
            value = response.headers.get(self.header)
            return None if value is None else str(value)
        try:
            return str(json_pointer(response.json(), str(self.json)))
        except (ValueError, KeyError, IndexError):
            return None


@dataclass(frozen=True)
class Route:
    """How to reach one target: through the load balancer with its sticky cookies, or directly."""

    target: str
    base_url: str
    cookies: dict[str, str] = field(default_factory=dict, repr=False)
    direct: bool = False

    def describe(self) -> str:
        return f"{self.target} ({'direct' if self.direct else 'via the load balancer'})"


@dataclass
class RequestRecord:
    """One request as evidence."""

    seq: int
    user: str
    method: str
    path: str
    via: str
    target: str | None
    status: int | None
    elapsed_ms: float
    set_cookies: list[str] = field(default_factory=list)
    error: str | None = None
    step: str | None = None  # the session contract's step (login, read, ...) when there is one

    def line(self) -> str:
        outcome = str(self.status) if self.status is not None else f"ERROR {self.error}"
        cookies = f"  Set-Cookie: {'; '.join(self.set_cookies)}" if self.set_cookies else ""
        label = f" [{self.step}]" if self.step else ""
        return (
            f"#{self.seq} {self.user}{label} {self.method} {self.path} via {self.via} -> "
            f"{self.target or '?'} {outcome} {self.elapsed_ms:.0f} ms{cookies}"
        )


class HostAdapter(HTTPAdapter):
    """HTTPS with a given server name: sent as SNI and checked against the certificate, whatever
    host the URL names (the load balancer's DNS name, a target's address)."""

    def __init__(self, host: str) -> None:
        self.server_name = host
        super().__init__()

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **kw: Any
    ) -> None:
        kw.update(server_hostname=self.server_name, assert_hostname=self.server_name)
        super().init_poolmanager(connections, maxsize, block, **kw)


class VirtualUser:
    """One browser-like client with its own cookies."""

    def __init__(
        self,
        base_url: str,
        identity: Identity,
        *,
        verify: bool | str = True,
        name: str = "user",
        sticky_names: tuple[str, ...] = ("AWSALB", "AWSALBCORS"),
        trace: deque[RequestRecord] | None = None,
        host: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.identity = identity
        self.verify = verify
        self.name = name
        self.sticky_names = sticky_names
        self.http = requests.Session()
        if host:  # a listener rule on the host: send it, and name it in TLS (SNI) too
            self.http.headers["Host"] = host
            self.http.mount("https://", HostAdapter(host))
        self.vars: dict[str, str] = {}
        self.trace: deque[RequestRecord] = trace if trace is not None else deque(maxlen=TRACE_LIMIT)
        self.last_target: str | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        route: Route | None = None,
        step: str | None = None,
        timeout: float | tuple[float, float] = TIMEOUT_SECONDS,
        **kwargs: Any,
    ) -> requests.Response:
        """Send one request (through `route` when given); record it; raise on no response."""
        base = route.base_url.rstrip("/") if route else self.base_url
        if route and route.direct:  # another host: send the app's cookies explicitly
            own = {
                c.name: c.value
                for c in self.http.cookies
                if c.name not in self.sticky_names and c.value is not None
            }
            kwargs["cookies"] = {**own, **kwargs.get("cookies", {})}
        if route and route.cookies:
            kwargs["cookies"] = {**kwargs.get("cookies", {}), **route.cookies}
        record = RequestRecord(
            next(_SEQUENCE),
            self.name,
            method,
            path,
            route.describe() if route else "the load balancer",
            None,
            None,
            0,
            step=step,
        )
        started = time.perf_counter()
        try:
            response = self.http.request(
                method, base + path, timeout=timeout, verify=self.verify, **kwargs
            )
        except requests.RequestException as exc:
            record.elapsed_ms = (time.perf_counter() - started) * 1000
            record.error = type(exc).__name__
            self.trace.append(record)
            raise
        record.elapsed_ms = (time.perf_counter() - started) * 1000
        record.status = response.status_code
        streamed = kwargs.get("stream") and self.identity.json  # a body read never ends
        record.target = self.last_target = None if streamed else self.identity.of(response)
        record.set_cookies = [c.redacted() for c in set_cookies(response).values()]
        self.trace.append(record)
        if route and route.direct:
            self._as_if_through_the_balancer(route.base_url, response)
        if route and not route.direct and record.target == route.target:
            for name in self.sticky_names:  # the balancer re-issued them: keep the idle clock
                if name in response.cookies:
                    route.cookies[name] = response.cookies[name]
        return response

    def note(
        self,
        method: str,
        path: str,
        route: Route | None,
        outcome: tuple[int | None, str | None, float],
        *,
        step: str | None = None,
        error: str | None = None,
    ) -> None:
        """Keep in the trace a request sent by other means (a WebSocket's upgrade): its
        (status, target that answered, milliseconds)."""
        status, target, elapsed_ms = outcome
        via = route.describe() if route else "the load balancer"
        record = RequestRecord(next(_SEQUENCE), self.name, method, path, via, target, status, 0)
        record.elapsed_ms, record.step, record.error = elapsed_ms, step, error
        self.trace.append(record)
        self.last_target = target

    def _as_if_through_the_balancer(self, direct_url: str, response: requests.Response) -> None:
        """Cookies a target set on a direct route move to the balancer's host, replacing any
        of the same name, and a cookie it deleted is gone from every host: a browser only ever
        talks to the balancer, so it holds one cookie per name, the latest (two hosts would
        send a stale one first)."""
        for name, sent in set_cookies(response).items():
            if sent.deletes():
                self.forget_cookie(name)
        here = _jar_domain(direct_url)
        home = _jar_domain(self.base_url)
        if here == home:
            return
        for cookie in [c for c in self.http.cookies if c.domain == here]:
            with contextlib.suppress(KeyError):
                self.http.cookies.clear(cookie.domain, cookie.path, cookie.name)
            self.forget_cookie(cookie.name)
            if cookie.value is not None:
                self.http.cookies.set_cookie(
                    create_cookie(  # type: ignore[no-untyped-call]
                        cookie.name, cookie.value, domain=home, path=cookie.path,
                        expires=cookie.expires, secure=cookie.secure,
                    )
                )  # fmt: skip

    def adopt(self, cookies: dict[str, str]) -> None:
        """Take cookies (a pinned route's, another user's) as if the balancer had set them."""
        home = _jar_domain(self.base_url)
        for name, value in cookies.items():
            self.http.cookies.set(name, value, domain=home, path="/")

    def forget_cookie(self, name: str) -> None:
        for cookie in [c for c in self.http.cookies if c.name == name]:
            with contextlib.suppress(KeyError):
                self.http.cookies.clear(cookie.domain, cookie.path, cookie.name)

    def sticky_cookies(self) -> dict[str, str]:
        """The balancer's cookies this client holds (an ALB's `_remove_` placeholder is none)."""
        return {
            n: v for n in self.sticky_names if (v := self.cookie(n)) is not None and v != REMOVED
        }

    def cookie(self, name: str) -> str | None:
        """The cookie's current value (the most recently set one if several domains hold it)."""
        values = [c.value for c in self.http.cookies if c.name == name and c.value is not None]
        return values[-1] if values else None

    def trace_text(self, last: int = 12) -> str:
        return trace_text(self.trace, last)


def _jar_domain(url: str) -> str:
    """The domain the cookie jar files a host's cookies under (`localhost.local`, `[::1].local`:
    the effective request host), so that cookies set here are sent there."""
    netloc = urlsplit(url).netloc.rpartition("@")[2].lower()
    host = netloc[: netloc.index("]") + 1] if netloc.startswith("[") else netloc.split(":")[0]
    return host if "." in host else f"{host}.local"  # http.cookiejar.eff_request_host's rule


def trace_text(records: Iterable[RequestRecord], last: int) -> str:
    """The last requests as evidence lines, one per request."""
    return "\n".join("  " + r.line() for r in list(records)[-last:])


def identity_from(spec: IdentitySection) -> Identity:
    """How responses name their instance, from the profile's `identity:`."""
    if spec.json:
        return Identity(json=str(spec.json))
    if spec.header:
        return Identity(header=str(spec.header))
    raise UsageError("identity: give a header or a json pointer")
