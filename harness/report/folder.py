"""A run's report folder: `reports/<stamp>/` with results.json, junit.xml, index.html and the
load evidence, and `reports/latest` pointing at the newest."""

from __future__ import annotations

import json
from pathlib import Path

from harness.report import html, junit
from harness.report.model import Results


def write_reports(results: Results, folder: Path) -> None:
    """Every report of one run, in its folder."""
    (folder / "results.json").write_text(json.dumps(results, indent=1))
    junit.write(results, folder / "junit.xml")
    html.write(results, folder / "index.html")
    if results["load"]:
        (folder / f"load-{results['load']['profile']}.json").write_text(
            json.dumps(results["load"], indent=1)
        )


def point_latest(report_dir: Path, stamp: str) -> None:
    """`reports/latest` -> the folder of this run."""
    latest = report_dir / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(stamp)
