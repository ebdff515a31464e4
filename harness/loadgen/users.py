"""Locust users and event hooks for Parity's load profiles (imported by the files in load/).

This module runs inside Locust's gevent-patched processes, so it never imports boto3: drains
are done by the `parity load` process, which tells Locust through the events file.
"""

from __future__ import annotations

import itertools
import json
import time
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent
import gevent.ssl
from locust import FastHttpUser, between, constant, constant_throughput, events, task
from locust.runners import STATE_STOPPED, MasterRunner, WorkerRunner
from requests.cookies import create_cookie

from harness.handoff import read_handoff, write_results
from harness.loadgen.evidence import Evidence
from harness.profile.environment import Environment
from harness.profile.sections import Identity as IdentitySection
from harness.traffic.client import Identity, Route, identity_from
from harness.traffic.contract import StepFailed, load_driver

CHECK = "CHECK"  # request type of the pseudo-requests that carry check failures
REALTIME = "REALTIME"  # request type of real-time publishes and deliveries (their own evidence)
_numbers = itertools.count(1)


def load_context() -> tuple[dict[str, Any], Environment | None, str | None]:
    """What `parity load` handed over: one mapping a profile reads (`entry_url`, `host`,
    `session` and `identity` as the profile wrote them, `secrets`, `verify`, pace and paths),
    the environment, and where the evidence goes."""
    handoff = read_handoff()
    if handoff is None:
        return {}, None, None
    env = handoff.environment
    written = {
        "identity": env.identity.given(),
        "session": env.session.recipe if env.session else None,
        "evidence_path": handoff.results,
    }
    return {**handoff.run, **written}, env, handoff.results


CONTEXT, ENVIRONMENT, EVIDENCE_PATH = load_context()
EVIDENCE = Evidence()
IDENTITY: Identity = identity_from(
    ENVIRONMENT.identity
    if ENVIRONMENT and ENVIRONMENT.identity
    else IdentitySection(header="X-Instance-Id")
)
DRAINED: dict[str, float] = {}  # target -> epoch its drain began (from the parity process)


def _wait_time() -> Any:
    if CONTEXT.get("no_wait"):
        return constant(0)
    per_user = CONTEXT.get("per_user_rps")
    return constant_throughput(per_user) if per_user else between(0.1, 0.3)


class LocustTransport:
    """The session contract's Transport over a FastHttpUser's client."""

    def __init__(self, user: FastHttpUser) -> None:
        self.client = user.client
        self.vars: dict[str, str] = {}
        self.last_target: str | None = None
        self._preset = False

    def request(
        self,
        method: str,
        path: str,
        *,
        route: Route | None = None,
        step: str | None = None,
        **kwargs: Any,
    ) -> Any:
        preset = kwargs.pop("cookies", None)  # session.auth_cookies: kept in the user's jar
        if preset and not self._preset:
            host = urlsplit(str(CONTEXT.get("entry_url"))).hostname or ""
            for name, value in preset.items():
                self.client.cookiejar.set_cookie(create_cookie(name, value, domain=host))
            self._preset = True
        response = self.client.request(method, path, name=step or path, **kwargs)
        self.last_target = IDENTITY.of(response)
        return response

    def forget_cookie(self, name: str) -> None:
        for cookie in [c for c in self.client.cookiejar if c.name == name]:
            self.client.cookiejar.clear(cookie.domain, cookie.path, cookie.name)

    def cookie(self, name: str) -> str | None:
        values = [c.value for c in self.client.cookiejar if c.name == name and c.value]
        return values[-1] if values else None


def report_check(name: str, detail: str) -> None:
    """A check failure as a Locust failure with its own name and counter."""
    events.request.fire(
        request_type=CHECK,
        name=name,
        response_time=0,
        response_length=0,
        response=None,
        context={},
        exception=AssertionError(detail),
    )


def _tls() -> tuple[bool, Any]:
    """FastHttpUser's (insecure, ssl_context_factory) for the profile's `tls_verify`: FastHttpUser
    itself skips verification unless told otherwise."""
    verify = CONTEXT.get("verify", True)
    if verify is False:
        return True, None
    if isinstance(verify, str):  # a CA bundle (the replica's own certificate, say)
        return False, partial(_context_trusting, verify)
    return False, None


def _context_trusting(ca_file: str, **_: Any) -> Any:
    """An SSL context that trusts `ca_file` (geventhttpclient passes its own default `cafile`,
    which must not replace the profile's)."""
    return gevent.ssl.create_default_context(cafile=ca_file)


class ParityUser(FastHttpUser):
    abstract = True
    host = CONTEXT.get("entry_url")
    # a listener rule on the host (`topology.route.host`): every request carries it (over
    # HTTPS the TLS server name stays the URL's: geventhttpclient has no SNI override)
    default_headers = {"Host": CONTEXT["host"]} if CONTEXT.get("host") else None
    wait_time = _wait_time()
    insecure, ssl_context_factory = _tls()


