"""Parity: multi-instance session correctness checks for apps behind a load balancer.

The public API is resolved lazily (PEP 562), so `import harness` stays cheap for the command line
and never pulls boto3 into Locust's gevent-patched processes.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "CheckOptions": "harness.commands.check",
    "DeploymentFinding": "harness.errors",
    "Environment": "harness.profile.environment",
    "EnvironmentUnavailable": "harness.errors",
    "Guard": "harness.disruption.guard",
    "Identity": "harness.traffic.client",
    "Journal": "harness.disruption.journal",
    "LoadOptions": "harness.loadgen.runner",
    "ParityError": "harness.errors",
    "Permission": "harness.disruption.guard",
    "ProfileError": "harness.errors",
    "Provider": "harness.topology",
    "RecipeDriver": "harness.traffic.contract",
    "ReplicaConfig": "harness.replica.spec",
    "ReplicaHandle": "harness.replica.running",
    "Route": "harness.traffic.client",
    "SafetyRefusal": "harness.errors",
    "SessionDriver": "harness.traffic.contract",
    "Site": "harness.traffic.site",
    "Topology": "harness.topology.model",
    "Transport": "harness.traffic.contract",
    "UsageError": "harness.errors",
    "VirtualUser": "harness.traffic.client",
    "compare_environments": "harness.commands.diff",
    "load_environment": "harness.topology",
    "open_provider": "harness.topology",
    "run_check": "harness.commands.check",
    "run_load": "harness.loadgen.runner",
    "running_replica": "harness.replica.running",
}

__all__ = sorted([*_API, "__version__"])


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
