"""The reference app's real-time endpoints: a WebSocket, Server-Sent Events and long polling.

A message published on any instance (`POST /realtime/publish`, or `{"publish": text}` on the
WebSocket) goes through Redis pub/sub to the subscribers of every instance. With the
`local-broadcast` fault it goes only to the publishing instance's own subscribers, as an app
without a shared adapter does. Every endpoint needs a logged-in session (401 before the upgrade
otherwise), and each stream opens with a hello naming the instance and the session's user. A
long-polling handshake lives in its instance's memory, as Socket.IO's does: a poll that reaches
another instance answers `400 Session ID unknown`.
"""

from __future__ import annotations

import contextlib
import json
import queue
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import redis
from flask import Flask, Response, jsonify, request, session
from flask_sock import Sock

from harness.replica.app_settings import AppSettings
from harness.replica.sessions import store_client

CHANNEL = "parity:realtime"
READY_SECONDS = 5.0  # a subscriber waits this long, at most, for the instance's Redis listener
HEARTBEAT_SECONDS = 15.0  # an SSE comment this often: idle streams outlive the balancer's timeout
SEND_TICK_SECONDS = 0.05  # the WebSocket loop's wait for a message before it reads the client
MAX_POLL_WAIT_SECONDS = 5.0
POLL_IDLE_SECONDS = 60.0  # a long-polling handshake nobody polls for this long is forgotten
MAX_TEXT = 1000


