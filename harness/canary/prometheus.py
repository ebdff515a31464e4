"""Canary results in Prometheus' text exposition format: a textfile for node_exporter's textfile
collector (written atomically), a push to a Pushgateway, and the exporter's answers."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import quote, urlsplit

import requests

from harness.canary.result import CanaryResult, Sample
from harness.errors import PublishError, UsageError

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PUSH_TIMEOUT = 10.0

# sample name: (metric name, help); latency is exported in seconds, Prometheus' base unit
METRICS = {
    "ProbeSuccess": ("parity_probe_success", "1 when every canary step held"),
    "ProbeDuration": ("parity_probe_duration_seconds", "How long the canary run took"),
    "SessionPersistence": (
        "parity_session_persistence",
        "1 when a session was read, written and ended consistently on every target",
    ),
    "StickyViolations": (
        "parity_sticky_violations",
        "Requests of a sticky client served by another target",
    ),
    "SessionLosses": (
        "parity_session_losses",
        "Targets that did not give the canary's session back",
    ),
    "BuildSkew": ("parity_build_skew", "1 when the targets serve different builds"),
    "LatencyP95": ("parity_target_latency_p95_seconds", "p95 latency of the canary per target"),
}


def label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _value(sample: Sample) -> float:
    return sample.value / 1000 if sample.unit == "Milliseconds" else sample.value


def exposition(result: CanaryResult) -> str:
    """The run's samples as text exposition, one HELP and TYPE per metric."""
    lines: list[str] = []
    by_metric: dict[str, list[Sample]] = {}
    for sample in result.samples():
        by_metric.setdefault(sample.name, []).append(sample)
    for name, samples in by_metric.items():
        metric, help_text = METRICS[name]
        lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} gauge"]
        for s in samples:
            labels = f'environment="{label_value(result.environment)}"'
            if s.target is not None:
                labels += f',target="{label_value(s.target)}"'
            lines.append(f"{metric}{{{labels}}} {_value(s):g}")
    return "\n".join(lines) + "\n"


def check_textfile_path(path: Path) -> None:
    if path.suffix != ".prom":
        raise UsageError(
            f"--prometheus-textfile {path}: node_exporter's textfile collector reads *.prom files"
        )
    if not path.parent.is_dir():
        raise UsageError(f"--prometheus-textfile {path}: the folder {path.parent} does not exist")


def write_textfile(result: CanaryResult, path: Path) -> None:
    """Write atomically (a temporary file in the same folder, then a rename), so the collector
    never reads half a file."""
    check_textfile_path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(exposition(result))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise PublishError(f"--prometheus-textfile {path}: {exc.strerror}") from exc


def check_pushgateway_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--pushgateway {url!r}: expected an http:// or https:// URL")
    return url.rstrip("/")


def push(result: CanaryResult, url: str) -> str:
    """PUT the run to a Pushgateway under job `parity`, grouped by environment; the URL used."""
    target = (
        f"{check_pushgateway_url(url)}/metrics/job/parity/environment/"
        f"{quote(result.environment, safe='')}"
    )
    try:
        response = requests.put(
            target,
            data=exposition(result).encode(),
            headers={"Content-Type": CONTENT_TYPE},
            timeout=PUSH_TIMEOUT,
        )
    except requests.RequestException as exc:
        raise PublishError(f"--pushgateway {url}: no answer ({type(exc).__name__})") from exc
    if response.status_code >= 300:
        raise PublishError(
            f"--pushgateway {url}: HTTP {response.status_code}: {response.text[:200].strip()}"
        )
    return target
