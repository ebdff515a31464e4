"""`parity init`: a profile written from what the environment itself says.

The environment is resolved once (AWS, a static balancer, or the replica); `expect:` is filled
from what was observed, each value commented with where it came from; the session contract is
the replica's own, or, elsewhere, a skeleton of the endpoints a probe found, commented out and
marked as a guess; every secret is a `${VAR}`; safety is conservative.
"""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import requests
import yaml

from harness.commands.frameworks import (
    FRAMEWORKS,
    LOGIN_PATHS,
    SESSION_PATH,
    LoginPage,
    Recognition,
    named_cookie,
    recipe,
    recognise,
    store_layout,
)
from harness.errors import UsageError
from harness.profile.environment import (
    Environment,
    parse_profile,
    replica_profile,
    variables_in,
)
from harness.profile.schema import profile_json_schema
from harness.store.keys import LAYOUTS
from harness.topology import open_environment
from harness.topology.model import Topology
from harness.traffic.contract import html_fields

SCHEMA_FILE = "parity-profile.schema.json"
IDENTITY_HEADERS = ("X-Instance-Id", "X-Served-By", "X-Backend-Server", "X-Upstream", "X-Server")
VERSION_PATHS = ("/version", "/api/version", "/build", "/healthz")
SESSION_PATHS = ("/login", "/api/login", "/session", "/api/session", "/logout", "/api/logout")
BALANCER_COOKIES = {"AWSALB": "alb", "lb": "caddy", "SERVERID": "haproxy"}
PROBE_TIMEOUT = 5.0
# where apps answer health checks: the usual names, Rails 7.1's /up, Spring Boot's actuator,
# then the root (which a framework's app often answers 404, or a redirect to its login)
HEALTH_PATHS = ("/healthz", "/health", "/up", "/actuator/health", "/status", "/ping", "/")
HEALTH_MATCHER = "200-299"


@dataclass
class Source:
    """What `parity init` was pointed at."""

    kind: str  # aws | static | replica
    load_balancer: str | None = None
    region: str | None = None
    aws_profile: str | None = None
    url: str | None = None
    targets: list[tuple[str, str]] = field(default_factory=list)
    health_path: str | None = None  # --health-path; else found by probing HEALTH_PATHS
    health_note: str = ""  # how the health path was chosen, for the profile's comment
    framework: str | None = None  # --framework; else recognised from what the app answers
    session_path: str | None = None  # --session-path: the app's session endpoint
    redis_url: str | None = None  # --redis-url, secrets as ${VAR}


