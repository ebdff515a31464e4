"""The opened environment handed to a child process (pytest) as one file, `PARITY_OPENED`.

A command opens its environment once (`harness.topology.open_environment`); a child process it
starts rebuilds it with `read_opened`, without parsing the profile or looking for a replica
again: the provider's `hand_off` travels beside the environment.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from harness.profile.environment import Environment
from harness.topology import Provider, provider_class

OPENED_VARIABLE = "PARITY_OPENED"


def write_opened(env: Environment, provider: Provider, path: Path) -> Path:
    """The opened environment as one file (mode 0600: it holds resolved secrets)."""
    body = {"environment": dataclasses.asdict(env), "provider": provider.hand_off()}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(body, out, default=str)  # a YAML date in `raw` travels as its text
    return path


def read_opened(path: Path) -> tuple[Environment, Provider]:
    """What `write_opened` wrote: the environment and its provider, taken over."""
    body = json.loads(path.read_text())
    env = Environment(**body["environment"])
    return env, provider_class(env.provider, env.source).taken_over(env, body["provider"])
