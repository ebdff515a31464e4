"""Where a session lives in the store: the profile's key, the driver's, or a bounded scan.

The profile names the key (`redis.key` with `{session_id}`, the id cut from the cookie by the
`redis.session_id` regex, or `{session_id_sha256}`, its SHA-256 in hex: Rack's secure session
ids, stored as `2::<sha256>` by Rails' redis-actionpack). A `SessionDriver` may know better
(`store_key(user)`: other hashed ids, encrypted cookies). When the named key is absent, a
bounded scan of the store looks for a key that holds the session id (as the cookie carries it,
URL-decoded, base64-decoded, or its SHA-256): found, the profile's layout is wrong and the
message says what to write; not found, the key is unknown and store checks do not apply. A
session is never called missing from the store on a guess.
"""

from __future__ import annotations

import hashlib
import re
import string
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from harness.errors import NotApplicable, ProfileError
from harness.profile.sections import Redis
from harness.traffic.session_location import decodings

# Known session layouts, by a cookie the framework sets: (framework, redis.key, session_id);
# no key where none can be derived from the cookie (the driver's store_key names it)
LAYOUTS: dict[str, tuple[str, str | None, str | None]] = {
    "sessionid": ("Django (cache or cached_db on RedisCache)",
                  ":1:django.contrib.sessions.cache{session_id}", "^([^.]+)"),
    "csrftoken": ("Django (cache or cached_db on RedisCache)",
                  ":1:django.contrib.sessions.cache{session_id}", "^([^.]+)"),
    "connect.sid": ("express-session with connect-redis", "sess:{session_id}", "^s%3A([^.]+)"),
    "PHPSESSID": ("PHP with phpredis", "PHPREDIS_SESSION:{session_id}", "^([^.]+)"),
    "session": ("Flask-Session", "session:{session_id}", "^([^.]+)"),
    "laravel_session": ("Laravel (an encrypted cookie)", None, None),
    "SESSION": ("Spring Session (the id in base64)", None, None),
    "_session_id": ("Rails redis-session-store (a hashed id)", None, None),
    "_app_session": ("Rails with redis-actionpack (Rack's hashed id)",
                     "session:2::{session_id_sha256}", "^([^.]+)"),
}  # fmt: skip
SCAN_KEYS = 200_000  # keys examined at most, per session looked for
SCAN_SECONDS = 3.0
MIN_ID_LENGTH = 16  # shorter pieces of a cookie would match unrelated keys


KEY_FIELDS = ("session_id", "session_id_sha256")  # what redis.key may name


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def key_problem(template: str) -> str | None:
    """Why `template` is not a usable redis.key (None when it is)."""
    try:
        named = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return f"{exc} (write a literal brace as {{{{ or }}}})"
    wrong = [f for f in named if f not in KEY_FIELDS]
    if wrong:
        return f"{{{wrong[0]}}} is not a field; allowed: {{session_id}}, {{session_id_sha256}}"
    try:
        template.format(session_id="id", session_id_sha256="0" * 64)
    except (ValueError, IndexError, KeyError) as exc:  # a conversion or format spec: {session_id:d}
        return f"{exc}; write {{session_id}} or {{session_id_sha256}} alone"
    return None


def configured_key(redis_section: Redis, cookie: str) -> str:
    """The profile's key for the session whose cookie value is `cookie`."""
    match = re.search(str(redis_section.session_id), cookie)
    session_id = match.group(1) if match else cookie
    return str(redis_section.key).format(
        session_id=session_id, session_id_sha256=sha256_hex(session_id)
    )


def id_candidates(cookie: str) -> list[str]:
    """The pieces of a cookie value that may be the store's session id, longest first: the
    value, URL-decoded, its segments (split at `.`, `:`, `|`), and their base64 decodings."""
    found: list[str] = []
    for text in dict.fromkeys((cookie, unquote(cookie))):
        found.append(text)
        found.extend(re.split(r"[.:|]", text))
    for piece in list(found):
        found.extend(t for t in decodings(piece) if t.isascii() and t.isprintable())
    # a JSON piece (a token's header or claims, "eyJ..." in base64) is shared by many cookies
    unique = [
        p
        for p in dict.fromkeys(found)
        if len(p) >= MIN_ID_LENGTH and not p.startswith(("{", "eyJ"))
    ]
    hashed = [sha256_hex(p) for p in unique]  # Rack's secure ids: the store holds the hash
    return sorted(dict.fromkeys(unique + hashed), key=len, reverse=True)