class StickyUser(ParityUser):
    """Logs in, then reads, writes and fills a cart; every answer is checked."""

    target: str | None = None  # the target its sticky cookie names (the last that answered)

    def context(self) -> dict[str, Any]:
        """Passed with every request event: the target the request is meant for."""
        return {"intended": self.target}

    def on_start(self) -> None:
        self.number = next(_numbers)
        self.transport = LocustTransport(self)
        session = ENVIRONMENT.session if ENVIRONMENT else None
        self.driver = load_driver(session, CONTEXT.get("secrets", {}))
        self.value: str | None = None  # a new login goes where its sticky cookie points
        try:
            self.driver.login(self.transport, self.number)
        except StepFailed:
            return
        EVIDENCE.count("login")
        self.logged_in = True
        self.target = self.transport.last_target
        EVIDENCE.record_session(self.target)
        self._write()

    def on_stop(self) -> None:
        """The run is over: log the session out (a test session left behind lives on in the
        store for the app's whole session life)."""
        self._log_out()

    def _log_out(self) -> None:
        if not getattr(self, "logged_in", False):
            return
        self.logged_in = False
        try:
            self.driver.logout(self.transport)
        except Exception:
            return
        EVIDENCE.count("logout")

    def _write(self) -> None:
        value = f"u{self.number}-{time.time():.3f}"
        try:
            self.driver.write(self.transport, "load", value)
        except StepFailed:
            return
        self.value = value
        self._check_target()

    def _check_target(self) -> None:
        now, old = self.transport.last_target, self.target
        if old is None or now is None or now == old:
            return
        drained_at = DRAINED.get(old)
        kind = (
            "move" if drained_at is not None and time.time() >= drained_at else ("sticky_violation")
        )
        EVIDENCE.record_event(kind, user=self.number, source=old, destination=now)
        if kind == "sticky_violation":
            report_check("sticky violation", f"user {self.number} moved {old} -> {now}")
        self.target = now

    @task(5)
    def read(self) -> None:
        if self.value is None:
            return
        try:
            got = self.driver.read(self.transport, "load")
        except StepFailed as failed:
            got = f"HTTP {failed.status}"
        self._check_target()
        if got != self.value:
            EVIDENCE.record_event(
                "session_loss", user=self.number, target=self.target, seen=str(got)[:40]
            )
            report_check("session loss", f"user {self.number} on {self.target}: {got!r}")
            self._log_out()  # the lost session may live on elsewhere: end it
            self.on_start()  # a real user logs in again

    @task(2)
    def write(self) -> None:
        if self.value is not None:
            self._write()

    @task(1)
    def cart(self) -> None:
        has_step = getattr(self.driver, "has_step", None)  # a recipe, or a subclass of one
        if self.value is not None and callable(has_step) and has_step("cart"):
            try:
                self.driver.step("cart", self.transport, {"item": f"item-{self.number}"})  # type: ignore[attr-defined]
            except StepFailed:
                return
            self._check_target()


class FreshVisitor(ParityUser):
    """Every request from a new client with no cookies: measures distribution."""

    @task
    def visit(self) -> None:
        self.client.cookiejar.clear()
        response = self.client.request("GET", "/", name="fresh visit")
        EVIDENCE.record_session(IDENTITY.of(response))


# ---- event hooks: evidence, reporting, progress, drain notices --------------------------------
def _on_request(
    request_type: str,
    response_time: float,
    name: str = "",
    response: Any = None,
    exception: Any = None,
    context: dict[str, Any] | None = None,
    **_: Any,
) -> None:
    if request_type in (CHECK, REALTIME):
        return
    try:
        target = IDENTITY.of(response) if response is not None else None
    except Exception:  # a response without headers or body (connection error)
        target = None
    EVIDENCE.record(target, float(response_time or 0), exception is not None)
    if exception is not None:
        status = int(getattr(response, "status_code", 0) or 0)
        intended = (context or {}).get("intended")
        ms = float(response_time or 0)
        EVIDENCE.record_failure(target, status, f"{request_type} {name}", intended, ms)


def _on_report_to_master(client_id: str, data: dict[str, Any]) -> None:
    data["parity"] = EVIDENCE.take_delta()


def _on_worker_report(client_id: str, data: dict[str, Any]) -> None:
    if "parity" in data:
        EVIDENCE.merge(data["parity"])


def _watch(environment: Any) -> None:
    """Master or local: write progress, read drain notices and pass them to the workers."""
    progress, notices = CONTEXT.get("progress_path"), CONTEXT.get("events_path")
    seen = ""
    while True:
        stats = environment.stats.total
        if progress:  # written aside, then moved in: a reader never sees half of it
            written = Path(f"{progress}.new")
            written.write_text(
                json.dumps(
                    {
                        "at": time.time(),
                        "users": environment.runner.user_count,
                        "requests": stats.num_requests,
                        "failures": stats.num_failures,
                        "streams_started": EVIDENCE.counters.get("realtime_started", 0),
                    }
                )
            )
            written.replace(progress)
        text = Path(notices).read_text() if notices and Path(notices).exists() else ""
        if text and text != seen:
            seen = text
            DRAINED.clear()
            DRAINED.update(json.loads(text).get("drained", {}))
            if isinstance(environment.runner, MasterRunner):
                environment.runner.send_message("parity-drained", dict(DRAINED))
        gevent.sleep(0.5)


def _on_drained_message(environment: Any, msg: Any, **_: Any) -> None:
    DRAINED.clear()
    DRAINED.update(msg.data)


def _on_init(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.register_message("parity-drained", _on_drained_message)
    else:
        gevent.spawn(_watch, environment)


def _on_quitting(environment: Any, **_: Any) -> None:
    """Write the evidence once every user has stopped: on SIGTERM (the watch ending its load)
    Locust fires `quitting` before it stops the users, so they are stopped here first and their
    logouts are counted (a run that reached its --run-time has stopped them already)."""
    runner = environment.runner
    if not EVIDENCE_PATH or isinstance(runner, WorkerRunner):
        return
    if runner is not None and runner.state != STATE_STOPPED:
        runner.stop()
    write_results(EVIDENCE_PATH, EVIDENCE.to_json())


def install() -> None:
    """Register the hooks once (a profile file calls this)."""
    events.request.add_listener(_on_request)
    events.report_to_master.add_listener(_on_report_to_master)
    events.worker_report.add_listener(_on_worker_report)
    events.init.add_listener(_on_init)
    events.quitting.add_listener(_on_quitting)
