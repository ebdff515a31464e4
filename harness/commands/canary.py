"""`parity canary`: one bounded, non-disruptive run, published wherever it was asked to go.

It never drains or kills, so a `production: true` profile needs no --allow-production.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.canary import cloudwatch, prometheus
from harness.canary.probe import run_canary
from harness.canary.result import DEFAULT_BUDGET, CanaryResult
from harness.errors import EnvironmentUnavailable, PublishError
from harness.profile.environment import Environment
from harness.topology import open_environment


@dataclass(frozen=True)
class CanaryOptions:
    cloudwatch: str | None = None
    region: str | None = None
    aws_profile: str | None = None
    textfile: Path | None = None
    pushgateway: str | None = None
    budget_seconds: float = DEFAULT_BUDGET

    def validate(self) -> None:
        """Every output checked before the run starts (a bad flag costs no traffic)."""
        if self.cloudwatch is not None:
            cloudwatch.check_namespace(self.cloudwatch)
        if self.pushgateway is not None:
            prometheus.check_pushgateway_url(self.pushgateway)
        if self.textfile is not None:
            prometheus.check_textfile_path(self.textfile)


def probe(env: Environment, budget_seconds: float = DEFAULT_BUDGET) -> CanaryResult:
    """Open the environment, run the canary; an environment that cannot be reached is a failed
    run (its metrics say so), not a crash."""
    started = time.monotonic()
    try:
        with open_environment(env) as provider:
            topology = provider.resolve()
            return run_canary(env, topology, budget_seconds=budget_seconds)
    except EnvironmentUnavailable as exc:
        result = CanaryResult(env.name, time.time(), error=str(exc))
        result.duration_seconds = time.monotonic() - started
        return result


def publish(result: CanaryResult, opts: CanaryOptions) -> list[str]:
    """Send the run to every output asked for; what went where. Every output is tried; the
    first refusal is raised after the others were tried."""
    done: list[str] = []
    refused: list[PublishError] = []
    outputs: list[Callable[[], str]] = []
    if opts.textfile is not None:
        path = opts.textfile
        outputs.append(lambda: _textfile(result, path))
    if opts.pushgateway is not None:
        url = opts.pushgateway
        outputs.append(lambda: f"pushgateway {prometheus.push(result, url)}")
    if opts.cloudwatch is not None:
        ns = opts.cloudwatch
        outputs.append(lambda: _cloudwatch(result, ns, opts))
    for send in outputs:
        try:
            done.append(send())
        except PublishError as exc:
            refused.append(exc)
    if refused:
        raise refused[0]
    return done


def _textfile(result: CanaryResult, path: Path) -> str:
    prometheus.write_textfile(result, path)
    return f"textfile {path}"


def _cloudwatch(result: CanaryResult, namespace: str, opts: CanaryOptions) -> str:
    calls = cloudwatch.put(result, namespace, opts.region, opts.aws_profile)
    return f"cloudwatch {namespace} ({len(result.samples())} metrics in {calls} call(s))"


def json_lines(result: CanaryResult) -> list[str]:
    """One line per step, then one line for the run with its metrics."""
    body = result.as_dict()
    lines = [json.dumps({"environment": result.environment, **s}) for s in body.pop("steps")]
    return [*lines, json.dumps(body)]


def exit_code(result: CanaryResult) -> int:
    if result.error is not None or not result.checked:
        return 3
    return 0 if result.success else 1
