"""HAProxy configuration for the local ALB, generated from a target-group description.

HAProxy's own `cookie ... insert` is added after the `http-response` rules, so it can neither carry
an Expires nor a CORS twin. Instead the configuration writes the ALB's cookies itself:

    AWSALB=<16 hex: the target's random token><16 hex: issue time XOR a random key>

and reads them back with `use-server` rules that only match while the cookie is younger than the
stickiness duration. The value is opaque (no server name), re-issued on every response that went
through a target (so the idle clock restarts), and a stale, garbage or foreign cookie matches no
rule and is balanced anew. `use-server` skips servers in maintenance or down, so a deregistered or
unhealthy target loses its sticky clients at once, as on an ALB.
"""

from __future__ import annotations

import re

from harness.errors import UsageError
from harness.replica.alb_groups import group_rules
from harness.replica.alb_spec import BACKEND, AlbSpec, Target, fail_open_twin
from harness.replica.connections import FORWARDED_HEADERS, haproxy_lines

COOKIE_EXPIRY_SECONDS = 7 * 24 * 3600  # an ALB cookie's fixed Expires, whatever the duration
ALGORITHMS = {"round_robin": "roundrobin", "least_outstanding_requests": "leastconn"}
APP_COOKIE = "AWSALBAPP"  # sharded -0..-3; the replica's values fit in -0


def matcher_rule(matcher: str) -> str:
    """Translate an ALB matcher ("200", "200,302", "200-299") into an `http-check expect`."""
    codes: list[str] = []
    for part in matcher.split(","):
        part = part.strip()
        bounds = part.split("-")
        if not all(re.fullmatch(r"[1-5]\d\d", b) for b in bounds) or len(bounds) > 2:
            raise UsageError(
                f"health check matcher {matcher!r}: use codes like 200, 200,302 or 200-299"
            )
        low, high = int(bounds[0]), int(bounds[-1])
        codes.extend(str(c) for c in range(low, high + 1))
    if len(codes) == 1:
        return f"http-check expect status {codes[0]}"
    return f"http-check expect rstatus ^({'|'.join(codes)})$"


def _sticky_request_rules(spec: AlbSpec, targets: tuple[Target, ...]) -> list[str]:
    skip = "".join(f" !{{ path_beg {p} }}" for p in spec.unsticky_paths)
    unsticky = [  # remembered for the response: no cookie is issued there either
        f"http-request set-var(txn.unsticky) bool(1) if {{ path_beg {p} }}"
        for p in spec.unsticky_paths
    ]
    if spec.app_cookie:  # the ALB's cookie counts only next to the app's own
        read = [
            f"http-request set-var(txn.alb) req.cook({APP_COOKIE}-0) "
            f"if {{ req.cook({spec.app_cookie}) -m found }}{skip}"
        ]
    else:
        read = [
            f"http-request set-var(txn.alb) req.cook(AWSALB){' if' + skip if skip else ''}",
            "http-request set-var(txn.alb) req.cook(AWSALBCORS) "
            f"if !{{ var(txn.alb) -m found }}{skip}",
        ]
    rules = [
        *unsticky,
        *read,
        "http-request set-var(txn.tok) var(txn.alb),bytes(0,16) if { var(txn.alb) -m len 32 }",
        "http-request set-var(txn.issued) var(txn.alb),bytes(16,16),hex2i,"
        f"xor({spec.cookie_key}) if {{ var(txn.alb) -m len 32 }}",
        "http-request set-var(txn.age) date,sub(txn.issued) if { var(txn.issued) -m found }",
        f"acl sticky_fresh var(txn.age) -m int 0:{spec.stickiness_seconds}",
    ]
    rules += [
        f"use-server {t.id} if sticky_fresh {{ var(txn.tok) -m str {t.token} }}" for t in targets
    ]
    none_up = " ".join(f"!{{ srv_is_up({t.backend}/{t.id}) }}" for t in targets)
    rules += [  # in fail-open (no target up), a sticky client stays on its target's twin
        f"use-server {fail_open_twin(t.id)} if sticky_fresh "
        f"{{ var(txn.tok) -m str {t.token} }} {none_up}"
        for t in targets
    ]
    return rules


