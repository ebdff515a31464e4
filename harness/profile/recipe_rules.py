"""The session recipe's placeholders, checked before anything is sent: a `{name}` that no step
gives or extracts would go out literally (a CSRF token sent as "{csrf}"), so it is refused,
naming the step, the request and the placeholder. The login (it runs first) may use what Parity
gives it and what its earlier requests extracted; every other step, also what any step extracts
(it stays with the client). In a JSON body only strings that are a placeholder alone are held to
it: text with braces of its own (a GraphQL query) is sent as it is, as before."""

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
FILLED = ("path", "headers", "json", "form", "body", "extract")  # the fields a request fills


def _whole_placeholders(value: Any) -> list[str]:
    """The strings of a JSON body that are one placeholder and nothing else ("{csrf}")."""
    if isinstance(value, str):
        return (
            [value]
            if len(placeholders(value)) == 1 and value == f"{{{placeholders(value)[0]}}}"
            else []
        )
    if isinstance(value, list):
        return [s for v in value for s in _whole_placeholders(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _whole_placeholders(v)]
    return []


def _extracted(step: Any) -> set[str]:
    return {var for request in requests_of(step) for var in request.get("extract") or {}}


def check_recipe(session: dict[str, Any] | None, ctx: Context) -> None:
    """Refuse a placeholder that nothing defines; `{cookie:NAME}` is the client's cookie."""
    if not session or session.get("driver", "recipe") != "recipe":
        return
    steps = {name: session[name] for name in STEPS if session.get(name)}
    for key, value in (session.get("credentials") or {}).items():
        _refuse_unknown(value, CREDENTIALS, ("session", "credentials", key), ctx, "credentials")
    # login runs first; after it, what any step extracted stays with the client (user.vars)
    later = set().union(*(_extracted(s) for s in steps.values())) if steps else set()
    for name, step in steps.items():
        before: set[str] = set()  # what this step's earlier requests extracted
        for i, request in enumerate(requests_of(step)):
            where = ("session", name, *((i,) if isinstance(step, list) else ()))
            known = GIVEN[name] | SECRETS | before | (later if name != "login" else set())
            for field in FILLED:
                if request.get(field) is not None:
                    value = request[field]
                    if field == "json":  # text with braces of its own (GraphQL) goes as it is
                        value = _whole_placeholders(value)
                    _refuse_unknown(value, known, (*where, field), ctx, name)
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
