"""Probing the entry URL and every target: does each answer HTTP?

Used by `parity topology`: a resolved environment whose entry or target cannot be reached, or
answers with something that is not HTTP (a Redis port, say), is exit 3 with the evidence.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from harness.topology.model import Topology

PROBE_TIMEOUT = 5.0


def problem_of(url: str, verify: bool | str, timeout: float = PROBE_TIMEOUT) -> str | None:
    """What is wrong with `url` as an HTTP endpoint, or None when it answers HTTP."""
    try:
        requests.get(url, timeout=timeout, verify=verify, allow_redirects=False)
    except requests.exceptions.SSLError:
        return "the TLS handshake failed (tls_verify, or the certificate)"
    except requests.exceptions.Timeout:
        return f"no answer within {timeout:g} s"
    except requests.exceptions.ConnectionError as exc:
        text = str(exc)
        if "BadStatusLine" in text or "RemoteDisconnected" in text or "Connection aborted" in text:
            return "it answers, but not as an HTTP server"
        if "Name or service not known" in text or "NameResolutionError" in text:
            return "its host name does not resolve"
        return "connection refused or unreachable"
    except requests.exceptions.RequestException as exc:
        return f"{type(exc).__name__}"
    return None


def unreachable(topology: Topology, verify: bool | str) -> list[str]:
    """One line per endpoint that does not answer HTTP: the entry URL and each target's URL."""
    endpoints = [("entry", topology.entry_url)] + [
        (f"target {t.id}", t.direct_url) for t in topology.targets if t.direct_url
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda e: problem_of(e[1], verify), endpoints))
    return [
        f"{name} {url}: {why}" for (name, url), why in zip(endpoints, found, strict=True) if why
    ]
