"""The environment variables Parity reads, each with what it does (the reference page's table).

A test keeps this table and the code the same: every `PARITY_...` name the code reads is here,
or is one of the names below that only Parity itself sets for its own child processes.
"""

from __future__ import annotations

VARIABLES: dict[str, str] = {
    "PARITY_ENV": "the environment a command or the pytest form targets (`--env NAME`)",
    "PARITY_ENV_FILE": "a profile file to target instead (`--env-file PATH`)",
    "PARITY_ENV_DIR": "where `--env NAME` looks for NAME.yaml (default `environments`)",
    "PARITY_PREVIOUS_ENV": "the environment serving the previous build (`--previous-env`)",
    "PARITY_ALLOW_DISRUPTIVE": "`1` allows drain and kill checks (`--allow-disruptive`)",
    "PARITY_ALLOW_PRODUCTION": "allow disruptive checks on the production environment it names",
    "PARITY_RESULTS": "the pytest form writes every check's outcome as JSON here",
    "PARITY_SAMPLES": "the most fresh clients the distribution check draws (default 3000)",
    "PARITY_HOME": "the replica's state, journal and profiles (default `~/.parity`)",
    "PARITY_REPLICA_IDLE_TIMEOUT": "the replica front end's idle timeout, 1-4000 s (default 60)",
    "PARITY_KEEPALIVE_WAIT": "the longest the keep-alive check waits on a target, in seconds",
    "PARITY_LOAD_SECONDS": "how long the load suite's run lasts (default 10)",
    "PARITY_LOAD_USERS": "how many users the load suite's run has (default 10)",
    "PARITY_DEBUG": "`1` shows the traceback of an internal error",
}

# Set by Parity for its child processes, never by a user: the hand-off file for pytest and
# Locust (`harness/handoff.py`), and the reference app's settings for each instance.
INTERNAL = ("PARITY_HANDOFF",)
APP_PREFIX = "PARITY_APP_"
