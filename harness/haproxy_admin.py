"""A client for HAProxy's runtime API (the admin `stats socket`), unix or TCP."""

from __future__ import annotations

import csv
import io
import socket
from dataclasses import dataclass

from harness.errors import EnvironmentUnavailable

TIMEOUT_SECONDS = 5.0
REFUSALS = ("Unknown command", "No such", "Require ", "Permission denied", "Invalid ")


@dataclass(frozen=True)
class ServerStat:
    """One server's line of `show stat`."""

    name: str
    status: str  # UP, DOWN, MAINT, DRAIN, "UP 1/2", "DOWN 1/2", "no check", ...
    check_status: str  # L7OK, L7STS, L4CON, L4TOUT, L7TOUT, INI, ...
    check_code: str
    current_sessions: int
    weight: int
    checked: bool  # health checks configured (shown even in maintenance, unlike check_status)


class HaproxyAdmin:
    """Runs runtime-API commands against one HAProxy: `unix:/path/sock` or `host:port`."""

    def __init__(self, address: str) -> None:
        self.address = address

    def _connect(self) -> socket.socket:
        if self.address.startswith("unix:") or self.address.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target: str | tuple[str, int] = self.address.removeprefix("unix:")
        else:
            host, _, port = self.address.rpartition(":")
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            target = (host or "127.0.0.1", int(port))
        sock.settimeout(TIMEOUT_SECONDS)
        try:
            sock.connect(target)
        except OSError as exc:
            sock.close()
            raise EnvironmentUnavailable(
                f"HAProxy runtime API at {self.address} is not reachable: {exc.strerror or exc}"
            ) from exc
        return sock

    def command(self, line: str) -> str:
        """Send one command line (several may be joined with `;`) and return the answer."""
        with self._connect() as sock:
            sock.sendall(line.encode() + b"\n")
            chunks: list[bytes] = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        answer = b"".join(chunks).decode(errors="replace").strip()
        first = answer.splitlines()[0] if answer else ""
        if first.startswith(REFUSALS):  # errors come first; stats text may say anything later
            raise EnvironmentUnavailable(f"HAProxy refused {line!r}: {first}")
        return answer

    def servers(self, backend: str) -> dict[str, ServerStat]:
        """Every server of `backend` with its state, from `show stat`."""
        text = self.command("show stat").lstrip("# ")
        stats: dict[str, ServerStat] = {}
        for row in csv.DictReader(io.StringIO(text)):
            if row.get("pxname") != backend or row.get("svname") in ("BACKEND", "FRONTEND"):
                continue
            stats[row["svname"]] = ServerStat(
                name=row["svname"],
                status=row.get("status", ""),
                check_status=row.get("check_status", ""),
                check_code=row.get("check_code", ""),
                current_sessions=int(row.get("scur") or 0),
                weight=int(row.get("weight") or 0),
                checked=bool(row.get("chkfail")),
            )
        return stats

    def set_maint(self, backend: str, server: str) -> None:
        """Stop new requests to the server at once, sticky ones included; in-flight ones go on."""
        self.command(f"set server {backend}/{server} state maint")

    def set_drain(self, backend: str, server: str) -> None:
        """No new clients; those pinned to the server by its cookie stay (HAProxy's drain)."""
        self.command(f"set server {backend}/{server} state drain")

    def shutdown_sessions(self, backend: str, server: str) -> None:
        """Cut every request still running on the server."""
        self.command(f"shutdown sessions server {backend}/{server}")

    def set_ready(self, backend: str, server: str, *, recheck: bool) -> None:
        """Put the server back; with `recheck` it must pass its healthy threshold first."""
        line = f"set server {backend}/{server} state ready"
        if recheck:  # in one line, so no request slips in between
            line += f"; set server {backend}/{server} health down"
        self.command(line)
