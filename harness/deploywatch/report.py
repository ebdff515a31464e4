"""The watch's report: watch.json and a self-contained index.html with the deploy timeline, the
targets that stopped while registered, the mixed-build windows and the builds at the end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from harness.deploywatch.document import streams_said
from harness.report import charts

TICKED = (
    "5xx",
    "no-response",
    "cut-in-flight",
    "session-loss",
    "sticky-violation",
    "stream-closed",
    "stream-refused",
    "message-lost",
    "message-cut",
)
STREAM_COLUMNS = ["streams closed", "refused", "messages lost"]


def _whose(event: dict[str, Any]) -> str | None:
    return event["target"] or event.get("intended")


def timeline_chart(document: dict[str, Any]) -> str:
    """Each target's state and build over time, with its errors and losses on it (a request
    without an answer on the target it was meant for)."""
    events = [e for e in document["events"] if e["kind"] in TICKED]
    rows = []
    for target, spans in sorted(document["timeline"].items()):
        ticks = [(e["at"], f"{e['kind']}: {e['detail']}") for e in events if _whose(e) == target]
        rows.append(
            (target, [(s["start"], s["end"], s["state"], s["build"]) for s in spans], ticks)
        )
    orphans = [
        (e["at"], f"{e['kind']}: {e['detail']}")
        for e in events
        if _whose(e) not in document["timeline"]
    ]
    if orphans:
        rows.append(("no target", [], orphans))
    markers = [(document["command_started_at"], "deploy starts")]
    if document["command_exit_code"] is not None:
        markers.append((document["command_ended_at"], f"exit {document['command_exit_code']}"))
    for window in document.get("mixed_windows", []):
        markers.append((window["start"], "two builds"))
    return charts.lanes(
        "Deploy timeline: each target's state and build",
        document["duration_seconds"],
        rows,
        markers,
    )


def _table(
    title: str, head: list[str], rows: list[list[Any]], none: str, intro: str = ""
) -> str:
    """A titled table (after `intro`, when given), every cell escaped."""
    out = [f"<h2>{escape(title)}</h2>", f"<p>{escape(intro)}</p>" if intro else ""]
    if not rows:
        return "".join([*out, f"<p>{escape(none)}</p>"])
    out.append("<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>")
    return "".join([*out, "</table>"])


def _stream_cells(row: dict[str, Any]) -> list[Any]:
    return [row.get(k, 0) for k in ("streams_closed", "streams_refused", "messages_lost")]


def _restart_row(r: dict[str, Any], streams: bool) -> list[Any]:
    back = "yes" if r["back"] else "no"
    where = [r["target"], r["how"], f"+{r['left_after']} s", back, r["replaced"] or "-"]
    cut = [r["errors_5xx"], r["no_response"], r["cut_in_flight"]]
    return [*where, *cut, *(_stream_cells(r) if streams else []), r["fault"]]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _streams_table(rt: dict[str, Any] | None) -> str:
    """Per target: what the streams on it delivered and lost, with the totals said above."""
    if not rt:
        return ""
    rows = [
        [t, r["delivered"], r["lost"], _ms((r.get("latency_ms") or {}).get("p95"))]
        for t, r in sorted((rt.get("targets") or {}).items())
    ]
    return _table(
        "Real-time streams",
        ["target", "delivered", "lost", "delivery p95 (ms)"],
        rows,
        "No message was delivered or lost.",
        intro=f"Streams: {streams_said(rt)}.",
    )


def _window_row(w: dict[str, Any]) -> list[Any]:
    builds = "; ".join(f"{b} on {', '.join(ts)}" for b, ts in w["builds"].items())
    found = "; ".join(w.get("problems") or []) or w.get("note") or "-"
    return [f"+{w['start']} to +{w['end']} s", builds, w["verdict"], found]


def sections(document: dict[str, Any]) -> str:
    """The departures while registered, the mixed-build windows and the end state, as HTML."""
    streams = bool(document.get("realtime"))
    restarts = [_restart_row(r, streams) for r in document.get("restarts", [])]
    windows = [_window_row(w) for w in document.get("mixed_windows", [])]
    end = document.get("end_state") or {}
    ends = [[t, r["state"], r["build"] or "?"] for t, r in (end.get("targets") or {}).items()]
    head = ["target", "how", "left after", "back", "replaced", "5xx", "no response", "cut"]
    head += STREAM_COLUMNS if streams else []
    return "".join(
        [
            _streams_table(document.get("realtime")),
            _table(
                "Stopped while registered",
                [*head, "finding"],
                restarts,
                "No target stopped or failed its health check while registered.",
            ),
            _table(
                "Two builds live (sessions probed across them)",
                ["window", "builds", "verdict", "found"],
                windows,
                "No two builds were live at once.",
            ),
            _table("At the end", ["target", "state", "build"], ends, "No target was seen."),
        ]
    )


def render(document: dict[str, Any]) -> str:
    jinja = Environment(
        loader=PackageLoader("harness.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    shown = [
        {**e, "target": e["target"] or (f"{e['intended']} (meant)" if e.get("intended") else None)}
        for e in document["events"]
        if e["kind"] != "move"
    ][:500]
    named = [{**t, "kind": t.get("what", t["kind"])} for t in document["transitions"]]
    return jinja.get_template("watch.html.j2").render(
        doc={**document, "transitions": named},
        # drawn here and by charts.py, every label escaped there
        chart=Markup(timeline_chart(document) + sections(document)),
        shown=shown,
        moves=sum(1 for e in document["events"] if e["kind"] == "move"),
    )


def write_watch_report(document: dict[str, Any], folder: Path) -> None:
    (folder / "watch.json").write_text(json.dumps(document, indent=1))
    (folder / "index.html").write_text(render(document), encoding="utf-8")
