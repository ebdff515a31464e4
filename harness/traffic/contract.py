"""The session contract: how to log in, write, read and log out, as a YAML recipe or in Python.

A recipe step is an HTTP request with `{placeholders}` (username, password, key, value, n, and
whatever earlier steps extracted), an expected status and what to extract (JSON pointer, regex,
header or cookie). Apps with CSRF tokens or other flows implement `SessionDriver` in Python and
name it in the profile (`session.driver: "package.module:Class"`) or override the `session_driver`
fixture in their conftest.
"""

from __future__ import annotations

import importlib
import re
from typing import Any, Protocol

from harness.errors import UsageError
from harness.traffic.client import Route, json_pointer

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class StepFailed(Exception):
    """A step answered with an unexpected status (the session was not recognised, say)."""

    def __init__(
        self,
        step: str,
        status: int,
        expected: int,
        target: str | None,
        request: str | None = None,
    ) -> None:
        super().__init__(f"{step} answered {status} from {target or '?'} (expected {expected})")
        self.step, self.status, self.expected, self.target = step, status, expected, target
        self.request = request  # "POST /login", when the driver knows it


class Transport(Protocol):
    """Who sends a flow's requests: a VirtualUser in the suites, a Locust user under load."""

    vars: dict[str, str]
    last_target: str | None

    def request(
        self,
        method: str,
        path: str,
        *,
        route: Route | None = None,
        step: str | None = None,
        **kwargs: Any,
    ) -> Any: ...

    def forget_cookie(self, name: str) -> None: ...


class SessionDriver(Protocol):
    """Drives one app's session. `route` picks the target; None goes through the balancer.

    A driver may also define `store_key(user) -> str | None`: the session's key in the store
    when the profile's `redis.key` cannot derive it from the cookie (hashed or encrypted ids);
    the store checks use it when present (harness.store.keys)."""

    cookie_name: str

    def login(self, user: Transport, n: int, route: Route | None = None) -> None: ...
    def write(self, user: Transport, key: str, value: str, route: Route | None = None) -> None: ...
    def read(self, user: Transport, key: str, route: Route | None = None) -> str | None: ...
    def logout(self, user: Transport, route: Route | None = None) -> None: ...


def fill(template: Any, values: dict[str, str]) -> Any:
    """Replace `{name}` placeholders in strings, lists and mappings; unknown names stay."""
    if isinstance(template, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    if isinstance(template, list):
        return [fill(item, values) for item in template]
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    return template


def extract(response: Any, spec: dict[str, str]) -> str | None:
    """One value from a response by JSON pointer, regex (group 1), header or cookie."""
    found: Any = None
    if spec.get("json") is not None:
        try:
            found = json_pointer(response.json(), spec["json"])
        except (ValueError, KeyError, IndexError, TypeError):
            return None
    elif spec.get("regex"):
        match = re.search(spec["regex"], response.text)
        found = match.group(1) if match else None
    elif spec.get("header"):
        found = response.headers.get(spec["header"])
    elif spec.get("cookie"):
        found = (getattr(response, "cookies", None) or {}).get(spec["cookie"])
    return None if found is None else str(found)


class RecipeDriver:
    """A SessionDriver from the profile's `session:` recipe."""

    def __init__(self, recipe: dict[str, Any], secrets: dict[str, str] | None = None) -> None:
        for step in ("login", "write", "read"):
            if not recipe.get(step):
                raise UsageError(f"session.{step}: the recipe needs login, write and read steps")
        self.recipe = recipe
        self.cookie_name = str(recipe["cookie"])
        self.secrets = dict(secrets or {})

    def has_step(self, name: str) -> bool:
        return bool(self.recipe.get(name))

    def step(
        self,
        name: str,
        user: Transport,
        values: dict[str, str] | None = None,
        route: Route | None = None,
    ) -> Any:
        """Run any step of the recipe (login, write, read, logout, or an extra one: cart)."""
        step = self.recipe[name]
        context = {**self.secrets, **user.vars, **(values or {})}
        kwargs: dict[str, Any] = {"headers": fill(step.get("headers", {}), context)}
        if self.recipe.get("auth_cookies"):  # an ALB's authenticate-oidc/cognito session, say
            kwargs["cookies"] = fill(self.recipe["auth_cookies"], context)
        if step.get("json") is not None:
            kwargs["json"] = fill(step["json"], context)
        if step.get("form") is not None:
            kwargs["data"] = fill(step["form"], context)
        path = fill(step["path"], context)
        response = user.request(step["method"], path, route=route, step=name, **kwargs)
        if response.status_code != step["expect_status"]:
            raise StepFailed(
                name,
                response.status_code,
                step["expect_status"],
                user.last_target,
                f"{step['method']} {path}",
            )
        for var, spec in (step.get("extract") or {}).items():
            got = extract(response, fill(spec, context))
            if got is not None:
                user.vars[var] = got
        return response

    def credentials(self, n: int) -> dict[str, str]:
        raw = self.recipe.get("credentials") or {}
        base = {"n": str(n), **self.secrets}
        return {
            "n": str(n),
            "username": fill(raw.get("username", f"parity-{n}"), base),
            "password": fill(raw.get("password", ""), base),
        }

    def login(self, user: Transport, n: int, route: Route | None = None) -> None:
        self.step("login", user, self.credentials(n), route)

    def write(self, user: Transport, key: str, value: str, route: Route | None = None) -> None:
        self.step("write", user, {"key": key, "value": value}, route)

    def read(self, user: Transport, key: str, route: Route | None = None) -> str | None:
        user.vars.pop("value", None)
        self.step("read", user, {"key": key}, route)
        return user.vars.get("value")

    def logout(self, user: Transport, route: Route | None = None) -> None:
        if self.recipe.get("logout"):
            self.step("logout", user, {}, route)
        else:
            user.forget_cookie(self.cookie_name)


def load_driver(recipe: dict[str, Any] | None, secrets: dict[str, str]) -> SessionDriver:
    """The driver a profile names: the YAML recipe, or `package.module:Class`."""
    if recipe is None:
        raise UsageError("the profile has no session: section; describe login, write and read")
    name = str(recipe.get("driver", "recipe"))
    if name == "recipe":
        return RecipeDriver(recipe, secrets)
    module, _, cls = name.partition(":")
    try:
        driver: SessionDriver = getattr(importlib.import_module(module), cls)(recipe, secrets)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UsageError(f"session.driver {name!r} cannot be loaded: {exc}") from exc
    return driver
