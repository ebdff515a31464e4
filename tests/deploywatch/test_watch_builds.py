"""`parity watch` and two builds: the mixed-build window of a deploy probed for sessions the
builds cannot share (whether or not a user crossed), and the builds at the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acceptance.test_deploys import ROLLOUT, measured, replica, watch

pytestmark = pytest.mark.servers


@pytest.mark.slow
def test_watch_probes_the_mixed_window_of_a_forward_rollout(tmp_path: Path) -> None:
    """build-2 writes sessions build-1 cannot read (`session-format`). Rolled out forward,
    sticky users never move from build-2 to build-1, so none loses a session; the watch probes
    the window in which both builds are registered and names it."""
    with replica(tmp_path, "--fault", "session-format"):
        done, doc, _ = watch(tmp_path, *ROLLOUT, "--build", "build-2")
    assert done.returncode == 1, done.stdout + done.stderr
    assert doc["command_exit_code"] == 0 and doc["load"]["session_losses"] == 0
    (window,) = [w for w in doc["mixed_windows"] if w["verdict"] == "incompatible"]
    assert window["start"] < window["end"] <= doc["duration_seconds"], window
    assert set(window["builds"]) == {"build-1", "build-2"}, window
    assert (
        "sessions written by build-2 are unreadable on build-1: HTTP 500 on GET /session"
        in (window["problems"])
    ), window
    (said,) = [r for r in doc["reasons"] if r.startswith("[session-format]")]
    assert f"in the mixed-build window +{window['start']:.1f} s to +{window['end']:.1f} s" in said
    assert doc["end_state"]["builds"] == ["build-2"] and not doc["end_state"]["mixed"]
    print(measured(doc))


@pytest.mark.slow
def test_watch_fails_a_deploy_that_ends_on_two_builds(tmp_path: Path) -> None:
    """app-1 on build-2 and app-2 on build-1 when the deploy command exits (a rollout and a
    rollback of app-2 only): `[incomplete-rollout]`, exit 1; with --allow-mixed-end, exit 0."""
    with replica(tmp_path, "--builds", "build-2,build-1"):
        done, doc, _ = watch(tmp_path, *ROLLOUT, "--build", "build-2", "--rollback")
        allowed, allowed_doc, _ = watch(tmp_path, "true", flags=("--allow-mixed-end",))
    assert done.returncode == 1, done.stdout + done.stderr
    end = doc["end_state"]
    assert end["mixed"] and end["builds"] == ["build-1", "build-2"], end
    assert end["targets"]["app-1"]["build"] == "build-2", end
    assert end["targets"]["app-2"]["build"] == "build-1", end
    (said,) = [r for r in doc["reasons"] if r.startswith("[incomplete-rollout]")]
    assert "app-1 build-2, app-2 build-1" in said and "--allow-mixed-end" in said, said
    assert doc["reasons"] == [said], doc["reasons"]  # nothing else went wrong
    assert all(w["verdict"] != "incompatible" for w in doc["mixed_windows"]), doc
    print(measured(doc))
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert allowed_doc["end_state"]["mixed"] and allowed_doc["end_state"]["allowed"]
    assert [w["verdict"] for w in allowed_doc["mixed_windows"]] == ["compatible"], allowed_doc
    print(measured(allowed_doc))
