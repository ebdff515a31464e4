"""Set-Cookie headers as typed records whose text never shows the cookie's value."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests

REDACTED = "<redacted>"


@dataclass(frozen=True)
class SetCookie:
    """One Set-Cookie header: name, value (never printed) and attributes."""

    name: str
    value: str = field(repr=False)
    attributes: dict[str, str] = field(default_factory=dict)  # lower-case names; flags map to ""

    @classmethod
    def parse(cls, header: str) -> SetCookie:
        first, *rest = [part.strip() for part in header.split(";")]
        name, _, value = first.partition("=")
        attrs: dict[str, str] = {}
        for part in rest:
            if part:
                key, _, val = part.partition("=")
                attrs[key.strip().lower()] = val.strip()
        return cls(name.strip(), value.strip(), attrs)

    @property
    def expires(self) -> datetime | None:
        raw = self.attributes.get("expires")
        return email.utils.parsedate_to_datetime(raw) if raw else None

    def has(self, flag: str) -> bool:
        return flag.lower() in self.attributes

    def deletes(self) -> bool:
        """Whether this Set-Cookie removes the cookie (Max-Age <= 0, or Expires in the past)."""
        age = self.attributes.get("max-age")
        if age is not None and age.lstrip("-").isdigit():
            return int(age) <= 0
        try:
            expires = self.expires
        except (TypeError, ValueError):  # an Expires no one can read deletes nothing
            return False
        if expires is None:
            return False
        return (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) < datetime.now(UTC)

    def redacted(self) -> str:
        """The header with its value replaced, safe for logs and reports."""
        attrs = "".join(f"; {k}={v}" if v else f"; {k}" for k, v in self.attributes.items())
        return f"{self.name}={REDACTED}{attrs}"


def set_cookies(response: requests.Response) -> dict[str, SetCookie]:
    """Every Set-Cookie of a response, by cookie name (the last one wins)."""
    raw = response.raw.headers.getlist("Set-Cookie") if response.raw is not None else []
    return {c.name: c for c in (SetCookie.parse(h) for h in raw)}


def response_date(response: requests.Response) -> datetime | None:
    raw = response.headers.get("Date")
    return email.utils.parsedate_to_datetime(raw) if raw else None
