"""The client address an app sees through the balancer, from a caller address it can tell apart.

On one machine the balancer and the caller share 127.0.0.1, so the caller speaks from another
loopback address (127.0.0.2): an app that takes the balancer's address for the client's then
sees 127.0.0.1, one that honours X-Forwarded-For sees 127.0.0.2.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
from urllib.parse import urlsplit

from harness.traffic.client import json_pointer

LOOPBACK_CALLER = "127.0.0.2"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False


def seen_address(url: str, pointer: str) -> tuple[str, str | None]:
    """(the caller's address, the address the app reports at `url` under JSON `pointer`)."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    source = (LOOPBACK_CALLER, 0) if _is_loopback(host) else None
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(host, parts.port, timeout=10.0, source_address=source)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        caller = conn.sock.getsockname()[0] if conn.sock else "?"
        body = conn.getresponse().read()
    finally:
        conn.close()
    seen = json_pointer(json.loads(body), pointer) if body else None
    return caller, None if seen is None else str(seen)


def is_private(address: str) -> bool:
    """Whether `address` is a private or loopback one (a balancer's inside address)."""
    try:
        return ipaddress.ip_address(address).is_private
    except ValueError:
        return False
