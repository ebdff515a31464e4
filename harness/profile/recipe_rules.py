"""The session recipe's placeholders, checked before anything is sent: a `{name}` that no step
gives or extracts would go out literally (a CSRF token sent as "{csrf}"), so it is refused,
naming the step, the request and the placeholder. A request may use what Parity gives its step,
what earlier requests of the step extracted, and what the login extracted (it runs first)."""

from __future__ import annotations

from typing import Any

from harness.profile.validation import Context
from harness.traffic.contract import COOKIE_PREFIX, placeholders, requests_of

# what each step is given by Parity; login runs first, so what it extracts every step may use
GIVEN: dict[str, frozenset[str]] = {
    "login": frozenset({"n", "username", "password"}),
    "write": frozenset({"key", "value"}),
    "read": frozenset({"key"}),
    "logout": frozenset(),
    "cart": frozenset({"item"}),
}
SECRETS = frozenset({"replica_password"})  # the providers' secrets (the replica's password)
CREDENTIALS = frozenset({"n"}) | SECRETS
STEPS = tuple(GIVEN)
FILLED = ("path", "headers", "json", "form", "extract")  # the fields a request fills


def _extracted(step: Any) -> set[str]:
    return {var for request in requests_of(step) for var in request.get("extract") or {}}


def check_recipe(session: dict[str, Any] | None, ctx: Context) -> None:
    """Refuse a placeholder that nothing defines; `{cookie:NAME}` is the client's cookie."""
    if not session or session.get("driver", "recipe") != "recipe":
        return
    steps = {name: session[name] for name in STEPS if session.get(name)}
    for key, value in (session.get("credentials") or {}).items():
        _refuse_unknown(value, CREDENTIALS, ("session", "credentials", key), ctx, "credentials")
    from_login = _extracted(steps["login"]) if "login" in steps else set()
    for name, step in steps.items():
        before: set[str] = set()  # what this step's earlier requests extracted
        for i, request in enumerate(requests_of(step)):
            where = ("session", name, *((i,) if isinstance(step, list) else ()))
            known = GIVEN[name] | SECRETS | before | (from_login if name != "login" else set())
            for field in FILLED:
                if request.get(field) is not None:
                    _refuse_unknown(request[field], known, (*where, field), ctx, name)
            before |= set(request.get("extract") or {})


def _refuse_unknown(
    value: Any, known: frozenset[str] | set[str], where: tuple[str | int, ...], ctx: Context,
    step: str,
) -> None:  # fmt: skip
    for name in placeholders(value):
        if name.startswith(COOKIE_PREFIX) or name in known:
            continue
        given = ", ".join(sorted(GIVEN.get(step, CREDENTIALS))) or "nothing"
        raise ctx.fail(
            where,
            f"placeholder {{{name}}} is defined nowhere: no request before it extracts {name!r} "
            f"(session.{step} is given {given}; extract it with `extract: {{{name}: ...}}`, or "
            "write {cookie:NAME} for a cookie's value)",
        )
