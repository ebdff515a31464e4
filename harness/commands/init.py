"""`parity init`: a profile written from what the environment itself says.

The environment is resolved once (AWS, a static balancer, or the replica); `expect:` is filled
from what was observed, each value commented with where it came from; the session contract is
the replica's own, or, elsewhere, a skeleton of the endpoints a probe found, commented out and
marked as a guess; every secret is a `${VAR}`; safety is conservative.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from harness.errors import UsageError
from harness.profile.environment import Environment, parse_profile, replica_profile
from harness.scaffold.observe import HEALTH_MATCHER, health_path, observe_http
from harness.scaffold.render import readable, render_profile, session_note, write_profile
from harness.scaffold.source import Source, aws_topology
from harness.topology import open_environment
from harness.topology.model import Topology

__all__ = ["Source", "init_profile", "session_note"]


def _probe_profile(source: Source, name: str) -> Environment:
    """A minimal profile to resolve the environment with (nothing is written yet)."""
    if source.kind == "replica":
        return replica_profile()
    if source.kind == "static":
        targets = [{"id": i, "url": u} for i, u in source.targets]
        doc: dict[str, Any] = {
            "name": name,
            "url": source.url,
            "topology": {"provider": "static", "targets": targets},
            "expect": {"health_check": {"path": health_path(source), "matcher": HEALTH_MATCHER}},
        }
    else:
        doc = {"name": name, "topology": aws_topology(source)}
    return parse_profile(yaml.safe_dump(doc), f"<parity init {name}>")

@contextmanager
def resolved(source: Source, name: str) -> Iterator[tuple[Environment, Topology]]:
    env = _probe_profile(source, name)
    with open_environment(env) as provider:
        yield env, provider.resolve()

def init_profile(folder: Path, name: str, source: Source, production: bool, force: bool) -> Path:
    """Resolve the environment once, observe it, write `folder/name.yaml`; its path."""
    if (folder / f"{name}.yaml").exists() and not force:
        raise UsageError(
            f"{folder / f'{name}.yaml'} exists: parity init never overwrites a profile "
            "(--force does)"
        )
    with resolved(source, name) as (env, topology):
        from harness.traffic.site import verify_of

        http = observe_http(topology.entry_url, verify_of(env, topology))
    text = render_profile(name, production, source, topology, http)
    readable(text, f"<parity init {name}>")
    return write_profile(folder, name, text)