class _PlainDumper(yaml.SafeDumper):
    """YAML without anchors and aliases (`&id001`, `*id001`): each value written out."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


@dataclass
class Line:
    """One line of the profile: `key: value  # comment`, or a comment alone."""

    indent: int
    key: str | None
    value: Any = None
    comment: str = ""

    def render(self) -> str:
        pad = "  " * self.indent
        if self.key is None:
            return f"{pad}# {self.comment}"
        note = f"  # {self.comment}" if self.comment else ""
        flow = json.dumps(self.value)
        if isinstance(self.value, dict) and len(flow) > 80:  # nested: as block YAML
            block = yaml.dump(
                self.value, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False
            )
            body = "\n".join(f"{pad}  {line}" for line in block.rstrip().splitlines())
            return f"{pad}{self.key}:{note}\n{body}"
        value = "" if self.value is None else " " + flow
        return f"{pad}{self.key}:{value}{note}"


def _probe_profile(source: Source, name: str) -> Environment:
    """A minimal profile to resolve the environment with (nothing is written yet)."""
    if source.kind == "replica":
        return replica_profile()
    if source.kind == "static":
        targets = [{"id": i, "url": u} for i, u in source.targets]
        doc: dict[str, Any] = {
            "name": name,
            "url": source.url,
            "topology": {"provider": "static", "targets": targets},
            "expect": {"health_check": {"path": _health_path(source), "matcher": HEALTH_MATCHER}},
        }
    else:
        doc = {"name": name, "topology": _aws_topology(source)}
    return parse_profile(yaml.safe_dump(doc), f"<parity init {name}>")


def _health_path(source: Source) -> str:
    """The static targets' health path: --health-path, else the first of HEALTH_PATHS that
    every target answers 2xx directly (kept in `source.health_note`)."""
    if source.health_path:
        source.health_note = "from --health-path"
        return source.health_path
    for path in HEALTH_PATHS:
        answers = [_get(url.rstrip("/") + path, True) for _, url in source.targets]
        if all(a is not None and 200 <= a.status_code < 300 for a in answers):
            codes = sorted({a.status_code for a in answers if a is not None})
            source.health_note = (
                f"observed: every target answered GET {path} with {', '.join(map(str, codes))}"
            )
            return path
    source.health_note = (
        f"no target answered 2xx at any of {', '.join(HEALTH_PATHS)}: set the app's health "
        "path (parity init --health-path PATH)"
    )
    return "/"


def _aws_topology(source: Source) -> dict[str, Any]:
    topo: dict[str, Any] = {"provider": "aws", "load_balancer": source.load_balancer}
    if source.region:
        topo["region"] = source.region
    if source.aws_profile:
        topo["profile"] = source.aws_profile
    return topo


@contextmanager
def resolved(source: Source, name: str) -> Iterator[tuple[Environment, Topology]]:
    env = _probe_profile(source, name)
    with open_environment(env) as provider:
        yield env, provider.resolve()


def _get(url: str, verify: bool | str) -> requests.Response | None:
    try:
        return requests.get(url, timeout=PROBE_TIMEOUT, verify=verify, allow_redirects=False)
    except requests.RequestException:
        return None


def observe_http(entry: str, verify: bool | str) -> dict[str, Any]:
    """What the entry URL says about the balancer, the identity header, the build, sessions."""
    first = _get(entry, verify)
    found: dict[str, Any] = {"cookies": [], "identity": None, "version": None, "session": []}
    if first is not None:
        found["cookies"] = list(first.cookies.keys())
        found["identity"] = next((h for h in IDENTITY_HEADERS if h in first.headers), None)
    for path in VERSION_PATHS:
        answer = _get(entry.rstrip("/") + path, verify)
        body = _json(answer)
        key = next((k for k in ("build", "version", "commit") if k in body), None)
        if answer is not None and answer.status_code == 200 and key:
            found["version"] = {"path": path, "json": f"/{key}"}
            break
    for path in SESSION_PATHS:
        answer = _get(entry.rstrip("/") + path, verify)
        if answer is not None and answer.status_code != 404:
            found["session"].append((path, answer.status_code))
            found["cookies"] += [c for c in answer.cookies.get_dict() if c not in found["cookies"]]
    found["login_pages"] = [
        LoginPage(path, answer.status_code, frozenset(html_fields(answer.text).inputs),
                  frozenset(answer.cookies.keys()))
        for path in LOGIN_PATHS
        if (answer := _get(entry.rstrip("/") + path, verify)) is not None
    ]  # fmt: skip
    return found


def _json(answer: requests.Response | None) -> dict[str, Any]:
    try:
        body = answer.json() if answer is not None else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _balancer(source: Source, cookies: list[str]) -> tuple[str, str | None, str]:
    """The balancer kind, its cookie name when not the default, and why."""
    if source.kind in ("aws", "replica"):
        return "alb", None, f"the {source.kind} provider is an Application Load Balancer"
    for cookie in cookies:
        if cookie in BALANCER_COOKIES:
            kind = BALANCER_COOKIES[cookie]
            named = cookie if kind == "haproxy" else None
            return kind, named, f"guess: the entry set a {cookie} cookie"
    return "generic", None, "no known sticky cookie on the entry's answer (nginx sets none)"


def _targets(healthy: int, where: str) -> Line:
    """expect.targets as observed; with no healthy target, at least one (0 is never valid)."""
    if not healthy:
        return Line(1, "targets", {"min": 1}, f"observed: no healthy target on {where}")
    return Line(
        1,
        "targets",
        healthy,
        f"observed: {healthy} healthy targets on {where} (a scaling group: {{min: N, max: M}})",
    )


def _expect(source: Source, topology: Topology, http: dict[str, Any]) -> list[Line]:
    group = topology.target_groups[0] if topology.target_groups else None
    healthy = topology.healthy_targets()
    where = f"{topology.load_balancer.name}"
    lines = [Line(0, "expect"), _targets(len(healthy), where)]
    kind, cookie, why = _balancer(source, http["cookies"])
    lines.append(Line(1, "balancer", kind, why))
    if cookie:
        lines.append(Line(1, "cookie", {"name": cookie}, "observed on the entry's answer"))
    if source.kind == "static" and group is not None:
        hc = group.health_check
        lines.append(
            Line(1, "health_check", {"path": hc.path, "matcher": hc.matcher}, source.health_note)
        )
    if group is not None and source.kind != "static":
        s, hc = group.stickiness, group.health_check
        lines += [
            Line(
                1,
                "stickiness",
                {
                    "enabled": s.enabled,
                    "type": s.type,
                    "duration_seconds": s.duration_seconds,
                    **({"cookie_name": s.cookie_name} if s.type == "app_cookie" else {}),
                },
                f"observed: target group {group.name}",
            ),
            Line(
                1,
                "deregistration_delay_seconds",
                group.deregistration_delay_seconds,
                f"observed: target group {group.name}",
            ),
            Line(
                1,
                "health_check",
                {
                    "path": hc.path,
                    "interval_seconds": hc.interval_seconds,
                    "healthy_threshold": hc.healthy_threshold,
                    "unhealthy_threshold": hc.unhealthy_threshold,
                    "matcher": hc.matcher,
                },
                f"observed: target group {group.name}",
            ),
            Line(1, "algorithm", group.algorithm, f"observed: target group {group.name}"),
        ]
    if http["version"]:
        lines.append(
            Line(1, "version", http["version"], f"observed: GET {http['version']['path']}")
        )
    lines.append(Line(1, "error_budget", 0, "no failed request is tolerated during a drain"))
    return lines


def recognition_of(source: Source, http: dict[str, Any]) -> Recognition:
    """The framework to write a recipe for: --framework, else what the app's answers show."""
    if source.framework:
        named = FRAMEWORKS[source.framework]
        pages = http.get("login_pages", [])
        cookies = set(http["cookies"]).union(*(p.cookies for p in pages))
        return Recognition(
            named, f"from --framework {source.framework}", named_cookie(named, cookies)
        )
    return recognise(http["cookies"], http.get("login_pages", []))


