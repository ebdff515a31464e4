"""The session contract: how to log in, write, read and log out, as a YAML recipe or in Python.

A recipe step is one HTTP request or a list of them sent in turn (GET the login form, then POST
it), each with `{placeholders}` (username, password, key, value, n, whatever earlier requests
extracted, and `{cookie:NAME}`, the client's current cookie), a form or JSON body, an expected
status (a code, a list, or a range as "200-299"), redirects followed or not, and what to extract
(JSON pointer, regex, header, cookie, an HTML form field or <meta> by name). Other flows
implement `SessionDriver` in Python and name it in the profile (`session.driver:
"package.module:Class"`) or override the `session_driver` fixture in their conftest.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from html.parser import HTMLParser
from typing import Any, Protocol

import requests

from harness.errors import ParityError, UsageError
from harness.profile.sections import Session
from harness.statuses import matcher_of, status_matches
from harness.traffic.answer import answer_of, answering, ask, is_transport
from harness.traffic.client import Route, json_pointer
from harness.where import raised_where

_PLACEHOLDER = re.compile(r"\{(cookie:[A-Za-z0-9_.-]+|[A-Za-z_][A-Za-z0-9_]*)\}")
FAILED_BODY_CHARS = 120  # what a failed step keeps of its answer's body
COOKIE_PREFIX = "cookie:"  # {cookie:csrftoken}: the value of the client's cookie, when sent


class StepFailed(Exception):
    """A step answered with an unexpected status (the session was not recognised, say)."""

    def __init__(
        self,
        step: str,
        status: int,
        expected: int | str,
        target: str | None,
        request: str | None = None,
        body: str = "",
    ) -> None:
        super().__init__(f"{step} answered {status} from {target or '?'} (expected {expected})")
        self.step, self.status, self.expected, self.target = step, status, expected, target
        self.request = request  # "POST /login", when the driver knows it
        self.body = body  # the start of the answer's body, for the checks that show it


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

    def cookie(self, name: str) -> str | None: ...


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


class _Context(dict[str, str]):
    """Placeholder values, and `cookie:NAME` read from the client's jar when asked."""

    def __init__(self, values: dict[str, str], user: Transport) -> None:
        super().__init__(values)
        self.user = user

    def get(self, key: str, default: Any = None) -> Any:
        if key.startswith(COOKIE_PREFIX) and key not in self:
            found = self.user.cookie(key.removeprefix(COOKIE_PREFIX))
            return default if found is None else found
        return super().get(key, default)


def placeholders(template: Any) -> list[str]:
    """Every `{name}` in strings, lists and mappings, in order."""
    if isinstance(template, str):
        return _PLACEHOLDER.findall(template)
    if isinstance(template, list):
        return [p for item in template for p in placeholders(item)]
    if isinstance(template, dict):
        return [p for v in template.values() for p in placeholders(v)]
    return []


