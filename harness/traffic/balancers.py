"""What each load balancer's sticky cookie looks like, as data (`expect.balancer`).

The ALB re-issues its cookie on every response, with Expires = Date + 7 days and a CORS twin;
that is the ALB's rule, not a law. Caddy sets `lb` when it picks an upstream, HAProxy inserts
its cookie when it assigns a server, open-source nginx has no sticky cookie at all. A sticky
check runs where its rule applies and otherwise says "not applicable" with the reason.
`expect.cookie` overrides any default. Sources are in the table of docs/guides/balancers.md.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from harness.profile.sections import Expect

Issued = Literal["every_response", "on_assignment", "on_app_cookie", "never"]
Lifetime = Literal["expires", "max_age", "session", "any"]  # any: not assumed
BALANCERS_WITH_DURATION = ("alb",)  # stickiness that lapses after an idle duration


@dataclass(frozen=True)
class CookieRule:
    """A balancer's sticky cookie: name, when it is set, its lifetime and attributes."""

    balancer: str
    name: str | None  # None: the balancer sets none, or its name must be given
    issued: Issued
    lifetime: Lifetime
    expires_days: float | None = None
    max_age_seconds: float | None = None
    cors_name: str | None = None
    path: str | None = "/"
    secure: bool | None = None
    httponly: bool | None = None
    note: str = ""
    # a cookie value it cannot map to a target gets a new target and a new cookie; False where
    # the value is hashed to a target as it is (Envoy), so garbage is as good as any value
    replaces_garbage: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n in (self.name, self.cors_name) if n)

    def not_applicable(self) -> str | None:
        """Why cookie checks do not apply here (no cookie, or no name known), or None."""
        if self.issued == "never":
            return f"{self.balancer} sets no sticky cookie ({self.note})"
        if not self.name:
            return (
                f"{self.balancer}'s sticky cookie has no fixed name ({self.note}): give "
                "expect.cookie.name"
            )
        return None


BALANCERS: dict[str, CookieRule] = {
    "alb": CookieRule(
        "alb", "AWSALB", "every_response", "expires", expires_days=7, cors_name="AWSALBCORS",
        note="re-issued on every response, Expires about Date + 7 days",
    ),
    "haproxy": CookieRule(
        "haproxy", None, "on_assignment", "session",
        note="`cookie NAME insert` sets it when a server is assigned; a session cookie",
    ),
    "nginx": CookieRule(
        "nginx", None, "never", "session",
        note="open-source nginx has no sticky cookie; affinity, if any, hashes a request key",
    ),
    "caddy": CookieRule(
        "caddy", "lb", "on_assignment", "session",
        note="`lb_policy cookie` sets lb=<HMAC of the upstream> when it picks one; Path=/",
    ),
    "traefik": CookieRule(
        "traefik", None, "on_assignment", "any",
        note="`sticky.cookie`: the default name is derived from the service name; a session "
        "cookie unless `maxAge` is set",
    ),
    "envoy": CookieRule(
        "envoy", None, "on_assignment", "max_age", replaces_garbage=False,
        note="`hash_policy.cookie` with a ttl generates the cookie with Max-Age = ttl; a "
        "cookie the client sends is hashed as it is, never replaced",
    ),
    "generic": CookieRule(
        "generic", None, "on_assignment", "any", path=None,
        note="nothing is assumed of an unknown balancer",
    ),
}  # fmt: skip


ALB_APP_COOKIE = CookieRule(
    "alb", "AWSALBAPP-0", "on_app_cookie", "expires", expires_days=7,
    note="application-based stickiness: issued once the app sets its own cookie, sharded "
    "AWSALBAPP-0..3 (unused shards and cookie-less answers carry _remove_)",
)  # fmt: skip


def cookie_rule(expect: Expect) -> CookieRule:
    """The rule for a profile's `expect`: the balancer's defaults, then `expect.cookie`."""
    rule = BALANCERS[str(expect.balancer or "alb")]
    if rule.balancer == "alb" and expect.stickiness.type == "app_cookie":
        rule = ALB_APP_COOKIE
    overrides = expect.cookie.given()
    if overrides.get("expires_days") is not None:
        overrides.setdefault("lifetime", "expires")
    return dataclasses.replace(rule, **overrides) if overrides else rule
