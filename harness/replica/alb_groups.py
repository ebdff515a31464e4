"""A weighted forward to several target groups, with target-group stickiness, as an ALB does it.

A request without a fresh `AWSALBTG` cookie picks a group by weight: `rand(1000)` against each
group's cumulative share, read from a map file that the runtime API rewrites when the weights
change (`set map`), so a change takes effect at once without a reload. With group stickiness on,
every response carries `AWSALBTG` and `AWSALBTGCORS` in the same format as `AWSALB` (a group's
token, then the issue time XOR a key), and a fresh cookie keeps the client in its group while
that group has a usable target.
"""

from __future__ import annotations

from harness.replica.alb_spec import AlbSpec, Group

SHARES = 1000  # a group's share is counted in thousandths of the traffic


def thresholds(groups: tuple[Group, ...] | list[tuple[str, int]]) -> dict[str, int]:
    """Each group's cumulative upper bound in [0, 1000): a fresh request whose draw is below
    it (and not below the previous group's) goes to that group. All weights 0: no group."""
    pairs = [(g.name, g.weight) if not isinstance(g, tuple) else g for g in groups]
    total = sum(w for _, w in pairs)
    out, running = {}, 0
    for name, weight in pairs:
        running += weight
        out[name] = round(SHARES * running / total) if total else 0
    return out


def map_text(pairs: list[tuple[str, int]]) -> str:
    return "".join(f"{name} {cut}\n" for name, cut in thresholds(pairs).items())


def _sticky_rules(spec: AlbSpec) -> list[str]:
    key, seconds = spec.cookie_key, spec.group_stickiness_seconds
    rules = [
        "http-request set-var(txn.tg) req.cook(AWSALBTG)",
        "http-request set-var(txn.tg) req.cook(AWSALBTGCORS) if !{ var(txn.tg) -m found }",
        "http-request set-var(txn.gtok) var(txn.tg),bytes(0,16) if { var(txn.tg) -m len 32 }",
        "http-request set-var(txn.gissued) var(txn.tg),bytes(16,16),hex2i,"
        f"xor({key}) if {{ var(txn.tg) -m len 32 }}",
        "http-request set-var(txn.gage) date,sub(txn.gissued) if { var(txn.gissued) -m found }",
        f"acl group_fresh var(txn.gage) -m int 0:{seconds}",
    ]
    rules += [
        f"use_backend {g.backend} if group_fresh {{ var(txn.gtok) -m str {g.token} }} "
        f"{{ nbsrv({g.backend}) gt 0 }}"
        for g in spec.groups
    ]
    return rules


def _sticky_response_rules(spec: AlbSpec) -> list[str]:
    key = spec.cookie_key
    rules = [
        f"http-response set-var(txn.gnew) str({g.token}) if {{ be_name {g.backend} }}"
        for g in spec.groups
    ]
    cookie = "%[var(txn.gnew)]%[date,xor(" + str(key) + "),hex]"
    rules += [
        f'http-response set-var-fmt(txn.gck) "{cookie}" if {{ var(txn.gnew) -m found }}',
        'http-response set-var-fmt(txn.gexp) "%[date(604800),http_date]"',
        "http-response add-header Set-Cookie "
        '"AWSALBTG=%[var(txn.gck)]; Expires=%[var(txn.gexp)]; Path=/" '
        "if { var(txn.gnew) -m found }",
        "http-response add-header Set-Cookie "
        '"AWSALBTGCORS=%[var(txn.gck)]; Expires=%[var(txn.gexp)]; Path=/; SameSite=None; Secure" '
        "if { var(txn.gnew) -m found }",
    ]
    return rules


def group_rules(spec: AlbSpec) -> list[str]:
    """The frontend's rules: group stickiness first, then the weighted draw."""
    rules = _sticky_rules(spec) if spec.group_stickiness_seconds > 0 else []
    rules.append(f"http-request set-var(txn.pick) rand({SHARES})")
    for i, g in enumerate(spec.groups):
        rules += [
            f"http-request set-var(txn.cut{i}) str({g.name}),map_str_int({spec.weights_map},0)",
            f"http-request set-var(txn.d{i}) var(txn.pick),sub(txn.cut{i})",
            f"use_backend {g.backend} if {{ var(txn.d{i}) -m int lt 0 }}",
        ]
    if spec.group_stickiness_seconds > 0:
        rules += _sticky_response_rules(spec)
    return rules
