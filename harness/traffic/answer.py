"""`Answer`: one HTTP response as a session driver sees it, in every command.

The suites, `parity canary`, `parity watch` and the exporter send requests with `requests`;
`parity load` sends them from Locust's FastHttpUser (geventhttpclient), whose responses have no
`.cookies` and keep Set-Cookie in another place. A driver written once gets the same `Answer`
from both: status, headers, every Set-Cookie header, the cookies set, text, json(), elapsed.
"""

from __future__ import annotations

import json as jsonlib
import threading
import time
import weakref
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import requests

from harness.traffic.cookies import SetCookie


class Answer:
    """A response: `status_code` (also `status`), `headers` (case-insensitive), `set_cookies`
    (every Set-Cookie header, in order, with the redirects' before it; a redirect Locust
    followed under `parity load` keeps only the last answer's), `cookies` (name -> value of
    the cookies those headers set and did not delete), `text`, `json()`, `elapsed` (a
    timedelta), `url`, `raise_for_status()`, and `raw`, the underlying response (its type
    depends on the command)."""

    def __init__(
        self,
        raw: Any,
        *,
        status_code: int,
        headers: Mapping[str, str],
        set_cookies: list[str],
        text: str,
        elapsed: timedelta,
        url: str | None,
    ) -> None:
        self.raw, self.status_code, self.headers = raw, status_code, headers
        self.set_cookies, self.text, self.elapsed, self.url = set_cookies, text, elapsed, url
        self.cookies: dict[str, str] = {}
        for cookie in (SetCookie.parse(h) for h in set_cookies):  # in order: the last one wins
            if cookie.deletes():
                self.cookies.pop(cookie.name, None)
            else:
                self.cookies[cookie.name] = cookie.value

    @property
    def status(self) -> int:
        return self.status_code

    @property
    def ok(self) -> bool:
        """An answer below 400 (status 0, no answer at all, is not ok)."""
        return 0 < self.status_code < 400

    @property
    def content(self) -> bytes:
        return self.text.encode()

    def __getattr__(self, attr: str) -> Any:
        """Anything else (`history`, `reason`, ...) is the underlying response's own."""
        if attr.startswith("__") or attr == "raw":
            raise AttributeError(attr)
        return getattr(self.raw, attr)

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return jsonlib.loads(self.text)

    def raise_for_status(self) -> None:
        """requests.HTTPError for a 4xx or 5xx answer, as requests' own does, and for none at
        all (status 0: Locust's answer when the connection failed)."""
        if not self.ok and self.status_code < 600:
            said = f"{self.status_code} for {self.url}" if self.status_code else "no answer"
            raise requests.HTTPError(said, response=self)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"<Answer {self.status_code} {self.url or ''}>"


def answer_of(response: Any, elapsed: timedelta | None = None) -> Answer:
    """An `Answer` from a requests.Response, a Locust FastResponse, or an `Answer`."""
    if isinstance(response, Answer):
        return response
    if isinstance(response, requests.Response):
        hops = [*response.history, response]
        return Answer(
            response,
            status_code=response.status_code,
            headers=response.headers,
            set_cookies=[h for hop in hops for h in _raw_set_cookies(hop)],
            text=response.text,
            elapsed=response.elapsed if elapsed is None else elapsed,
            url=response.url,
        )
    headers: Any = getattr(response, "headers", None)
    found = headers.get_all("set-cookie", []) if hasattr(headers, "get_all") else []
    return Answer(
        response,
        status_code=int(getattr(response, "status_code", 0) or 0),
        headers=headers if headers is not None else {},
        set_cookies=[str(h) for h in found],
        text=getattr(response, "text", None) or "",
        elapsed=elapsed if elapsed is not None else timedelta(0),
        url=getattr(response, "url", None),
    )


def _raw_set_cookies(response: requests.Response) -> list[str]:
    raw = response.raw
    headers = getattr(raw, "headers", None)
    if headers is not None and hasattr(headers, "getlist"):
        return [str(h) for h in headers.getlist("Set-Cookie")]
    one = response.headers.get("Set-Cookie")
    return [one] if one else []


def ask(user: Any, method: str, path: str, **kwargs: Any) -> Answer:
    """`user.request(...)` (a VirtualUser's or a Locust user's), timed, as an `Answer`."""
    started = time.perf_counter()
    response = user.request(method, path, **kwargs)
    took = timedelta(seconds=time.perf_counter() - started)
    if isinstance(response, requests.Response):
        return answer_of(response)
    return answer_of(response, took)


class AnswerTransport:
    """A Transport whose `request` returns an `Answer`: what a user's own driver is handed, in
    every command, one per transport (`answering`), so a driver may key state by it. Everything
    else (`vars`, `last_target`, `cookie()`, `forget_cookie()`) is the transport's own."""

    def __init__(self, transport: Any) -> None:
        object.__setattr__(self, "_transport", transport)

    def request(self, method: str, path: str, **kwargs: Any) -> Answer:
        return ask(self._transport, method, path, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._transport, attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        setattr(self._transport, attr, value)


_WRAPPED: weakref.WeakKeyDictionary[Any, AnswerTransport] = weakref.WeakKeyDictionary()
_WRAPPING = threading.Lock()


def answering(transport: Any) -> AnswerTransport:
    """The one AnswerTransport of `transport` (itself, when it is one)."""
    if isinstance(transport, AnswerTransport):
        return transport
    with _WRAPPING:
        wrapper = _WRAPPED.get(transport)
        if wrapper is None:
            wrapper = _WRAPPED[transport] = AnswerTransport(transport)
        return wrapper


def is_transport(value: Any) -> bool:
    """A VirtualUser, a Locust user's transport, or an AnswerTransport already."""
    return all(callable(getattr(value, a, None)) for a in ("request", "cookie", "forget_cookie"))
