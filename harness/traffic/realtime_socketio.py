"""A Socket.IO stream (python-socketio's client, over its WebSocket transport) opened through
the balancer with the client's session and sticky cookies; its hello and its messages are the
events the profile names (`realtime.hello_event`, `realtime.message_event`)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import requests
import socketio

from harness.profile.sections import Realtime
from harness.traffic.client import Identity, Route, VirtualUser
from harness.traffic.realtime import (
    HELLO_TIMEOUT_SECONDS,
    OPEN_TIMEOUT_SECONDS,
    Stream,
    StreamRefused,
    cookie_header,
    host_of,
    named,
    ssl_options,
    text_of,
)

HELLO_EVENT = "hello"
MESSAGE_EVENT = "message"


class _Client:
    """What a Stream asks of its socket: emit and close."""

    def __init__(self, client: socketio.Client, http: requests.Session) -> None:
        self.client, self.http = client, http

    def emit(self, event: str, data: str) -> None:
        self.client.emit(event, data)

    def close(self) -> None:
        self.client.disconnect()
        self.http.close()


def open_socketio(
    user: VirtualUser, route: Route | None, spec: Realtime, identity: Identity
) -> Stream:
    http = requests.Session()
    http.verify = user.verify
    host = host_of(user)
    headers = {"Cookie": cookie_header(user, route)}
    upgrade: dict[str, Any] = {"sslopt": ssl_options(user), **({"host": host} if host else {})}
    client = socketio.Client(
        http_session=http,
        reconnection=False,
        ssl_verify=user.verify is not False,
        websocket_extra_options=upgrade,  # its one Host header, the listener rule's
    )
    hello: dict[str, Any] = {}
    said = threading.Event()
    stream = Stream("socketio", None, None, None, _socket=_Client(client, http))

    def on_hello(data: Any = None) -> None:
        hello["data"] = data
        said.set()

    def on_message(data: Any = None) -> None:
        stream.add(text_of(spec, data if isinstance(data, str) else json.dumps(data)))

    def on_refused(data: Any = None) -> None:
        refusal["data"] = data

    refusal: dict[str, Any] = {}
    client.on("connect_error", on_refused)
    client.on("disconnect", lambda *_: stream.mark_closed())
    client.on(spec.hello_event or HELLO_EVENT, on_hello)
    client.on(spec.message_event or MESSAGE_EVENT, on_message)

    started = time.perf_counter()
    base = route.base_url if route else user.base_url
    try:
        client.connect(
            base,
            headers=headers,
            transports=["websocket"],
            socketio_path=spec.path.strip("/"),
            wait_timeout=OPEN_TIMEOUT_SECONDS,
        )
    except socketio.exceptions.ConnectionError as exc:
        took = (time.perf_counter() - started) * 1000
        user.note("GET", spec.path, route, (None, None, took), step="upgrade", error="refused")
        client.disconnect()
        http.close()
        said_why = refusal.get("data")
        why = said_why.get("message") if isinstance(said_why, dict) else said_why
        raise StreamRefused(None, None, f"Socket.IO: {why or exc}") from exc
    said.wait(HELLO_TIMEOUT_SECONDS)
    stream.hello = hello.get("data")
    stream.target = named(stream.hello, spec.identity) if spec.identity else None
    stream.user = named(stream.hello, spec.user)
    took = (time.perf_counter() - started) * 1000
    user.note("GET", spec.path, route, (101, stream.target, took), step="upgrade")
    if spec.subscribe:
        client.emit(spec.subscribe)
    return stream