class Hub:
    """This instance's subscribers, and the Redis channel that joins every instance's (none:
    the local-broadcast fault, where a message reaches only this instance's subscribers)."""

    def __init__(self, redis_url: str | None, instance: str) -> None:
        self.instance = instance
        self._client: Any = store_client(redis_url) if redis_url else None
        self._queues: set[queue.Queue[dict[str, Any]]] = set()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._listener: threading.Thread | None = None
        if self._client is None:
            self._ready.set()

    def subscribe(self) -> queue.Queue[dict[str, Any]]:
        """A queue that receives every message from now on (the listener is up when it returns)."""
        self._start_listener()
        self._ready.wait(READY_SECONDS)
        inbox: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=1000)
        with self._lock:
            self._queues.add(inbox)
        return inbox

    def unsubscribe(self, inbox: queue.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._queues.discard(inbox)

    def publish(self, text: str, user: str) -> dict[str, Any]:
        message = {
            "type": "message",
            "id": secrets.token_hex(6),
            "text": text[:MAX_TEXT],
            "published_on": self.instance,
            "user": user,
            "at": time.time(),
        }
        if self._client is None:
            self._deliver(message)
        else:
            self._client.publish(CHANNEL, json.dumps(message))
        return message

    def _deliver(self, message: dict[str, Any]) -> None:
        with self._lock:
            inboxes = list(self._queues)
        for inbox in inboxes:
            try:
                inbox.put_nowait({**message, "delivered_by": self.instance})
            except queue.Full:  # a subscriber that stopped reading loses the message
                continue

    def _start_listener(self) -> None:
        with self._lock:
            if self._client is None or self._listener is not None:
                return
            self._listener = threading.Thread(target=self._listen, daemon=True, name="realtime")
            self._listener.start()

    def _listen(self) -> None:
        """Deliver what the channel carries; a lost connection is subscribed again."""
        while True:
            try:
                pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                self._ready.set()
                while True:
                    got = pubsub.get_message(timeout=1.0)
                    if got and isinstance(got.get("data"), bytes | str):
                        with contextlib.suppress(ValueError):  # not ours: skipped, not fatal
                            self._deliver(json.loads(got["data"]))
            except (redis.ConnectionError, redis.TimeoutError):
                self._ready.clear()
                time.sleep(0.5)


class Polls:
    """Long-polling handshakes, in this process only (as Socket.IO keeps them)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._open: dict[str, tuple[queue.Queue[dict[str, Any]], float]] = {}
        self._lock = threading.Lock()

    def handshake(self) -> str:
        sid = secrets.token_urlsafe(12)
        now = time.monotonic()
        with self._lock:
            for stale in [
                s for s, (_, seen) in self._open.items() if now - seen > POLL_IDLE_SECONDS
            ]:
                self.hub.unsubscribe(self._open.pop(stale)[0])
            self._open[sid] = (self.hub.subscribe(), now)
        return sid

    def poll(self, sid: str, wait: float) -> list[dict[str, Any]] | None:
        """The messages for `sid` (waiting up to `wait` for the first), None when unknown."""
        with self._lock:
            entry = self._open.get(sid)
            if entry is None:
                return None
            self._open[sid] = (entry[0], time.monotonic())
        inbox, messages = entry[0], []
        try:
            messages.append(inbox.get(timeout=wait))
            while True:
                messages.append(inbox.get_nowait())
        except queue.Empty:
            return messages


def _hello(cfg: AppSettings) -> dict[str, Any]:
    return {"type": "hello", "instance": cfg.instance_id, "user": session.get("user")}


def register_realtime(app: Flask, cfg: AppSettings) -> None:
    """The real-time routes, each behind the session."""
    hub = Hub(None if cfg.broadcast == "local" else cfg.redis_url, cfg.instance_id)
    polls = Polls(hub)
    sock = Sock(app)

    @app.before_request
    def realtime_needs_a_session() -> tuple[Response, int] | None:
        if request.path.startswith("/realtime/") and not isinstance(session.get("user"), str):
            return jsonify(error="log in first: no session"), 401
        return None

    @app.post("/realtime/publish")
    def publish() -> Response:
        text = str((request.get_json(silent=True) or {}).get("text", ""))
        message = hub.publish(text, str(session["user"]))
        return jsonify(published=message["id"], instance=cfg.instance_id)

    @sock.route("/realtime/ws")  # type: ignore[untyped-decorator]
    def websocket(ws: Any) -> None:
        inbox = hub.subscribe()
        try:
            ws.send(json.dumps(_hello(cfg)))
            while ws.connected:
                with contextlib.suppress(queue.Empty):
                    ws.send(json.dumps(inbox.get(timeout=SEND_TICK_SECONDS)))
                frame = ws.receive(timeout=0)
                if frame:
                    _on_frame(hub, frame, str(session["user"]))
        finally:
            hub.unsubscribe(inbox)

    @app.get("/realtime/events")
    def events() -> Response:
        hello = _hello(cfg)

        def stream() -> Iterator[str]:
            inbox = hub.subscribe()  # once the stream is read: a response never sent holds none
            try:
                yield f"event: hello\ndata: {json.dumps(hello)}\n\n"
                while True:
                    try:
                        yield f"data: {json.dumps(inbox.get(timeout=HEARTBEAT_SECONDS))}\n\n"
                    except queue.Empty:
                        yield ": heartbeat\n\n"
            finally:
                hub.unsubscribe(inbox)

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return Response(stream(), mimetype="text/event-stream", headers=headers)

    @app.get("/realtime/poll")
    def poll() -> tuple[Response, int]:
        sid = request.args.get("sid")
        if not sid:
            return jsonify({**_hello(cfg), "sid": polls.handshake()}), 200
        try:
            wait = min(max(float(request.args.get("wait", "1")), 0.0), MAX_POLL_WAIT_SECONDS)
        except ValueError:
            return jsonify(error="wait: a number of seconds"), 400
        messages = polls.poll(sid, wait)
        if messages is None:
            return jsonify(code=1, message="Session ID unknown"), 400
        return jsonify(messages=messages, instance=cfg.instance_id), 200


def _on_frame(hub: Hub, frame: str | bytes, user: str) -> None:
    """A client's frame: `{"publish": text}` publishes; anything else is ignored."""
    try:
        body = json.loads(frame)
    except ValueError:
        return
    if isinstance(body, dict) and "publish" in body:
        hub.publish(str(body["publish"]), user)
