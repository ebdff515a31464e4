"""`parity canary` and `parity exporter` against the replica, as a user runs them: the healthy
replica gives every metric its good value, each field fault drives its metric to failure, and
the outputs are read back from real receivers (moto's CloudWatch, a Pushgateway, Prometheus)."""

from __future__ import annotations

import datetime
import json
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from harness.canary.cloudwatch import MAX_DATUMS_PER_CALL, put
from harness.canary.result import CanaryResult
from harness.replica.processes import free_port
from tests.helpers import parity, serving

NAMESPACE = "Parity/Test"


def metrics_of(stdout: str) -> dict[tuple[str, str | None], float]:
    """The summary line's metrics of `parity canary --json`, by (name, target)."""
    summary = json.loads(stdout.strip().splitlines()[-1])
    return {(m["name"], m["target"]): m["value"] for m in summary["metrics"]}


def steps_of(stdout: str) -> dict[str, bool | None]:
    lines = [json.loads(line) for line in stdout.strip().splitlines()[:-1]]
    return {line["step"]: line["ok"] for line in lines}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A healthy replica started with `parity up`, as a user would."""
    path = tmp_path_factory.mktemp("canary-home")
    up = parity(path, "up")
    assert up.returncode == 0, up.stderr
    try:
        yield path
    finally:
        parity(path, "down")


@pytest.mark.servers
def test_the_healthy_replica_gives_every_metric_its_good_value(home: Path) -> None:
    done = parity(home, "canary", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    steps = steps_of(done.stdout)
    assert steps == {
        "login": True,
        "stickiness": True,
        "session_on_every_target": True,
        "write_seen_elsewhere": True,
        "logout_everywhere": True,
        "same_build": True,
    }
    metrics = metrics_of(done.stdout)
    assert metrics[("ProbeSuccess", None)] == 1
    assert metrics[("SessionPersistence", None)] == 1
    assert metrics[("StickyViolations", None)] == 0
    assert metrics[("SessionLosses", None)] == 0
    assert metrics[("BuildSkew", None)] == 0
    latency = {t: v for (name, t), v in metrics.items() if name == "LatencyP95"}
    assert set(latency) == {"app-1", "app-2"} and all(0 < v < 1000 for v in latency.values())
    assert metrics[("ProbeDuration", None)] < 3  # the run itself; the benchmark times the command
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["test_sessions"] == {"made": 1, "logged_out": 1, "keys_deleted": 0, "left": 0}


# fault: (the metric it must drive to failure, that value's test, the step that names it)
FAULTS: dict[str, tuple[str, Any, str]] = {
    "local-sessions": ("SessionLosses", lambda v: v >= 1, "session_on_every_target"),
    "no-stickiness": ("StickyViolations", lambda v: v >= 1, "stickiness"),
    "version-skew": ("BuildSkew", lambda v: v == 1, "same_build"),
    "stale-cache": ("SessionPersistence", lambda v: v == 0, "write_seen_elsewhere"),
}


@pytest.mark.servers
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_drives_its_metric_to_failure(tmp_path: Path, fault: str) -> None:
    metric, failing, step = FAULTS[fault]
    up = parity(tmp_path, "up", "--fault", fault)
    assert up.returncode == 0, up.stderr
    try:
        done = parity(tmp_path, "canary", "--json")
    finally:
        parity(tmp_path, "down")
    assert done.returncode == 1, done.stdout + done.stderr
    metrics = metrics_of(done.stdout)
    assert metrics[("ProbeSuccess", None)] == 0
    assert failing(metrics[(metric, None)]), metrics
    assert steps_of(done.stdout)[step] is False
    made = json.loads(done.stdout.strip().splitlines()[-1])["test_sessions"]
    assert made["made"] == made["logged_out"] == 1 and made["left"] == 0, made  # none left


@pytest.mark.servers
def test_a_production_profile_needs_no_allow_production(home: Path, tmp_path: Path) -> None:
    """Nothing the canary does is disruptive, so production: true is not refused."""
    profile = Path(__file__).parents[2] / "harness" / "profile" / "replica.yaml"
    text = profile.read_text().replace("name: replica", "name: prod-shop")
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "prod-shop.yaml").write_text(
        text.replace("production: false", "production: true")
    )
    done = parity(home, "canary", "--env", "prod-shop", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASSED: canary on prod-shop" in done.stdout


@pytest.mark.servers
def test_safety_max_rps_paces_the_run(home: Path, tmp_path: Path) -> None:
    profile = Path(__file__).parents[2] / "harness" / "profile" / "replica.yaml"
    slow = tmp_path / "slow.yaml"
    slow.write_text(profile.read_text().replace("max_rps: 500", "max_rps: 20"))
    done = parity(home, "canary", "--json", "--env-file", str(slow))
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    sent, seconds = summary["requests"], summary["duration_seconds"]
    assert sent >= 20 and seconds >= (sent - 1) / 20  # at 500/s the same run takes a tenth


@pytest.mark.servers
def test_textfile_is_written_atomically_for_node_exporter(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "parity.prom"
    done = parity(home, "canary", "--prometheus-textfile", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    text = path.read_text()
    assert 'parity_probe_success{environment="replica"} 1' in text
    assert 'parity_target_latency_p95_seconds{environment="replica",target="app-1"}' in text
    assert "# TYPE parity_session_losses gauge" in text
    assert [p.name for p in tmp_path.iterdir()] == ["parity.prom"]  # no temporary file left
    assert "session=" not in text and "AWSALB" not in text


@pytest.mark.servers
def test_bad_outputs_are_refused_before_any_traffic(home: Path, tmp_path: Path) -> None:
    cases = {
        ("--prometheus-textfile", str(tmp_path / "metrics.txt")): "reads *.prom files",
        ("--prometheus-textfile", str(tmp_path / "no" / "x.prom")): "does not exist",
        ("--pushgateway", "ftp://127.0.0.1:1"): "expected an http:// or https:// URL",
        ("--cloudwatch", "AWS/ApplicationELB"): "not starting with AWS/",
        ("--timeout", "0"): "--timeout 0: allowed 1 to 600 seconds",
    }
    for flags, says in cases.items():
        done = parity(home, "canary", *flags)
        assert done.returncode == 2, (flags, done.stderr)
        assert says in done.stderr and "Traceback" not in done.stderr
        assert "login" not in done.stdout  # refused before the run


@pytest.mark.servers
@pytest.mark.skipif(not shutil.which("prometheus-pushgateway"), reason="needs Debian's pushgateway")
def test_metrics_pushed_to_a_real_pushgateway(home: Path, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{port}"]
    with serving(argv, f"{url}/-/ready", "pushgateway", cwd=tmp_path):
        done = parity(home, "canary", "--pushgateway", url)
        assert done.returncode == 0, done.stdout + done.stderr
        exposed = requests.get(f"{url}/metrics", timeout=5).text
    line = next(x for x in exposed.splitlines() if x.startswith("parity_probe_success{"))
    assert 'environment="replica"' in line and 'job="parity"' in line and line.endswith(" 1")


@pytest.mark.servers
def test_an_output_that_refuses_is_exit_3_with_one_line(home: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    done = parity(home, "canary", "--pushgateway", closed)
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"--pushgateway {closed}: no answer (ConnectionError)" in done.stderr
    assert "Traceback" not in done.stderr


def _cloudwatch(endpoint: str) -> Any:
    return boto3.client(
        "cloudwatch",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _read_back(client: Any, name: str, dimensions: list[dict[str, str]]) -> list[float]:
    now = datetime.datetime.now(tz=datetime.UTC)
    answer = client.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": NAMESPACE,
                        "MetricName": name,
                        "Dimensions": dimensions,
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
            }
        ],
        StartTime=now - datetime.timedelta(minutes=10),
        EndTime=now + datetime.timedelta(minutes=1),
    )
    return list(answer["MetricDataResults"][0]["Values"])


def test_cloudwatch_metrics_are_read_back(home: Path, moto_server: str) -> None:
    aws = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    done = parity(home, "canary", "--cloudwatch", NAMESPACE, "--region", "us-east-1", env=aws)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "testing" not in done.stdout + done.stderr
    client = _cloudwatch(moto_server)
    env = [{"Name": "Environment", "Value": "replica"}]
    assert _read_back(client, "SessionPersistence", env) == [1.0]
    assert _read_back(client, "SessionLosses", env) == [0.0]
    latency = _read_back(client, "LatencyP95", [*env, {"Name": "Target", "Value": "app-2"}])
    assert len(latency) == 1 and latency[0] > 0


def test_cloudwatch_batches_stay_within_the_api_limit(moto_server: str, monkeypatch: Any) -> None:
    for key, value in {"AWS_ENDPOINT_URL": moto_server, "AWS_ACCESS_KEY_ID": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    many = CanaryResult("wide", time.time())
    many.latency_ms = {f"t-{i}": [float(i + 1)] for i in range(1500)}
    calls = put(many, NAMESPACE, "us-east-1")
    assert calls == 2 and len(many.samples()) > MAX_DATUMS_PER_CALL
    dims = [{"Name": "Environment", "Value": "wide"}, {"Name": "Target", "Value": "t-1499"}]
    assert _read_back(_cloudwatch(moto_server), "LatencyP95", dims) == [1500.0]


def _exporter(port: int, *flags: str, cwd: Path | None = None) -> Any:
    """`parity exporter` (it finds the running replica through PARITY_HOME, set by the test)."""
    argv = [sys.executable, "-m", "harness.cli", "exporter", "--listen", f"127.0.0.1:{port}"]
    return serving([*argv, *flags], f"http://127.0.0.1:{port}/metrics", "exporter", cwd=cwd)


@pytest.mark.servers
def test_exporter_probes_like_blackbox_exporter(
    home: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("PARITY_HOME", str(home))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with _exporter(port, cwd=tmp_path):
        probe = requests.get(f"{base}/probe", timeout=30)
        bad = requests.get(f"{base}/probe", params={"env": "../etc/passwd"}, timeout=5)
        missing = requests.get(f"{base}/probe", params={"env": "nowhere"}, timeout=5)
        own = requests.get(f"{base}/metrics", timeout=5).text
    assert probe.status_code == 200 and probe.headers["Content-Type"].startswith("text/plain")
    assert 'parity_probe_success{environment="replica"} 1' in probe.text
    assert bad.status_code == 400 and "expected a profile name" in bad.text
    assert missing.status_code == 400 and "nowhere" in missing.text
    assert 'parity_exporter_probes_total{environment="replica",result="success"} 1' in own
    assert "session=" not in probe.text + own


def test_exporter_bounds_probes_in_number_and_time(
    home: Path, tmp_path: Path, hung_balancer: int, monkeypatch: Any
) -> None:
    monkeypatch.setenv("PARITY_HOME", str(home))
    url = f"http://127.0.0.1:{hung_balancer}"
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "hung.yaml").write_text(
        f"name: hung\nurl: {url}\ntopology:\n  provider: static\n"
        f"  targets: [{{id: a, url: '{url}'}}]\n"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    flags = ("--max-concurrent", "1", "--probe-timeout", "3")
    answers: list[requests.Response] = []
    with _exporter(port, *flags, cwd=tmp_path):
        first = threading.Thread(
            target=lambda: answers.append(
                requests.get(f"{base}/probe", params={"env": "hung"}, timeout=30)
            )
        )
        first.start()
        time.sleep(1.0)
        second = requests.get(f"{base}/probe", params={"env": "hung"}, timeout=30)
        first.join(30)
        own = requests.get(f"{base}/metrics", timeout=5).text
    assert second.status_code == 503
    assert answers and answers[0].status_code == 200
    assert 'parity_probe_success{environment="hung"} 0' in answers[0].text
    assert "parity_exporter_probe_rejections_total 1" in own


@pytest.mark.servers
def test_exporter_answers_a_refused_profile_at_once(
    home: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    """A profile the run refuses (a session driver that cannot be imported) is a failed probe
    with the reason, answered at once, not a probe that hangs until its timeout."""
    monkeypatch.setenv("PARITY_HOME", str(home))
    profile = Path(__file__).parents[2] / "harness" / "profile" / "replica.yaml"
    text = profile.read_text().replace("name: replica", "name: no-driver")
    broken = text.replace(
        "  cookie: session\n", "  cookie: session\n  driver: nowhere.drivers:Shop\n"
    )
    assert broken != text
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "no-driver.yaml").write_text(broken)
    port = free_port()
    with _exporter(port, "--probe-timeout", "20", cwd=tmp_path):
        started = time.monotonic()
        answer = requests.get(
            f"http://127.0.0.1:{port}/probe", params={"env": "no-driver"}, timeout=30
        )
        took = time.monotonic() - started
    assert answer.status_code == 200
    assert 'parity_probe_success{environment="no-driver"} 0' in answer.text
    assert took < 10


@pytest.mark.servers
@pytest.mark.skipif(not shutil.which("prometheus"), reason="needs Debian's prometheus")
def test_prometheus_scrapes_the_exporter(home: Path, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("PARITY_HOME", str(home))
    exporter_port, prom_port = free_port(), free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: parity\n"
        "    metrics_path: /probe\n"
        "    params: {env: [replica]}\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{exporter_port}']}}]\n"
    )
    prom = f"http://127.0.0.1:{prom_port}"
    argv = [
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
    ]
    value = None
    with _exporter(exporter_port, cwd=tmp_path), serving(argv, f"{prom}/-/ready", "prom"):
        deadline = time.monotonic() + 40
        while value is None and time.monotonic() < deadline:
            answer = requests.get(
                f"{prom}/api/v1/query", params={"query": "parity_probe_success"}, timeout=5
            ).json()
            found = answer["data"]["result"]
            value = found[0]["value"][1] if found else None
            time.sleep(0.5)
    assert value == "1", answer
    assert found[0]["metric"]["environment"] == "replica" and found[0]["metric"]["job"] == "parity"


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_run_the_profile_refuses_is_reported_with_its_reason() -> None:
    """Inside the exporter: the refusal is the probe's error (one line), not a thread's stack
    trace followed by a wrong 'took over the timeout'."""
    from harness.canary.exporter import Exporter
    from harness.errors import UsageError
    from harness.profile.environment import replica_profile

    def refuse(env: Any, budget: float) -> CanaryResult:
        raise UsageError("session.driver 'nowhere:Shop' cannot be loaded")

    exporter = Exporter(lambda name: replica_profile(), refuse, 1, 5.0)
    status, body = exporter.probe(None, None)
    assert status == 200 and 'parity_probe_success{environment="replica"} 0' in body
    assert exporter.probes[("replica", "error")] == 1
