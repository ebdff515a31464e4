"""Canary results as CloudWatch metrics (PutMetricData), batched within the API's limits.

Dimensions: Environment on every metric, and Target on the per-target latency.
"""

from __future__ import annotations

import datetime
from typing import Any

from harness.canary.result import CanaryResult
from harness.errors import PublishError, UsageError

MAX_DATUMS_PER_CALL = 1000  # PutMetricData: at most 1000 metrics and 1 MB per request
MAX_NAMESPACE = 255


def check_namespace(namespace: str) -> str:
    if not namespace or len(namespace) > MAX_NAMESPACE or namespace.startswith("AWS/"):
        raise UsageError(
            f"--cloudwatch {namespace!r}: a namespace of 1 to 255 characters, not starting "
            "with AWS/ (reserved for AWS services)"
        )
    return namespace


def datums(result: CanaryResult) -> list[dict[str, Any]]:
    at = datetime.datetime.fromtimestamp(result.started_at, tz=datetime.UTC)
    out = []
    for sample in result.samples():
        dimensions = [{"Name": "Environment", "Value": result.environment}]
        if sample.target is not None:
            dimensions.append({"Name": "Target", "Value": sample.target})
        out.append(
            {
                "MetricName": sample.name,
                "Dimensions": dimensions,
                "Timestamp": at,
                "Value": sample.value,
                "Unit": sample.unit,
            }
        )
    return out


def batches(items: list[dict[str, Any]], size: int = MAX_DATUMS_PER_CALL) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def put(
    result: CanaryResult, namespace: str, region: str | None, profile: str | None = None
) -> int:
    """Send the run's metrics; the number of PutMetricData calls made."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    check_namespace(namespace)
    try:
        session = boto3.Session(region_name=region, profile_name=profile)
        client = session.client("cloudwatch")
        calls = 0
        for batch in batches(datums(result)):
            client.put_metric_data(Namespace=namespace, MetricData=batch)
            calls += 1
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise PublishError(
            f"--cloudwatch {namespace}: {error.get('Code', 'error')}: {error.get('Message', '')}"
        ) from exc
    except BotoCoreError as exc:
        raise PublishError(f"--cloudwatch {namespace}: {exc}") from exc
    return calls