@dataclass(frozen=True)
class Lookup:
    """Where a session is in the store: its key and how it was known: "driver", "profile",
    "scan" (under another key than the profile's), or "absent" (then `key` is the profile's).
    `looked_for` is the profile's key; `examined` the keys a scan looked at."""

    key: str
    how: str
    looked_for: str
    examined: int = 0
    hint: str = ""  # for "scan": the redis: lines that would name the key
    shown: str = ""  # the key as messages print it: the session id in it masked

    @property
    def printable(self) -> str:
        return self.shown or self.key

    @property
    def present(self) -> bool:
        return self.how != "absent"


def scan_for(store: Any, cookie: str) -> tuple[str | None, int]:
    """One bounded pass over the store's keys (SCAN_KEYS, SCAN_SECONDS) for a key holding one
    of the cookie's id candidates: the key found, and how many keys were examined."""
    candidates = id_candidates(cookie)
    examined, deadline = 0, time.monotonic() + SCAN_SECONDS
    for raw in store.scan_iter(count=1000):
        name = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        examined += 1
        if any(c in name for c in candidates):
            return name, examined
        if examined >= SCAN_KEYS or (examined % 1000 == 0 and time.monotonic() > deadline):
            break
    return None, examined


def suggestion(key: str, cookie: str) -> str:
    """The `redis:` lines that name `key` for the cookie `cookie`, or the driver hook when the
    id in the key is not a piece of the cookie as it is sent (base64-decoded, say)."""
    for candidate in id_candidates(cookie):
        if candidate not in cookie:
            continue
        field = "{session_id}" if candidate in key else "{session_id_sha256}"
        if field == "{session_id_sha256}" and sha256_hex(candidate) not in key:
            continue
        start = cookie.index(candidate)
        after = cookie[start + len(candidate) :]
        up_to_dot = (not after or after.startswith(".")) and "." not in candidate
        body = "[^.]+" if up_to_dot else f".{{{len(candidate)}}}"
        held = candidate if field == "{session_id}" else sha256_hex(candidate)
        template = key.replace(held, field, 1)
        regex = f"^{re.escape(cookie[:start])}({body})"
        return f"redis: {{key: {template!r}, session_id: {regex!r}}}"
    return "a store_key(user) method on the session driver (the id is encoded in the cookie)"


def masked(key: str, cookie: str) -> str:
    """`key` with the session id it holds (a live credential) shown as `<session id>`."""
    for candidate in id_candidates(cookie):
        if candidate in key:
            return key.replace(candidate, "<session id>")
    return key


def find_key(
    redis_section: Redis, store: Any, cookie: str, driver: Any, user: Any
) -> Lookup:
    """Where the session is: the driver's key (`store_key(user)`), else the profile's, else a
    bounded scan for a key holding its id."""
    key = configured_key(redis_section, cookie)
    hook = getattr(driver, "store_key", None)
    named = hook(user) if callable(hook) else None
    if named is not None:
        how = "driver" if store.exists(str(named)) else "absent"
        shown = masked(str(named), cookie)
        return Lookup(str(named), how, str(named), shown=shown)
    shown = masked(key, cookie)
    if store.exists(key):
        return Lookup(key, "profile", key, shown=shown)
    found, examined = scan_for(store, cookie)
    if found is not None:
        hint = suggestion(found, cookie)
        return Lookup(found, "scan", key, examined, hint, masked(found, cookie))
    return Lookup(key, "absent", key, examined, shown=shown)


def check_layout(redis_section: Redis, lookups: list[Lookup]) -> None:
    """NotApplicable when no session made in the run was found; a ProfileError when each one
    found was found only by a scan (the profile names the wrong key), saying what to write."""
    present = [x for x in lookups if x.present]
    if not present:
        raise unknown_layout(redis_section, lookups)
    if all(x.how == "scan" for x in present):
        x = present[0]
        raise ProfileError(
            f"redis.key: sessions are not under {redis_section.key!r} but the store holds "
            f"{x.printable!r} for a session made in this run; write {x.hint}"
        )


def elsewhere(lookups: dict[str, Lookup]) -> dict[str, Lookup]:
    """Targets whose sessions are in the store only under another key than the others' (the
    profile's or the driver's): instances that use another prefix or layout."""
    if not any(x.how in ("profile", "driver") for x in lookups.values()):
        return {}
    return {t: x for t, x in lookups.items() if x.how == "scan"}


def unknown_layout(redis_section: Redis, lookups: list[Lookup]) -> NotApplicable:
    """Why a store check cannot look: no session made in this run was found in the store."""
    return NotApplicable(
        f"no session made in this run is in the store under redis.key "
        f"{redis_section.key!r}, nor under any key holding its id (scanned "
        f"{max((x.examined for x in lookups), default=0)} keys): "
        "the store's key for a session is unknown here; set redis.key and redis.session_id, or "
        "give the session driver a store_key(user) method"
    )
