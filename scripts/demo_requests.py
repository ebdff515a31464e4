"""A few requests through the running replica's local ALB: which target answered, which cookies."""

from __future__ import annotations

import sys

import requests

from harness.cookies import set_cookies
from harness.replica.commands import running_state
from harness.replica.running import ReplicaHandle


def main() -> int:
    state = running_state()
    if state is None:
        print("no replica is running", file=sys.stderr)
        return 3
    handle = ReplicaHandle.from_state(state)
    password = handle.control.password()
    browser = requests.Session()
    steps = [
        ("GET", "/", None),
        ("POST", "/login", {"username": "demo", "password": password}),
        ("PUT", "/session/colour", {"value": "blue"}),
        ("POST", "/cart", {"item": "tea"}),
        ("GET", "/session", None),
    ]
    print("\na sticky visitor (cookie values redacted):")
    for method, path, body in steps:
        resp = browser.request(method, handle.url + path, json=body, timeout=10)
        cookies = ", ".join(c.redacted() for c in set_cookies(resp).values())
        print(
            f"  {method:<4} {path:<16} -> {resp.status_code} from "
            f"{resp.headers.get('X-Instance-Id')}  Set-Cookie: {cookies}"
        )
    print("\nten fresh visitors (no cookies):")
    seen = [
        requests.get(handle.url + "/", timeout=10).headers.get("X-Instance-Id") for _ in range(10)
    ]
    for target in sorted(set(seen), key=str):
        print(f"  {target}: {seen.count(target)} requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
