"""Real-time streams as a browser opens them: a WebSocket or Server-Sent Events through the
balancer, with the client's session and sticky cookies, read in a thread of their own.

A stream knows the target that serves it (the identity header of its upgrade, or a JSON
pointer into its first message, the hello) and the session's user the hello names. Each
message it delivers is kept with the time it arrived; a stream closes itself after its
lifetime (`MAX_STREAM_SECONDS` unless the check needs longer), so no check leaves one open.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import websocket
from requests.structures import CaseInsensitiveDict

from harness.profile.sections import Realtime
from harness.traffic.client import Identity, Route, VirtualUser, json_pointer
from harness.traffic.contract import send_request

OPEN_TIMEOUT_SECONDS = 10.0
HELLO_TIMEOUT_SECONDS = 5.0
MAX_STREAM_SECONDS = 120.0
READ_TICK_SECONDS = 0.5
SSE_READ_BYTES = 65536


class StreamRefused(Exception):
    """The upgrade (or the stream's request) was answered with another status than 101/200."""

    def __init__(self, status: int | None, target: str | None, detail: str) -> None:
        super().__init__(f"answered {status if status is not None else 'nothing'}: {detail}")
        self.status, self.target, self.detail = status, target, detail


@dataclass
class Arrival:
    text: str
    at: float  # time.monotonic() when it arrived


@dataclass(eq=False)  # each stream is itself: compared and hashed by identity
class Stream:
    """One open stream and what it has delivered so far."""

    protocol: str
    target: str | None
    user: str | None
    hello: Any
    closed_at: float | None = None  # time.monotonic() when it was seen closed
    expired: bool = False  # closed by its own lifetime, not by the other end
    keep: Callable[[str], bool] | None = None  # which messages to keep (None: all)
    _socket: Any = None  # the WebSocket, or the event stream's response
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _by_text: dict[str, Arrival] = field(default_factory=dict)
    _timer: threading.Timer | None = None

    def add(self, text: str) -> None:
        if self.keep is not None and not self.keep(text):
            return
        arrival = Arrival(text, time.monotonic())
        with self._lock:
            self._by_text.setdefault(text, arrival)

    def received(self, text: str) -> Arrival | None:
        with self._lock:
            return self._by_text.get(text)

    def forget(self, text: str) -> None:
        """Drop what is known of `text` (counted already: a long run keeps no history)."""
        with self._lock:
            self._by_text.pop(text, None)

    def mark_closed(self) -> None:
        if self.closed_at is None:
            self.closed_at = time.monotonic()

    def expire(self) -> None:
        """Its lifetime is over: closed here (a check never leaves a stream open)."""
        if self.closed_at is None:
            self.expired = True
            self.close()

    def send(self, frame: str, text: str) -> None:
        """Send `frame` (a WebSocket's, with {message} as `text`; Socket.IO: the event, with
        `text` as its data)."""
        if self.protocol == "socketio":
            self._socket.emit(frame, text)
        elif self.protocol == "websocket":
            self._socket.send(frame.replace("{message}", text))
        else:
            raise ValueError("Server-Sent Events send nothing")

    def close(self) -> None:
        """Close it now: a WebSocket with its close frame, an event stream by shutting its
        connection (a reader blocked on it wakes, and the server sees the end at once)."""
        if self.protocol == "sse":
            connection: Any = getattr(self._socket.raw, "_connection", None)
            with contextlib.suppress(OSError, AttributeError):
                connection.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self._socket.close()
        if self._timer is not None:
            self._timer.cancel()


def cookie_header(user: VirtualUser, route: Route | None) -> str:
    """What a browser sends on the upgrade: the route's sticky cookies, and its own others (its
    own session too when the route carries one: application-based stickiness pins with the
    app's cookie, and this client's session is the one the stream must open with)."""
    own = {
        c.name: c.value
        for c in user.http.cookies
        if c.value is not None and c.name not in user.sticky_names
    }
    pinned = route.cookies if route else {}
    return "; ".join(f"{k}={v}" for k, v in {**pinned, **own}.items())


def text_of(spec: Realtime, raw: str) -> str:
    """A delivered message's text: at `realtime.message` (a JSON pointer), else the frame."""
    if not spec.message:
        return raw
    try:
        return str(json_pointer(json.loads(raw), spec.message))
    except (ValueError, KeyError, IndexError, TypeError):
        return raw


def named(hello: Any, pointer: str | None) -> str | None:
    """What the hello holds at `pointer` (the instance, the user), or None."""
    if pointer is None or hello is None:
        return None
    try:
        found = json_pointer(hello, pointer)
    except (KeyError, IndexError, TypeError):
        return None
    return None if found is None else str(found)


def open_stream(
    user: VirtualUser,
    route: Route | None,
    spec: Realtime,
    identity: Identity,
    lifetime: float = MAX_STREAM_SECONDS,
    keep: Callable[[str], bool] | None = None,
) -> Stream:
    """Open `spec`'s stream for `user` through `route` (None: the balancer chooses, with the
    client's own cookies), to close itself after `lifetime` seconds (then `expired`), keeping
    the messages `keep` takes (None: all); StreamRefused when it is not opened."""
    if spec.protocol == "websocket":
        stream = _open_websocket(user, route, spec, identity, lifetime)
    elif spec.protocol == "socketio":
        from harness.traffic.realtime_socketio import open_socketio  # its client, when used

        stream = open_socketio(user, route, spec, identity)
    else:
        stream = _open_sse(user, route, spec, identity)
    stream.keep = keep
    stream._timer = threading.Timer(lifetime, stream.expire)
    stream._timer.daemon = True
    stream._timer.start()
    return stream


def ssl_options(user: VirtualUser) -> dict[str, Any]:
    if user.verify is False:
        return {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
    options: dict[str, Any] = {"cert_reqs": ssl.CERT_REQUIRED}
    if isinstance(user.verify, str):
        options["ca_certs"] = user.verify
    host = host_of(user)
    if host:
        options["server_hostname"] = host
    return options


def host_of(user: VirtualUser) -> str | None:
    """The Host the client sends (a listener rule's host), when it names one."""
    host = user.http.headers.get("Host")
    return host.decode() if isinstance(host, bytes) else host


def _open_websocket(
    user: VirtualUser, route: Route | None, spec: Realtime, identity: Identity, lifetime: float
) -> Stream:
    base = urlsplit(route.base_url if route else user.base_url)
    scheme = "wss" if base.scheme == "https" else "ws"
    url = f"{scheme}://{base.netloc}{spec.path}"
    host = host_of(user)
    ws = websocket.WebSocket(sslopt=ssl_options(user))
    started = time.perf_counter()

    def note(status: int | None, target: str | None, error: str | None = None) -> None:
        took = (time.perf_counter() - started) * 1000
        user.note("GET", spec.path, route, (status, target, took), step="upgrade", error=error)

    try:
        ws.connect(  # type: ignore[no-untyped-call]
            url,
            cookie=cookie_header(user, route),
            timeout=OPEN_TIMEOUT_SECONDS,
            **({"host": host} if host else {}),  # its one Host header, the listener rule's
        )
    except websocket.WebSocketBadStatusException as exc:
        answered = _Headers(exc.resp_headers or {})
        body = (exc.resp_body or b"")[:200]
        detail = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        note(exc.status_code, identity.of(answered))
        raise StreamRefused(exc.status_code, identity.of(answered), detail.strip()) from exc
    except (OSError, websocket.WebSocketException) as exc:
        note(None, None, type(exc).__name__)
        raise StreamRefused(None, None, f"{type(exc).__name__}: {exc}") from exc
    answered = _Headers(ws.getheaders() or {})
    hello = None
    if spec.identity or spec.user:
        hello = _first_frame(ws)
    target = named(hello, spec.identity) if spec.identity else identity.of(answered)
    note(ws.getstatus(), target)
    stream = Stream("websocket", target, named(hello, spec.user), hello, _socket=ws)
    if spec.subscribe:
        ws.send(spec.subscribe)
    reader = threading.Thread(target=_read_websocket, args=(ws, stream, spec, lifetime))
    reader.daemon = True
    reader.start()
    return stream


class _Headers:
    """Response headers as `Identity.of` reads them."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = CaseInsensitiveDict(headers)

    def json(self) -> Any:
        raise ValueError("an upgrade has no body")


def _first_frame(ws: websocket.WebSocket) -> Any:
    ws.settimeout(HELLO_TIMEOUT_SECONDS)
    try:
        return json.loads(ws.recv())
    except (ValueError, websocket.WebSocketException, OSError):
        return None


def _read_websocket(
    ws: websocket.WebSocket, stream: Stream, spec: Realtime, lifetime: float
) -> None:
    ws.settimeout(READ_TICK_SECONDS)
    ends = time.monotonic() + lifetime + 1  # its timer closes it first
    try:
        while time.monotonic() < ends:
            try:
                frame = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            if not frame:  # closed by the other end
                break
            stream.add(text_of(spec, frame if isinstance(frame, str) else frame.decode()))
    except (websocket.WebSocketException, OSError):
        pass
    finally:
        stream.mark_closed()
        with contextlib.suppress(Exception):
            ws.close()


def _open_sse(user: VirtualUser, route: Route | None, spec: Realtime, identity: Identity) -> Stream:
    try:
        response = user.request(
            "GET",
            spec.path,
            route=route,
            step="subscribe",
            stream=True,
            headers={"Accept": "text/event-stream"},
            timeout=(OPEN_TIMEOUT_SECONDS, MAX_STREAM_SECONDS),
        )
    except requests.RequestException as exc:
        raise StreamRefused(None, None, f"{type(exc).__name__}") from exc
    target = identity.of(response)
    if response.status_code != 200:
        detail = response.text[:200].strip()
        response.close()
        raise StreamRefused(response.status_code, target, detail)
    events = sse_events(_sse_lines(response))
    hello = None
    if spec.identity or spec.user:
        with contextlib.suppress(StopIteration, requests.RequestException, ValueError):
            hello = json.loads(next(events))
    if spec.identity:
        target = named(hello, spec.identity)
    stream = Stream("sse", target, named(hello, spec.user), hello, _socket=response)
    threading.Thread(target=_read_sse, args=(events, response, stream, spec), daemon=True).start()
    return stream


def _sse_lines(response: requests.Response) -> Iterator[str]:
    """The stream's lines as they arrive (what has come is read at once, not a block of it)."""
    pending = b""
    while True:
        chunk = response.raw.read1(SSE_READ_BYTES)
        if not chunk:
            return
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line.rstrip(b"\r").decode("utf-8", "replace")


def sse_events(lines: Iterable[str]) -> Iterator[str]:
    """The data of each event of an event stream (comments and other fields skipped)."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


def _read_sse(events: Any, response: requests.Response, stream: Stream, spec: Realtime) -> None:
    try:
        for data in events:
            stream.add(text_of(spec, data))
    except (requests.RequestException, OSError, ValueError, AttributeError):
        pass
    finally:
        stream.mark_closed()
        response.close()


def publish(
    user: VirtualUser, route: Route | None, spec: Realtime, text: str, on: Stream | None = None
) -> float:
    """Publish `text` through `route` (None: wherever the balancer sends it) with an HTTP
    request, or as a frame on the stream `on`; when it was sent (time.monotonic())."""
    sent = time.monotonic()
    if spec.publish_frame:
        if on is None:
            raise ValueError("a frame is published on an open stream")
        on.send(spec.publish_frame, text)
    elif spec.publish is not None:
        send_request(
            "publish", spec.publish, user, {"message": text}, route, field="realtime.publish"
        )
    return sent
