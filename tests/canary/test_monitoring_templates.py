"""The ready-to-use monitoring files in examples/monitoring: they use only metrics the canary and
the exporter emit, the rules pass promtool (and fire on failure values), the CloudFormation
templates deploy (into moto), and the commands they run are valid `parity` commands."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from harness.canary.prometheus import METRICS
from harness.cli.main import build_parser

FOLDER = Path(__file__).resolve().parents[2] / "examples" / "monitoring"
EXPORTER_OWN = {
    "parity_exporter_probes_total",
    "parity_exporter_probe_rejections_total",
    "parity_exporter_probes_in_flight",
    "parity_exporter_max_concurrent_probes",
    "parity_exporter_start_time_seconds",
}
PROMETHEUS_NAMES = {name for name, _ in METRICS.values()} | EXPORTER_OWN
CLOUDWATCH_NAMES = set(METRICS)


def _aws_clients(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.mark.parametrize(
    "name", ["prometheus-rules.yml", "prometheus-scrape.yml", "grafana-dashboard.json"]
)
def test_prometheus_files_use_only_emitted_metrics(name: str) -> None:
    used = set(re.findall(r"\bparity_[a-z0-9_]+", (FOLDER / name).read_text()))
    used -= {"parity_exporter"}  # a job name, not a metric
    assert used <= PROMETHEUS_NAMES, used - PROMETHEUS_NAMES


def test_the_dashboard_queries_every_canary_metric() -> None:
    dashboard = json.loads((FOLDER / "grafana-dashboard.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    canary = {name for name, _ in METRICS.values()}
    assert canary <= set(re.findall(r"\bparity_[a-z0-9_]+", exprs))


@pytest.mark.parametrize("name", ["cloudwatch-alarms.cfn.yaml", "cloudwatch-alarms.tf"])
def test_cloudwatch_alarms_use_only_emitted_metrics(name: str) -> None:
    text = (FOLDER / name).read_text()
    used = set(re.findall(r'MetricName: (\w+)|\["(\w+)", "(?:Minimum|Maximum)"', text))
    names = {a or b for a, b in used}
    assert names and names <= CLOUDWATCH_NAMES, names - CLOUDWATCH_NAMES
    assert {"SessionPersistence", "StickyViolations", "SessionLosses", "BuildSkew"} <= names


@pytest.mark.skipif(not shutil.which("promtool"), reason="needs Debian's prometheus (promtool)")
def test_rules_pass_promtool_and_fire_on_failure_values() -> None:
    for args in (
        ["check", "rules", "prometheus-rules.yml"],
        ["test", "rules", "prometheus-rules.test.yml"],
        ["check", "config", "prometheus-scrape.yml"],
    ):
        done = subprocess.run(
            ["promtool", *args], cwd=FOLDER, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


def _resolve(node: Any, params: dict[str, str]) -> Any:
    """CloudFormation's Ref and Fn::Sub, enough for the alarm template."""
    if isinstance(node, dict) and set(node) == {"Ref"}:
        return params[node["Ref"]]
    if isinstance(node, dict) and set(node) == {"Fn::Sub"}:
        return re.sub(r"\$\{(\w+)\}", lambda m: params[m.group(1)], node["Fn::Sub"])
    if isinstance(node, dict):
        return {k: _resolve(v, params) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, params) for v in node]
    return node


def test_the_alarm_template_creates_valid_alarms(moto_server: str) -> None:
    """moto's CloudFormation does not model alarms, so each alarm's properties (the same names
    as PutMetricAlarm's) go through botocore's validation of the API and into moto's CloudWatch."""
    template = yaml.safe_load((FOLDER / "cloudwatch-alarms.cfn.yaml").read_text())
    params = {
        "Environment": "production",
        "Namespace": template["Parameters"]["Namespace"]["Default"],
        "AlarmTopicArn": "arn:aws:sns:us-east-1:123456789012:parity",
    }
    cloudwatch = _aws_clients(moto_server, "cloudwatch")
    for resource in template["Resources"].values():
        assert resource["Type"] == "AWS::CloudWatch::Alarm"
        cloudwatch.put_metric_alarm(**_resolve(resource["Properties"], params))
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix="parity-production-")["MetricAlarms"]
    assert {a["MetricName"] for a in alarms} == {
        "SessionPersistence",
        "ProbeSuccess",
        "StickyViolations",
        "SessionLosses",
        "BuildSkew",
    }
    for alarm in alarms:
        assert alarm["Namespace"] == "Parity/Sessions"
        assert alarm["Dimensions"] == [{"Name": "Environment", "Value": "production"}]


def _commands() -> list[list[str]]:
    cronjob = yaml.safe_load((FOLDER / "kubernetes-canary-cronjob.yaml").read_text())
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    ecs = yaml.safe_load((FOLDER / "ecs-scheduled-canary.cfn.yaml").read_text())
    task = ecs["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    return [container["args"], task["Command"]]


@pytest.mark.parametrize("command", _commands(), ids=["kubernetes", "ecs"])
def test_scheduled_commands_are_valid_parity_commands(command: list[str]) -> None:
    assert command[:2] == ["parity", "canary"]
    args = build_parser().parse_args(command[1:])
    assert args.command == "canary" and args.env == "production" and args.json


def test_the_ecs_schedule_runs_the_task_it_defines() -> None:
    ecs = yaml.safe_load((FOLDER / "ecs-scheduled-canary.cfn.yaml").read_text())
    rule = ecs["Resources"]["Schedule"]["Properties"]
    target = rule["Targets"][0]["EcsParameters"]
    assert rule["ScheduleExpression"] == "rate(1 minute)"
    assert target["TaskDefinitionArn"] == {"Ref": "TaskDefinition"}
    policy = ecs["Resources"]["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    put = policy["Statement"][0]
    assert put["Action"] == "cloudwatch:PutMetricData"
    assert put["Condition"]["StringEquals"]["cloudwatch:namespace"] == "Parity/Sessions"
