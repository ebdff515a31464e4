"""Keep-alive against the balancer's idle timeout: measured on a target, and felt through it.

A balancer keeps idle connections to a target open for up to its idle timeout and reuses them;
a target that closes an idle connection sooner races it, and a request the balancer sends as the
target closes is answered 502 (AWS's ALB troubleshooting names this first). `idle_keepalive`
measures a target's idle timeout directly: one request on a kept-alive HTTP/1.1 connection, then
waiting, bounded, until the target closes it. `paced_run` is the load that meets the race.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from harness.profile.sections import Expect

CUT = "cut"  # no response at all: the connection was closed under the request
IDLE_ATTRIBUTE = "idle_timeout.timeout_seconds"  # the ALB's load balancer attribute


def balancer_idle_timeout(
    expect: Expect, attributes: dict[str, str]
) -> tuple[float | None, str]:
    """The balancer's idle timeout: `expect.idle_timeout_seconds`, else the load balancer's
    `idle_timeout.timeout_seconds` (AWS's, the replica's); None and why when neither says."""
    declared = expect.idle_timeout_seconds
    if declared is not None:
        return float(declared), "expect.idle_timeout_seconds"
    published = attributes.get(IDLE_ATTRIBUTE)
    if published is None:
        return None, (
            f"the balancer's idle timeout is not known: it publishes no {IDLE_ATTRIBUTE}; set "
            "expect.idle_timeout_seconds"
        )
    return float(published), f"the load balancer's {IDLE_ATTRIBUTE}"


@dataclass(frozen=True)
class KeepAlive:
    """A target's idle keep-alive: `seconds` until it closed, None if still open at `bound`."""

    url: str
    bound: float
    seconds: float | None

    def describe(self) -> str:
        if self.seconds is None:
            return f"kept alive past {self.bound:g} s"
        return f"closed after {self.seconds:.1f} s idle"


def _connection(url: str, timeout: float, verify: bool | str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    if parts.scheme != "https":
        return http.client.HTTPConnection(host, port, timeout=timeout)
    context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
    if verify is False:
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return http.client.HTTPSConnection(host, port, timeout=timeout, context=context)


def _wait_for_close(sock: socket.socket, bound: float) -> float | None:
    started = time.monotonic()
    while (left := bound - (time.monotonic() - started)) > 0:
        sock.settimeout(left)
        try:
            if not sock.recv(1024):
                return time.monotonic() - started
        except TimeoutError:
            return None
        except OSError:  # reset: closed too
            return time.monotonic() - started
    return None


def idle_keepalive(url: str, bound: float, verify: bool | str = True) -> KeepAlive:
    """How long the server at `url` keeps an idle HTTP/1.1 connection open, up to `bound` s."""
    conn = _connection(url, timeout=10.0, verify=verify)
    parts = urlsplit(url)
    try:
        conn.request("GET", parts.path or "/", headers={"Connection": "keep-alive"})
        response = conn.getresponse()
        response.read()
        if response.will_close or conn.sock is None:  # Connection: close, no keep-alive at all
            return KeepAlive(url, bound, 0.0)
        return KeepAlive(url, bound, _wait_for_close(conn.sock, bound))
    finally:
        conn.close()


@dataclass
class PacedRun:
    """What a paced load through the balancer saw: statuses (or `cut`) per answering target."""

    requests: int
    gap_seconds: float
    outcomes: Counter[str] = field(default_factory=Counter)  # "app-1 200", "balancer 502"
    spread_seconds: float = 0.0  # the gaps grow evenly from gap_seconds by this much

    def failures(self) -> int:
        return sum(n for key, n in self.outcomes.items() if key.endswith((" 502", CUT)))

    def describe(self) -> str:
        seen = ", ".join(f"{key}: {n}" for key, n in sorted(self.outcomes.items()))
        return (
            f"{self.requests} requests spaced {self.gap_seconds:.2f}"
            + (f" to {self.gap_seconds + self.spread_seconds:.2f}" if self.spread_seconds else "")
            + " s through the balancer: "
            f"{self.failures()} answered 502 or cut ({seen})"
        )


def _one(url: str, header: str, verify: bool | str, cookies: dict[str, str]) -> str:
    conn = _connection(url, timeout=10.0, verify=verify)
    sent = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    try:
        conn.request("GET", urlsplit(url).path or "/", headers=sent)
        response = conn.getresponse()
        response.read()
        return f"{response.getheader(header) or 'balancer'} {response.status}"
    except (OSError, http.client.HTTPException):
        return CUT
    finally:
        conn.close()


def paced_run(
    url: str,
    gap: float,
    count: int,
    header: str,
    verify: bool | str = True,
    cookies: dict[str, str] | None = None,
    spread: float = 0.0,
) -> PacedRun:
    """`count` requests to `url`, each on a fresh client connection, `gap` seconds apart (the
    gaps growing evenly to `gap + spread`: a server checks its idle connections every so often,
    so it closes some time after its keep-alive) and pinned by `cookies` (the sticky cookies of
    one target), so the balancer's idle connections to that target are reused just after its
    keep-alive (`header` names the answering target)."""
    run = PacedRun(count, gap, spread_seconds=spread)
    for i in range(count):
        if i:
            time.sleep(gap + spread * (i - 1) / max(count - 2, 1))
        run.outcomes[_one(url, header, verify, cookies or {})] += 1
    return run
