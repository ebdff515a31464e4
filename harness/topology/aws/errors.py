"""AWS errors translated into one clear line (botocore's own are long and nested)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from harness.errors import EnvironmentUnavailable, UsageError

T = TypeVar("T")
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess"}
SERVICE_PREFIX = {"elbv2": "elasticloadbalancing", "ec2": "ec2", "elasticache": "elasticache"}


def aws_call(service: str, operation: str, call: Callable[[], T], source: str = "") -> T:
    """Run one AWS API call; every failure becomes one line naming what to do."""
    try:
        return call()
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise EnvironmentUnavailable(
            "no AWS credentials found: set AWS_PROFILE (or topology.profile), or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        ) from exc
    except NoRegionError as exc:
        raise UsageError(
            f"{source}: topology.region is missing and no AWS region is configured "
            "(AWS_REGION or the profile's region)"
        ) from exc
    except EndpointConnectionError as exc:
        raise EnvironmentUnavailable(
            f"cannot reach the AWS endpoint {exc.kwargs.get('endpoint_url')}"
        ) from exc
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", "")
        if code in DENIED:
            action = f"{SERVICE_PREFIX.get(service, service)}:{operation}"
            raise EnvironmentUnavailable(
                f"AccessDenied: the IAM action {action} is not allowed for these credentials"
            ) from exc
        raise EnvironmentUnavailable(f"AWS {operation} failed: {code}: {message}") from exc
    except BotoCoreError as exc:
        raise EnvironmentUnavailable(f"AWS {operation} failed: {exc}") from exc
