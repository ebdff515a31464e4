"""Where does a session live? In the shared store, in the cookie itself, or in neither?

Used to name the right cause when a session made on one instance is rejected by another: a
session in the store but rejected is a secret mismatch; one carried in a signed cookie (Flask's
and Django's cookie sessions, for example) that another instance rejects is a cookie-secret
mismatch; one in neither is kept in an instance's own memory.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from typing import Literal
from urllib.parse import unquote

Location = Literal["store", "cookie", "neither"]


def decodings(part: str) -> list[str]:
    """The texts a cookie segment may hold: base64 (standard or URL-safe), maybe compressed."""
    texts = []
    padded = part + "=" * (-len(part) % 4)
    for decode in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            raw = decode(padded)
        except (binascii.Error, ValueError):
            continue
        for candidate in (raw, _inflate(raw)):
            if candidate:
                texts.append(candidate.decode("utf-8", "replace"))
    return texts


def _inflate(raw: bytes) -> bytes | None:
    try:
        return zlib.decompress(raw)
    except zlib.error:
        return None


def cookie_carries(cookie: str, marker: str) -> bool:
    """Whether the cookie's value holds `marker`, as text or in an encoded segment."""
    text = unquote(cookie)
    if marker in text:
        return True
    return any(
        marker in decoded for part in re.split(r"[.:|]", text) for decoded in decodings(part)
    )


def locate(in_store: bool | None, cookie: str | None, marker: str) -> Location | None:
    """Where the session with `marker` written into it lives; None when it cannot be told."""
    if in_store:
        return "store"
    if cookie is not None and cookie_carries(cookie, marker):
        return "cookie"
    return "neither" if in_store is False else None
