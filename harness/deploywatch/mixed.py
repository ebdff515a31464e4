"""Two builds at once: the mixed-build windows of a watched deploy with what the cross-build
probe found in each, and the build of every target at the end."""

from __future__ import annotations

from itertools import permutations
from typing import Any

from harness.deploywatch.crossbuild import Probe, live_builds
from harness.deploywatch.poller import REGISTERED
from harness.findings import message


def windows_of(samples: list[dict[str, Any]], ended: float) -> list[dict[str, Any]]:
    """Every span of polls in which registered targets served two builds or more: from the
    first poll that saw it to the first that did not (or the end), with each build's targets."""
    out: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for sample in samples:
        live = live_builds(sample["targets"])
        if len(live) < 2:
            if current is not None:
                current["end"] = sample["at"]
                out.append(current)
                current = None
            continue
        if current is None:
            current = {"start": sample["at"], "end": ended, "builds": {}}
        for build, targets in live.items():
            known = current["builds"].setdefault(build, [])
            known += [t for t in targets if t not in known]
    if current is not None:
        out.append(current)
    return out


def judge(windows: list[dict[str, Any]], probes: list[Probe]) -> None:
    """Give each window its probes (those begun after it opened, before the next one) and a
    verdict: incompatible, compatible (every direction answered, no problem) or not probed."""
    for i, window in enumerate(windows):
        until = windows[i + 1]["start"] if i + 1 < len(windows) else float("inf")
        mine = [p for p in probes if window["start"] <= p.started < until]
        window["probes"] = [p.to_json() for p in mine]
        found = [q for p in mine if p.conclusive for q in p.problems]
        window["problems"] = list(dict.fromkeys(found))
        answered = {p.builds for p in mine if p.conclusive}
        every = set(permutations(window["builds"], 2))
        if found:
            window["verdict"] = "incompatible"
        elif every <= answered:
            window["verdict"] = "compatible"
        else:
            window["verdict"] = "not probed"
            tried = [q for p in mine for q in p.problems]
            window["note"] = (
                f"inconclusive: {'; '.join(dict.fromkeys(tried))}"
                if tried
                else "it closed before a probe could finish"
            )


def _listing(window: dict[str, Any]) -> str:
    return ", ".join(f"{b} on {', '.join(ts)}" for b, ts in window["builds"].items())


def window_findings(windows: list[dict[str, Any]], rel: Any) -> list[str]:
    """`[session-format] ...` for each window whose builds cannot share sessions."""
    return [
        message(
            "session-format",
            f"in the mixed-build window +{rel(w['start']):.1f} s to +{rel(w['end']):.1f} s "
            f"({_listing(w)}): {'; '.join(w['problems'])}",
        )
        for w in windows
        if w["verdict"] == "incompatible"
    ]


def end_state(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Every target's state and build at the last poll; mixed when the registered ones serve
    more than one build."""
    rows = samples[-1]["targets"] if samples else {}
    targets = {t: {"state": r["state"], "build": r.get("build")} for t, r in sorted(rows.items())}
    builds = {str(r["build"]) for r in targets.values() if r["state"] in REGISTERED and r["build"]}
    return {"targets": targets, "builds": sorted(builds), "mixed": len(builds) > 1}


def end_finding(state: dict[str, Any], command_ended: bool, allowed: bool) -> str | None:
    """`[incomplete-rollout] ...` when the deploy command ended with registered targets on two
    builds, unless `--allow-mixed-end`."""
    if not state.get("mixed") or not command_ended or allowed:
        return None
    listing = ", ".join(
        f"{t} {r['build']}" for t, r in state["targets"].items() if r["state"] in REGISTERED
    )
    return message(
        "incomplete-rollout",
        f"when the deploy command ended its targets served {len(state['builds'])} builds: "
        f"{listing} (--allow-mixed-end if the deploy means to leave them so, as a canary does)",
    )
