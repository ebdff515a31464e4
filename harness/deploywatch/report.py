"""The watch's report: watch.json and a self-contained index.html with the deploy timeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from harness.report import charts

TICKED = ("5xx", "no-response", "cut-in-flight", "session-loss", "sticky-violation")


def timeline_chart(document: dict[str, Any]) -> str:
    """Each target's state and build over time, with its errors and losses on it."""
    events = document["events"]
    rows = []
    for target, spans in sorted(document["timeline"].items()):
        ticks = [
            (e["at"], f"{e['kind']}: {e['detail']}")
            for e in events
            if e["target"] == target and e["kind"] in TICKED
        ]
        rows.append(
            (target, [(s["start"], s["end"], s["state"], s["build"]) for s in spans], ticks)
        )
    orphans = [
        (e["at"], f"{e['kind']}: {e['detail']}")
        for e in events
        if e["target"] not in document["timeline"] and e["kind"] in TICKED
    ]
    if orphans:
        rows.append(("no target", [], orphans))
    markers = [(document["command_started_at"], "deploy starts")]
    if document["command_exit_code"] is not None:
        markers.append((document["command_ended_at"], f"exit {document['command_exit_code']}"))
    return charts.lanes(
        "Deploy timeline: each target's state and build",
        document["duration_seconds"],
        rows,
        markers,
    )


def render(document: dict[str, Any]) -> str:
    jinja = Environment(
        loader=PackageLoader("harness.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    return jinja.get_template(
        "watch.html.j2"
    ).render(
        doc=document,
        chart=Markup(timeline_chart(document)),  # drawn by charts.py, labels escaped there
        shown=[e for e in document["events"] if e["kind"] != "move"][:500],
        moves=sum(1 for e in document["events"] if e["kind"] == "move"),
    )


def write_watch_report(document: dict[str, Any], folder: Path) -> None:
    (folder / "watch.json").write_text(json.dumps(document, indent=1))
    (folder / "index.html").write_text(render(document), encoding="utf-8")
