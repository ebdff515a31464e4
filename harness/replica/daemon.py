"""The background process behind `parity up`: runs a replica until SIGTERM, SIGINT or SIGHUP.

Usage (internal): python -m harness.replica.daemon CONFIG_JSON READY_FILE
It writes the state file, then `{"ok": true}` or `{"ok": false, "error": ...}` to READY_FILE.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from harness.errors import ParityError
from harness.replica.front_profile import needs_profile, write_front_profile
from harness.replica.running import running_replica
from harness.replica.spec import ReplicaConfig
from harness.replica.state import remove_state, write_state

STATE_REFRESH_SECONDS = 1.0


def _report(ready_file: Path, body: dict[str, object]) -> None:
    tmp = ready_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(body))
    tmp.replace(ready_file)  # atomic: `parity up` never reads half a file


def main(argv: list[str]) -> int:
    config = ReplicaConfig.from_json(json.loads(argv[0]))
    ready_file = Path(argv[1])
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        with running_replica(config) as (replica, handle):
            state = {
                "daemon_pid": os.getpid(),
                "started_at": time.time(),
                "url": handle.url,
                "https_url": handle.https_url,
                "redis_url": handle.redis_url,
                "control_url": handle.control_url,
                "token": handle.token,
                "ca_file": handle.ca_file,
                "work_dir": str(replica.work_dir),
                "children": replica.child_pids(),
                "config": config.to_json(),
            }
            if needs_profile(replica):
                state["profile"] = str(write_front_profile(replica))
            write_state(state)
            _report(ready_file, {"ok": True})
            while not stop.wait(STATE_REFRESH_SECONDS):
                if replica.child_pids() != state["children"]:  # a target was restarted
                    state["children"] = replica.child_pids()
                    write_state(state)
    except ParityError as exc:
        _report(ready_file, {"ok": False, "error": str(exc)})
        return exc.exit_code
    finally:
        remove_state()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