def _sticky_response_rules(spec: AlbSpec, targets: tuple[Target, ...]) -> list[str]:
    count = len(targets)
    rules = [  # the fail-open twins (ids after the targets') issue their target's cookie
        f"http-response set-var(txn.tok) str({t.token}) "
        f"if {{ srv_id {i} }} || {{ srv_id {i + count} }}"
        for i, t in enumerate(targets, start=1)
    ]
    rules += [
        f'http-response set-var-fmt(txn.newck) "%[var(txn.tok)]%[date,xor({spec.cookie_key}),hex]"',
        f'http-response set-var-fmt(txn.exp) "%[date({COOKIE_EXPIRY_SECONDS}),http_date]"',
    ]
    if spec.app_cookie:
        issued = _app_cookie_response_rules(spec.app_cookie)
    else:
        issued = [
            "http-response add-header Set-Cookie "
            '"AWSALB=%[var(txn.newck)]; Expires=%[var(txn.exp)]; Path=/"',
            "http-response add-header Set-Cookie "
            '"AWSALBCORS=%[var(txn.newck)]; Expires=%[var(txn.exp)]; Path=/; SameSite=None; '
            'Secure"',
        ]
    if spec.unsticky_paths:  # a path balanced without stickiness issues no sticky cookie
        skip = "!{ var(txn.unsticky) -m found }"
        issued = [  # each alternative of an OR needs it: AND binds first
            f"{r.replace(' || ', f' {skip} || ')} {skip}" if " if " in r else f"{r} if {skip}"
            for r in issued
        ]
    return rules + issued


def _app_cookie_response_rules(app_cookie: str) -> list[str]:
    """AWSALBAPP-0 for the target once the app set its cookie (or the client was already sticky:
    a client moved by a failure stays on its new target); otherwise every shard `_remove_`."""
    sticky = f"{{ res.cook({app_cookie}) -m found }} || {{ var(txn.alb) -m len 32 }}"
    rules = [
        "http-response add-header Set-Cookie "
        f'"{APP_COOKIE}-0=%[var(txn.newck)]; Expires=%[var(txn.exp)]; Path=/" if {sticky}',
        "http-response add-header Set-Cookie "
        f'"{APP_COOKIE}-0=_remove_; Expires=%[var(txn.exp)]; Path=/" '
        f"if !{{ res.cook({app_cookie}) -m found }} !{{ var(txn.alb) -m len 32 }}",
    ]
    rules += [
        "http-response add-header Set-Cookie "
        f'"{APP_COOKIE}-{shard}=_remove_; Expires=%[var(txn.exp)]; Path=/"'
        for shard in (1, 2, 3)
    ]
    return rules


def _backend(spec: AlbSpec, name: str, targets: tuple[Target, ...]) -> list[str]:
    """One target group: balancing, health checks, target stickiness, fail-open twins."""
    hc = spec.health
    server_opts = (
        f"check inter {int(hc.interval_seconds * 1000)}ms rise {hc.healthy_threshold} "
        f"fall {hc.unhealthy_threshold}"
    )
    lines = [
        f"backend {name}",
        f"  balance {ALGORITHMS[spec.algorithm]}",
        f"  option httpchk GET {hc.path}",
        f"  {matcher_rule(hc.matcher)}",
    ]
    if spec.stickiness_enabled:
        lines += [f"  {r}" for r in _sticky_request_rules(spec, targets)]
    lines += [
        f"  server {t.id} 127.0.0.1:{t.port} weight {t.weight} {server_opts} "
        f"pool-purge-delay {spec.idle_timeout}s"
        for t in targets
    ]
    # fail-open, as on an ALB: when every registered target is unhealthy, route to all of them
    # (their unchecked twins; a deregistered target's twin is in maintenance with it)
    lines.append("  option allbackups")
    lines += [
        f"  server {fail_open_twin(t.id)} 127.0.0.1:{t.port} weight {t.weight} backup"
        for t in targets
    ]
    if spec.stickiness_enabled:
        lines += [f"  {r}" for r in _sticky_response_rules(spec, targets)]
    return lines


def render(spec: AlbSpec) -> str:
    """The full haproxy.cfg text for `spec`."""
    if spec.algorithm not in ALGORITHMS:
        known = ", ".join(sorted(ALGORITHMS))
        raise UsageError(f"algorithm {spec.algorithm!r} is not supported by the replica ({known})")
    lines = [
        "global",
        f"  stats socket {spec.admin_socket} mode 600 level admin",
        "defaults",
        "  mode http",
        *haproxy_lines(spec.idle_timeout),
        f"  timeout check {int(spec.health.timeout_seconds * 1000)}ms",
        "frontend alb",
        f"  bind 127.0.0.1:{spec.http_port}",
        f"  bind 127.0.0.1:{spec.https_port} ssl crt {spec.certificate}",
        *FORWARDED_HEADERS,
    ]
    if not spec.groups:
        lines.append(f"  default_backend {BACKEND}")
        return "\n".join([*lines, *_backend(spec, BACKEND, spec.targets)]) + "\n"

    lines += [f"  {r}" for r in group_rules(spec)]
    for group in spec.groups:
        members = tuple(t for t in spec.targets if t.backend == group.backend)
        lines += _backend(spec, group.backend, members)
    return "\n".join(lines) + "\n"
