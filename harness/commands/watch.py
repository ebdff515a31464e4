"""`parity watch -- <deploy command>`: a bounded, low-rate sticky_users load, a poll of the
provider and a probe of sessions across builds while the team's own deploy runs; what they saw
is concluded in `harness.deploywatch` (attribution, drains and restarts, mixed-build windows,
the end state) and written as the report."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from harness.deploywatch.conclude import conclude
from harness.deploywatch.deploy import (
    LoadThread,
    WatchOptions,
    pin_streams,
    plan_streams,
    refuse_streams_without_realtime,
    run_deploy,
)
from harness.deploywatch.document import Outcome, document
from harness.deploywatch.report import write_watch_report
from harness.deploywatch.watchers import start_watchers
from harness.loadgen.runner import check_caps
from harness.profile.environment import Environment
from harness.report.redact import redact
from harness.report.run_info import stamp_of
from harness.topology import open_environment
from harness.traffic.site import Site

__all__ = ["WatchOptions", "run_watch"]


def run_watch(env: Environment, opts: WatchOptions, say: Any) -> tuple[dict[str, Any], Path]:
    """Watch one deploy; the result document and the report folder."""
    check_caps(env, opts.load_options)
    refuse_streams_without_realtime(env, opts)  # before anything starts
    out = Outcome(opts.command, opts.users, opts.rate, opts.allow_mixed_end)
    with (
        open_environment(env, for_children=True) as provider,
        tempfile.TemporaryDirectory(prefix="parity-watch-") as tmp,
    ):
        topology = provider.resolve()
        site = Site(env, topology)
        targets = [  # a group weighted 0 takes no fresh client: no stream is meant for it
            t.id
            for t in topology.healthy_targets()
            if (group := topology.group_of(t.id)) is None or group.weight != 0
        ]
        out.streams = plan_streams(env, opts, targets)
        check_caps(env, opts.load_options, ("--users and --streams", "--users"))
        opts.load_options.stream_routes = pin_streams(site, opts.load_options.stream_targets)
        notices = Path(tmp) / "notices.json"
        opts.load_options.notices = notices
        watchers = start_watchers(env, provider, site, notices, opts.poll, opts.rate, say)
        load = LoadThread(env, provider, opts.load_options)
        load.start()
        run_deploy(opts, load, watchers, out, say)
        if load.error is not None:
            raise load.error
        assert load.result is not None
        watched = conclude(env, topology, watchers, load.result.evidence, out, opts.poll)
        result = redact(document(watched), tuple(topology.secrets.values()))
    folder = opts.report_dir / f"watch-{stamp_of(out.started)}"
    folder.mkdir(parents=True, exist_ok=True)
    write_watch_report(result, folder)
    return result, folder