def _framework_session(source: Source, found: Recognition) -> list[Line]:
    """A recipe for the framework's own login, and its store key layout."""
    framework = found.framework
    assert framework is not None
    path = source.session_path or SESSION_PATH
    what, key, session_id = store_layout(framework)
    store: dict[str, Any] = {"url": source.redis_url} if source.redis_url else {}
    if key is not None:
        store.update(key=key, session_id=session_id)
    endpoint = (
        "--session-path"
        if source.session_path
        else ('a guess: give --session-path; docs/guides/init.md, "A session endpoint"')
    )
    said = (
        f"session: the login of {framework.title} ({found.evidence}), as ${{APP_TEST_USER}} with "
        f"${{APP_TEST_PASSWORD}}; the write and read go to the app's session endpoint at {path} "
        f"({endpoint})"
    )
    lines = [
        *(Line(0, None, comment=c) for c in textwrap.wrap(said, 96, subsequent_indent="  ")),
        Line(0, "session", recipe(framework, path, found.cookie)),
    ]
    layout = (
        f"{what}: key {key}"
        if key
        else f"{what}: no key derives from the cookie; give the session driver a store_key(user)"
    )
    if source.redis_url:
        return [*lines, Line(0, "redis", store, layout)]
    return [
        *lines,
        Line(0, None, comment="redis: (the session store: parity init --redis-url URL, or:)"),
        Line(0, None, comment='  url: "redis://:${REDIS_PASSWORD}@HOST:6379/0"'),
        *(
            [Line(0, None, comment=f"  key: {key!r}  # {what}"),
             Line(0, None, comment=f"  session_id: {session_id!r}")]
            if key else [Line(0, None, comment=f"  ({layout})")]
        ),
    ]  # fmt: skip


def _session(source: Source, http: dict[str, Any]) -> list[Line]:
    if source.kind == "replica":  # the reference app: its contract is known, and it works
        base = yaml.safe_load(
            resources.files("harness.profile").joinpath("replica.yaml").read_text()
        )
        return [
            Line(0, "session", base["session"], "the reference app's contract"),
            Line(0, "redis", base["redis"], "the reference app's session keys"),
        ]
    found_framework = recognition_of(source, http)
    if found_framework.framework is not None:
        return _framework_session(source, found_framework)
    found = ", ".join(f"{p} ({s})" for p, s in http["session"]) or "none of the usual paths"
    path = (source.session_path or "/session").rstrip("/") or "/session"
    return [
        Line(0, None, comment=f"framework: {found_framework.evidence} (--framework NAME)"),
        Line(0, None, comment=f"session: a skeleton to complete. A probe found: {found}."),
        Line(0, None, comment="  (a guess: check each path, method and body against the app)"),
        Line(0, None, comment="session:"),
        Line(0, None, comment="  cookie: session"),
        Line(
            0,
            None,
            comment='  credentials: {username: "${APP_TEST_USER}", '
            'password: "${APP_TEST_PASSWORD}"}',
        ),
        Line(
            0,
            None,
            comment="  login: {method: POST, path: /login, "
            'json: {username: "{username}", password: "{password}"}}',
        ),
        Line(
            0,
            None,
            comment=f'  write: {{method: PUT, path: "{path}/{{key}}", '
            + 'json: {value: "{value}"}}',
        ),
        Line(
            0,
            None,
            comment=f"  read: {{method: GET, path: {path}, "
            'extract: {value: {json: "/data/{key}"}}}',
        ),
        Line(0, None, comment="  logout: {method: POST, path: /logout}"),
        Line(0, None, comment="redis:"),
        Line(
            0,
            None,
            comment=f'  url: "{source.redis_url or "redis://:${REDIS_PASSWORD}@HOST:6379/0"}"',
        ),
        *_store_layout(http["cookies"]),
    ]


