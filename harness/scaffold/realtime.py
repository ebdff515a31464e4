"""The `realtime:` section `parity init` proposes when the app answers a real-time transport:
Socket.IO's Engine.IO handshake, a WebSocket upgrade, or an event stream. What was observed is
written out; what a probe cannot know (the events or the request that publish, how the hello
names the instance) is left for the user, so the section is written commented."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Any

import requests

from harness.scaffold.line import Line

PROBE_TIMEOUT = 5.0
SOCKETIO_PATH = "/socket.io/"
HANDSHAKE = "?EIO=4&transport=polling"
WEBSOCKET_PATHS = ("/ws", "/websocket", "/socket", "/cable", "/realtime/ws")
EVENT_STREAM_PATHS = ("/events", "/sse", "/stream", "/realtime/events")


@dataclass(frozen=True)
class Found:
    protocol: str
    path: str
    observed: str


def _ask(url: str, verify: bool | str, headers: dict[str, str]) -> requests.Response | None:
    try:
        answer = requests.get(
            url, headers=headers, timeout=PROBE_TIMEOUT, verify=verify, stream=True,
            allow_redirects=False,
        )  # fmt: skip
    except requests.RequestException:
        return None
    answer.close()  # only its status and headers are read: a stream is never drained
    return answer


def observe_realtime(entry: str, verify: bool | str) -> Found | None:
    """The first real-time transport the entry answers, with what showed it."""
    base = entry.rstrip("/")
    try:
        handshake = requests.get(
            base + SOCKETIO_PATH + HANDSHAKE, timeout=PROBE_TIMEOUT, verify=verify
        )
    except requests.RequestException:
        handshake = None
    if handshake is not None and handshake.status_code == 200 and '"sid"' in handshake.text[:200]:
        observed = f"observed: GET {SOCKETIO_PATH}{HANDSHAKE} answered an Engine.IO handshake"
        return Found("socketio", SOCKETIO_PATH, observed)
    key = base64.b64encode(os.urandom(16)).decode()
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": key}  # fmt: skip
    for path in WEBSOCKET_PATHS:
        answer = _ask(base + path, verify, upgrade)
        if answer is not None and answer.status_code == 101:
            return Found("websocket", path, f"observed: GET {path} upgraded to a WebSocket (101)")
    for path in EVENT_STREAM_PATHS:
        answer = _ask(base + path, verify, {"Accept": "text/event-stream"})
        kind = answer.headers.get("Content-Type", "") if answer is not None else ""
        if answer is not None and answer.status_code == 200 and "text/event-stream" in kind:
            return Found("sse", path, f"observed: GET {path} answered text/event-stream")
    return None


def _section(found: Found) -> dict[str, Any]:
    section: dict[str, Any] = {"protocol": found.protocol, "path": found.path}
    section["identity"] = "/instance"
    section["user"] = "/user"
    if found.protocol == "sse":
        section["publish"] = {"method": "POST", "path": "/publish", "json": {"text": "{message}"}}
    else:
        frame = "chat" if found.protocol == "socketio" else '{"text": "{message}"}'
        section["publish_frame"] = frame
    if found.protocol == "socketio":
        section |= {"hello_event": "hello", "message_event": "message"}
        section["polling"] = {
            "handshake": {"method": "GET", "path": SOCKETIO_PATH + HANDSHAKE,
                          "extract": {"sid": {"regex": '"sid":"([^"]+)"'}}},
            "poll": {"method": "POST", "path": f"{SOCKETIO_PATH}{HANDSHAKE}&sid={{sid}}",
                     "body": "6"},
        }  # fmt: skip
    section["message"] = "/text"
    section["delivery_within_seconds"] = 2
    return section


def realtime_lines(found: Found | None) -> list[Line]:
    """The proposal, commented: uncomment it once its events (or publish request) and the
    hello's pointers are the app's."""
    if found is None:
        return []
    body = Line(0, "realtime", _section(found)).render().splitlines()
    return [
        Line(0, None, comment=f"real-time: {found.observed}. Uncomment once identity, user "
             "and how to publish are your app's (docs/guides/realtime.md)"),
        *(Line(0, None, comment=line) for line in body),
    ]  # fmt: skip