def fill(template: Any, values: dict[str, str]) -> Any:
    """Replace `{name}` placeholders in strings, lists and mappings; unknown names stay."""
    if isinstance(template, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    if isinstance(template, list):
        return [fill(item, values) for item in template]
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    return template


class _HtmlFields(HTMLParser):
    """The first value of each named <input> and the content of each named <meta>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inputs: dict[str, str] = {}
        self.metas: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "input" and found.get("name"):
            self.inputs.setdefault(found["name"], found.get("value", ""))
        elif tag == "meta" and found.get("name"):
            self.metas.setdefault(found["name"], found.get("content", ""))


def html_fields(text: str) -> _HtmlFields:
    fields = _HtmlFields()
    fields.feed(text)
    fields.close()
    return fields


def extract(raw: Any, spec: dict[str, str]) -> str | None:
    """One value from a response (requests', Locust's, an Answer) by JSON pointer, regex (group
    1), header, cookie (set by it or a redirect before it), or the HTML form field or <meta> of
    that name."""
    response, found = answer_of(raw), None
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
        found = response.cookies.get(spec["cookie"])
    elif spec.get("form_field"):
        found = html_fields(response.text).inputs.get(spec["form_field"])
    elif spec.get("meta"):
        found = html_fields(response.text).metas.get(spec["meta"])
    return None if found is None else str(found)


def requests_of(step: dict[str, Any] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A recipe step's requests: one, or several sent in turn."""
    return step if isinstance(step, list) else [step]


def send_request(
    name: str,
    request: dict[str, Any],
    user: Transport,
    values: dict[str, str],
    route: Route | None = None,
    *,
    secrets: dict[str, str] | None = None,
    auth_cookies: dict[str, str] | None = None,
    field: str | None = None,
) -> Any:
    """One recipe request of step `name` (the profile's `field`, for messages: `session.<name>`
    by default): filled with the secrets, what earlier requests extracted and `values`, its
    status checked (StepFailed), its extracts kept in `user.vars`; the response."""
    context = _Context({**(secrets or {}), **user.vars, **values}, user)
    kwargs: dict[str, Any] = {"headers": fill(request.get("headers", {}), context)}
    if auth_cookies:  # an ALB's authenticate-oidc/cognito session, say
        kwargs["cookies"] = fill(auth_cookies, context)
    if request.get("json") is not None:
        kwargs["json"] = fill(request["json"], context)
    if request.get("form") is not None:
        kwargs["data"] = fill(request["form"], context)
    if request.get("body") is not None:
        kwargs["data"] = str(fill(request["body"], context)).encode()
    kwargs["allow_redirects"] = request.get("follow_redirects", True)
    path = fill(request["path"], context)
    missing = [p for p in placeholders([path, kwargs]) if p.startswith(COOKIE_PREFIX)]
    if missing:
        raise UsageError(
            f"{field or 'session.' + name}: the client holds no "
            f"{missing[0].removeprefix(COOKIE_PREFIX)} "
            f"cookie for {{{missing[0]}}} (no earlier answer set it)"
        )
    response = ask(user, request["method"], path, route=route, step=name, **kwargs)
    expected = request.get("expect_status", 200)
    if not status_matches(response.status_code, matcher_of(expected)):
        sent = f"{request['method']} {path}"
        body = str(getattr(response, "text", "") or "")[:FAILED_BODY_CHARS]
        raise StepFailed(name, response.status_code, expected, user.last_target, sent, body)
    for var, spec in (request.get("extract") or {}).items():
        got = extract(response, fill(spec, context))
        if got is not None:
            user.vars[var] = got
    return response


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
        """Run any step of the recipe (login, write, read, logout, or an extra one: cart): its
        requests in turn, each filled with what the ones before extracted; the last response."""
        response = None
        for request in requests_of(self.recipe[name]):
            response = self._send(name, request, user, values or {}, route)
        return response

    def _send(
        self,
        name: str,
        request: dict[str, Any],
        user: Transport,
        values: dict[str, str],
        route: Route | None,
    ) -> Any:
        return send_request(
            name,
            request,
            user,
            values,
            route,
            secrets=self.secrets,
            auth_cookies=self.recipe.get("auth_cookies"),
        )

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


class DriverError(UsageError):
    """A session driver of the user's raised: their code, named with its method and line."""


class _UsersDriver:
    """A `package.module:Class` driver whose own exceptions are named as the user's (exit 2)
    in every command; a step that failed, a request without an answer and Parity's own errors
    pass as they are."""

    PASSED = (StepFailed, ParityError, requests.RequestException)

    def __init__(self, driver: Any, name: str) -> None:
        self._driver, self._name = driver, name

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._driver, attr)
        if attr.startswith("_") or not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            args = tuple(answering(a) if is_transport(a) else a for a in args)
            kwargs = {k: answering(v) if is_transport(v) else v for k, v in kwargs.items()}
            try:
                return value(*args, **kwargs)
            except requests.HTTPError as exc:  # raise_for_status(): an answer, not none
                if exc.response is None:
                    raise
                status = exc.response.status_code
                raise StepFailed(attr, status, "2xx", None, f"{self._name}.{attr}") from exc
            except self.PASSED:
                raise
            except Exception as exc:
                raise DriverError(
                    f"session driver {self._name}.{attr} raised {raised_where(exc)}"
                ) from exc

        return call


def _import_class(module: str, cls: str) -> Any:
    """`module.cls`, from the installed packages or the project directory (the working
    directory, as `parity check` imports it through pytest)."""
    try:
        return getattr(importlib.import_module(module), cls)
    except ModuleNotFoundError as exc:
        here = os.getcwd()
        if here in sys.path or exc.name != module.split(".")[0]:
            raise
        sys.path.append(here)
        return getattr(importlib.import_module(module), cls)


def driver_class(session: Session) -> Any:
    """The class a profile's `session.driver: package.module:Class` names, imported (not
    made: its `__init__` may need the environment's secrets); None for the YAML recipe."""
    name = session.driver
    if name == "recipe":
        return None
    module, _, cls = name.partition(":")
    if not module or not cls:
        raise UsageError(f"session.driver {name!r}: write package.module:Class")
    try:
        return _import_class(module, cls)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UsageError(f"session.driver {name!r} cannot be loaded: {exc}") from exc


def load_driver(session: Session | None, secrets: dict[str, str]) -> SessionDriver:
    """The driver a profile names: the YAML recipe, or `package.module:Class` (made with the
    `session:` mapping and the environment's secrets)."""
    if session is None:
        raise UsageError("the profile has no session: section; describe login, write and read")
    found = driver_class(session)
    if found is None:
        return RecipeDriver(session.recipe, secrets)
    name = session.driver
    try:
        made = found(session.recipe, secrets)
    except Exception as exc:
        raise DriverError(f"session driver {name}.__init__ raised {raised_where(exc)}") from exc
    driver: SessionDriver = _UsersDriver(made, name)
    return driver
