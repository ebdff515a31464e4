"""The replica's control API: a small token-protected JSON HTTP server on 127.0.0.1, and its client.

The topology provider drives the replica through this API whether the replica runs in this process
(a test's context manager) or in the `parity up` daemon.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from harness.errors import ParityError, ReplicaError
from harness.replica.spec import ACTIONS
from harness.replica.supervisor import Replica

TOKEN_HEADER = "X-Parity-Token"
TIMEOUT_SECONDS = 30.0
DEPLOY_TIMEOUT = 120.0  # the app's shutdown grace (30 s) and a start-up (20 s), with room


def _act(replica: Replica, target: str, action: str) -> None:
    if action == "deregister":
        replica.deregister(target)
    elif action == "register":
        replica.register(target)
    elif action == "kill":
        replica.kill(target)
    elif action == "restart":
        replica.restart(target)
    else:
        replica.set_health(target, failing=action == "fail-health")


def _handler(replica: Replica, token: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            given = self.headers.get(TOKEN_HEADER, "")
            if hmac.compare_digest(given, token):
                return True
            self._reply(403, {"error": "missing or wrong control token"})
            return False

        def do_GET(self) -> None:
            if not self._authorised():
                return
            if self.path == "/describe":
                self._reply(200, replica.describe())
            elif self.path == "/credentials":
                self._reply(200, {"password": replica.password})
            else:
                self._reply(404, {"error": f"no such resource {self.path}"})

        def do_POST(self) -> None:
            if not self._authorised():
                return
            if self.path == "/weights":
                self._weights()
                return
            if self.path == "/store/failover":
                try:
                    self._reply(200, replica.store.failover())
                except ParityError as exc:
                    self._reply(400, {"error": str(exc)})
                return
            parts = self.path.strip("/").split("/")
            if len(parts) == 3 and parts[0] == "targets" and parts[2] == "deploy":
                self._deploy(parts[1])
                return
            if len(parts) != 3 or parts[0] != "targets" or parts[2] not in ACTIONS:
                self._reply(404, {"error": f"no such action {self.path}"})
                return
            try:
                _act(replica, parts[1], parts[2])
            except ParityError as exc:
                self._reply(400, {"error": str(exc)})
                return
            self._reply(200, {"ok": True, "target": parts[1], "action": parts[2]})

        def _deploy(self, target: str) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), 4096)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                build = str(body["build"]) if isinstance(body, dict) else ""
                self._reply(200, replica.deploy(target, build))
            except (ValueError, KeyError) as exc:
                self._reply(400, {"error": f"deploy: give a build ({exc})"})
            except ParityError as exc:
                self._reply(400, {"error": str(exc)})

        def _weights(self) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), 4096)
            try:
                weights = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(weights, dict):
                    raise ValueError("not a JSON object")
                replica.set_weights({str(k): int(v) for k, v in weights.items()})
            except (ValueError, TypeError) as exc:
                self._reply(400, {"error": f"weights: {exc}"})
                return
            except ParityError as exc:
                self._reply(400, {"error": str(exc)})
                return
            self._reply(200, {"ok": True, "weights": replica.weights})

    return Handler


class ControlServer:
    """Serves a replica's control API in a background thread."""

    def __init__(self, replica: Replica) -> None:
        self.token = secrets.token_urlsafe(24)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(replica, self.token))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class ReplicaControl:
    """Client of a replica's control API."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self._headers = {TOKEN_HEADER: token}

    def __repr__(self) -> str:
        return f"ReplicaControl(url={self.url!r}, token='***')"

    def _call(
        self, method: str, path: str, payload: Any = None, timeout: float = TIMEOUT_SECONDS
    ) -> dict[str, Any]:
        try:
            resp = requests.request(
                method,
                self.url + path,
                headers=self._headers,
                timeout=timeout,
                json=payload,
            )
        except requests.RequestException as exc:
            raise ReplicaError(
                f"replica control API at {self.url} is not reachable: {type(exc).__name__}"
            ) from exc
        body: dict[str, Any] = resp.json()
        if resp.status_code != 200:
            raise ReplicaError(f"replica control API refused {method} {path}: {body.get('error')}")
        return body

    def describe(self) -> dict[str, Any]:
        return self._call("GET", "/describe")

    def password(self) -> str:
        return str(self._call("GET", "/credentials")["password"])

    def act(self, target: str, action: str) -> None:
        """Run one of ACTIONS on `target`."""
        if action not in ACTIONS:
            raise ReplicaError(f"unknown replica action {action!r} ({', '.join(ACTIONS)})")
        self._call("POST", f"/targets/{target}/{action}")

    def deploy(self, target: str, build: str) -> dict[str, Any]:
        """SIGTERM `target`, start it on `build`, wait for /healthz (registration is not
        touched); what was done, with how long the old process took to stop."""
        return self._call("POST", f"/targets/{target}/deploy", {"build": build}, DEPLOY_TIMEOUT)

    def set_weights(self, weights: dict[str, int]) -> dict[str, int]:
        """Change the weighted forward's weights (every group named); the weights now."""
        answer = self._call("POST", "/weights", weights)
        return {str(k): int(v) for k, v in answer["weights"].items()}

    def store_failover(self) -> dict[str, Any]:
        """Fail the store over to its replica (`--store sentinel`); old and new primary."""
        return self._call("POST", "/store/failover")
