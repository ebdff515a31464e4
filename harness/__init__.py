"""Parity: multi-instance session correctness checks for apps behind a load balancer.

The public API is resolved lazily (PEP 562), so `import harness` stays cheap for the command line
and never pulls boto3 into Locust's gevent-patched processes.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "CheckOptions": "harness.check",
    "DeploymentFinding": "harness.errors",
    "Environment": "harness.config",
    "EnvironmentUnavailable": "harness.errors",
    "Guard": "harness.guard",
    "Identity": "harness.client",
    "Journal": "harness.journal",
    "LoadOptions": "harness.loadrun",
    "ParityError": "harness.errors",
    "Permission": "harness.guard",
    "ProfileError": "harness.errors",
    "Provider": "harness.topology",
    "RecipeDriver": "harness.session",
    "ReplicaConfig": "harness.replica.spec",
    "ReplicaHandle": "harness.replica.running",
    "Route": "harness.client",
    "SafetyRefusal": "harness.errors",
    "SessionDriver": "harness.session",
    "Site": "harness.flows",
    "Topology": "harness.topology.model",
    "Transport": "harness.session",
    "UsageError": "harness.errors",
    "VirtualUser": "harness.client",
    "compare_environments": "harness.diff",
    "load_environment": "harness.config",
    "open_provider": "harness.topology",
    "run_check": "harness.check",
    "run_load": "harness.loadrun",
    "running_replica": "harness.replica.running",
}

__all__ = sorted([*_API, "__version__"])


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