def _store_layout(cookies: list[str]) -> list[Line]:
    """The store key layout of a framework the entry's cookies name, as a comment to keep."""
    for name in cookies:
        if name in LAYOUTS:
            framework, key, session_id = LAYOUTS[name]
            if key is None:
                return [
                    Line(0, None, comment=f"  ({framework}, from the {name} cookie: no store key "
                         "derives from the cookie; give the session driver a store_key(user))")
                ]  # fmt: skip
            return [
                Line(0, None, comment=f"  key: {key!r}  # {framework}, from the {name} cookie"),
                Line(0, None, comment=f"  session_id: {session_id!r}"),
            ]
    return []


def _topology(source: Source) -> list[Line]:
    if source.kind == "replica":
        return [Line(0, "topology", {"provider": "replica"})]
    if source.kind == "static":
        targets = [{"id": i, "url": u} for i, u in source.targets]
        return [
            Line(0, "url", source.url),
            Line(0, "topology", {"provider": "static", "targets": targets}),
            Line(
                0,
                None,
                comment="to drain: topology.drain (adapter: haproxy or command; "
                "docs/guides/your-repo.md)",
            ),
        ]
    return [Line(0, "topology", _aws_topology(source))]


def render_profile(
    name: str, production: bool, source: Source, topology: Topology, http: dict[str, Any]
) -> str:
    """The profile's text."""
    identity = http["identity"]
    lines = [
        Line(0, None, comment=f"yaml-language-server: $schema={SCHEMA_FILE}"),
        Line(0, None, comment=f"Written by `parity init {name}` from what the environment said."),
        Line(0, "name", name),
        Line(0, "production", production, "true: disruptive runs must name it"),
        *_topology(source),
        Line(
            0,
            "identity",
            {"header": identity} if identity else None,
            "observed on the entry's answer"
            if identity
            else "give the header (or JSON pointer) that names the instance",
        ),
        *_expect(source, topology, http),
        *_session(source, http),
        Line(
            0,
            "safety",
            {"allow_disruptive": source.kind == "replica", "max_users": 50, "max_rps": 100},
            "conservative: draining needs allow_disruptive and --allow-disruptive",
        ),
    ]
    return "\n".join(line.render() for line in lines if line.key or line.comment) + "\n"


def write_profile(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    (folder / SCHEMA_FILE).write_text(json.dumps(profile_json_schema(), indent=1, sort_keys=True))
    return path


def init_profile(folder: Path, name: str, source: Source, production: bool, force: bool) -> Path:
    """Resolve the environment once, observe it, write `folder/name.yaml`; its path."""
    if (folder / f"{name}.yaml").exists() and not force:
        raise UsageError(
            f"{folder / f'{name}.yaml'} exists: parity init never overwrites a profile "
            "(--force does)"
        )
    with resolved(source, name) as (env, topology):
        from harness.traffic.site import verify_of

        http = observe_http(topology.entry_url, verify_of(env, topology))
    text = render_profile(name, production, source, topology, http)
    readable(text, f"<parity init {name}>")
    return write_profile(folder, name, text)


def readable(text: str, source: str) -> Environment:
    """What init writes, it can read, once its `${VAR}`s are set (the user sets them: the
    credentials, the store's URL)."""
    unset = variables_in(text) - set(os.environ)
    try:
        os.environ.update({n: "set-by-the-user" for n in unset})
        return parse_profile(text, source)
    finally:
        for variable in unset:
            os.environ.pop(variable, None)


def session_note(text: str) -> str:
    """What the user does next about sessions, from the profile init wrote."""
    if "\nsession:" not in text:
        return "complete its session: section (a skeleton, commented) to check sessions"
    values = "\n".join(
        line.split("  # ")[0] for line in text.splitlines() if not line.lstrip().startswith("#")
    )
    variables = sorted(variables_in(values))
    return f"set {', '.join(variables)} before a check (the session recipe and store need them)"
