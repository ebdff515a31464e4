"""Redirect chains followed hop by hop, as a browser would, with loops and bad hops named.

Behind TLS termination an app that ignores X-Forwarded-Proto sees plain http: it redirects to
https forever (a loop), or builds `http://` redirects, or redirects to its instance's own address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests

MAX_HOPS = 10
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Hop:
    url: str
    status: int
    location: str | None  # absolute, resolved against `url`
    error: str = ""  # no answer (a TLS or connection error): the chain ends here


@dataclass
class Chain:
    """The hops of one redirect chain; `loop` when a URL came back, `cut` when it hit MAX_HOPS."""

    start: str
    hops: list[Hop] = field(default_factory=list)
    loop: bool = False
    cut: bool = False

    @property
    def locations(self) -> list[str]:
        return [h.location for h in self.hops if h.location]

    def describe(self) -> str:
        lines = [
            f"  {h.error or h.status} {h.url}" + (f" -> {h.location}" if h.location else "")
            for h in self.hops
        ]
        return "\n".join(lines)


def follow(
    session: requests.Session, url: str, verify: bool | str = True, max_hops: int = MAX_HOPS
) -> Chain:
    """Follow `url`'s redirects one at a time (at most `max_hops`), never the same URL twice."""
    chain, seen = Chain(url), {url}
    while len(chain.hops) < max_hops:
        try:
            response = session.get(
                url, allow_redirects=False, timeout=TIMEOUT_SECONDS, verify=verify
            )
        except requests.RequestException as exc:
            chain.hops.append(Hop(url, 0, None, type(exc).__name__))
            return chain
        raw = response.headers.get("Location") if response.is_redirect else None
        location = urljoin(url, raw) if raw else None
        chain.hops.append(Hop(url, response.status_code, location))
        if location is None:
            return chain
        if location in seen:
            chain.loop = True
            return chain
        seen.add(location)
        url = location
    chain.cut = True
    return chain


def bad_locations(chain: Chain, internal: set[str]) -> list[str]:
    """Redirects to plain http, or to an address in `internal` (`host:port` of the targets)."""
    bad = []
    for location in chain.locations:
        parts = urlsplit(location)
        where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
        if parts.scheme == "http" or where in internal:
            bad.append(location)
    return bad
