"""The self-contained HTML report: one file, inline SVG charts, every server text escaped."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from harness.report import charts
from harness.report.coverage import builds_line, not_covered, sessions_line
from harness.report.model import CheckRecord, LoadSection, Results
from harness.topology.model import SETTINGS_SOURCES

VERDICT_TEXT = {
    "passed": "PASSED: the deployment may ship",
    "failed": "FAILED: do not deploy",
    "error": "INCOMPLETE: the harness could not run every check",
    "no-check-ran": "NO CHECK RAN: nothing was verified; do not deploy",
}


def _check_charts(checks: list[CheckRecord]) -> list[str]:
    out = []
    for check in checks:
        ev = check.get("evidence") or {}
        if "distribution" in ev:
            d = ev["distribution"]
            targets = sorted(d["expected"])
            out.append(
                charts.bars(
                    f"Fresh clients per target ({d.get('decision', 'tested')} after "
                    f"{d.get('clients', '?')}, p = {d['p_value']:.3g})",
                    targets,
                    {
                        "observed": [d["observed"].get(t, 0) for t in targets],
                        "expected": [d["expected"][t] for t in targets],
                    },
                )
            )
        if "latency_p95_ms" in ev:
            lat = ev["latency_p95_ms"]
            out.append(
                charts.bars(
                    "p95 latency per target (fresh clients)",
                    sorted(lat),
                    {"p95": [lat[t] for t in sorted(lat)]},
                    unit=" ms",
                )
            )
        if "failover" in ev:
            f = ev["failover"]
            xs = [b["at"] for b in f["traffic"]]
            markers = [(0.0, "deregistered")] + [
                (s["at"], s["state"]) for s in f["states"] if s["state"] != "draining"
            ]
            out.append(
                charts.lines(
                    f"Traffic while {f['target']} drained (requests per 0.5 s)",
                    xs,
                    {
                        "ok": [b["ok"] for b in f["traffic"]],
                        "errors": [b["errors"] for b in f["traffic"]],
                    },
                    markers=markers,
                )
            )
        if "store_failover" in ev:
            out.append(_store_failover_chart(ev["store_failover"]))
    return out


def _store_failover_chart(f: dict[str, Any]) -> str:
    """Session writes per 0.5 s while the store failed over, marked where it was triggered and
    where writes succeeded again."""
    start = float(f.get("started_at") or 0.0)
    markers = [(start, "failover")]
    if f.get("recovered_after_seconds") is not None:
        markers.append((start + float(f["recovered_after_seconds"]), "writes recovered"))
    writes = f.get("writes") or []
    return charts.lines(
        "Session writes while the store failed over (per 0.5 s)",
        [w["at"] for w in writes],
        {"ok": [w["ok"] for w in writes], "errors": [w["errors"] for w in writes]},
        markers=markers,
    )


def _load_charts(load: LoadSection) -> list[str]:
    ev = load["evidence"]
    targets = sorted(t for t in ev["targets"] if t != "unknown")
    sessions = [ev["targets"][t]["sessions"] for t in targets]
    share = sum(sessions) / len(targets) if targets else 0
    out = [
        charts.bars(
            "Load: requests and sessions per target",
            targets,
            {
                "requests / 100": [ev["targets"][t]["requests"] / 100 for t in targets],
                "sessions": sessions,
                "expected sessions": [share] * len(targets),
            },
        )
    ]
    timeline = ev.get("timeline", [])
    if timeline:
        start = timeline[0]["second"]
        xs = [s["second"] - start for s in timeline]
        markers = [(e["at"] - start, e["event"]) for e in load.get("drain_events", [])]
        out.append(
            charts.lines(
                "Load: p95 latency per target over time",
                xs,
                {t: [s["targets"].get(t, {}).get("p95_ms") for s in timeline] for t in targets},
                unit=" ms",
                markers=markers,
            )
        )
        out.append(
            charts.lines(
                "Load: requests and errors per second",
                xs,
                {
                    "requests": [
                        sum(v["requests"] for v in s["targets"].values()) for s in timeline
                    ],
                    "errors": [sum(v["errors"] for v in s["targets"].values()) for s in timeline],
                },
                markers=markers,
            )
        )
    realtime = (ev.get("realtime") or {}).get("targets") or {}
    if realtime:
        streams_on = sorted(realtime)
        out.append(
            charts.bars(
                "Load: real-time messages delivered and lost per target",
                streams_on,
                {
                    "delivered / 100": [realtime[t]["delivered"] / 100 for t in streams_on],
                    "lost": [realtime[t]["lost"] for t in streams_on],
                    "p95 delivery ms": [
                        (realtime[t]["latency_ms"] or {}).get("p95", 0) for t in streams_on
                    ],
                },
            )
        )
    phases = ev.get("phases") or {}
    if load.get("drain_events") or ev["sticky_violations"] or ev["session_losses"]:
        names = [p for p in ("before", "during", "after") if phases.get(p, {}).get("requests")]
        out.append(
            charts.bars(
                "Load: moves, sticky violations and session losses",
                names,
                {
                    k: [phases[p][k] for p in names]
                    for k in ("moves", "sticky_violations", "session_losses")
                },
            )
        )
    return out


def failover_timeline(failover: dict[str, Any]) -> list[tuple[float, str]]:
    """The drained target's states and the in-flight request's end, in time order."""
    rows = [(float(s["at"]), f"{failover['target']} {s['state']}") for s in failover["states"]]
    flight = failover.get("in_flight")
    if flight:
        rows.append(
            (
                float(flight["ended_at"]),
                f"in-flight request ({flight['seconds']} s) ended: {flight['outcome']} "
                f"from {flight['target']}",
            )
        )
    return sorted(rows, key=lambda row: row[0])


def render(results: Results) -> str:
    """The report's HTML for a results document (already redacted)."""
    jinja = Environment(
        loader=PackageLoader("harness.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    checks = results["checks"]
    counts = Counter(c["outcome"] for c in checks)
    load = results.get("load")
    failover = next(
        (c["evidence"]["failover"] for c in checks if "failover" in (c.get("evidence") or {})), None
    )
    store = next(
        (c["evidence"]["store"] for c in checks if "store" in (c.get("evidence") or {})), None
    )
    chart_svgs = _check_charts(checks) + (_load_charts(load) if load else [])
    return jinja.get_template("report.html.j2").render(
        verdict=results["verdict"],
        verdict_text=VERDICT_TEXT[results["verdict"]],
        verdict_reason=results.get("verdict_reason"),
        env=results["environment"],
        run=results["run"],
        topology=results["topology"],
        checks=checks,
        counts={
            "total": len(checks),
            "passed": counts["passed"],
            "failed": counts["failed"],
            "error": counts["error"],
            "skipped": counts["skipped"],
            "accepted": counts["accepted"],
        },
        acceptances=results.get("acceptances", []),
        warnings=results.get("warnings", []),
        load=load,
        settings_sources=SETTINGS_SOURCES,
        builds=builds_line(checks),
        sessions=sessions_line(results["sessions"]) if results.get("sessions") else "",
        uncovered=not_covered(checks),
        load_gates_passed=sum(1 for g in (load["gates"] if load else []) if g["passed"]),
        failover=failover,
        store=store,
        failover_timeline=failover_timeline(failover) if failover else [],
        diff=results.get("diff"),
        report_id=results["run"].get("id", ""),
        charts=[Markup(svg) for svg in chart_svgs],  # drawn by charts.py, labels escaped there
    )


def write(results: Results, path: Path) -> Path:
    path.write_text(render(results), encoding="utf-8")
    return path
