"""JUnit XML for CI: one test case per check and per load gate, the evidence in the failure text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.printable import xml_safe
from harness.report.model import Results, gate_status


def write(results: Results, path: Path) -> Path:
    checks = results["checks"]
    load = results.get("load")
    gates = load["gates"] if load else []
    suite = ET.Element(
        "testsuite",
        name=xml_safe(f"parity {results['environment']['name']}"),
        tests=str(len(checks) + len(gates)),
        failures=str(
            sum(c["outcome"] == "failed" for c in checks) + sum(g["passed"] is False for g in gates)
        ),
        errors=str(sum(c["outcome"] == "error" for c in checks)),
        skipped=str(
            sum(c["outcome"] in ("skipped", "accepted") for c in checks)
            + sum(g["passed"] is None for g in gates)
        ),
        time=f"{results['run'].get('duration_seconds', 0):.1f}",
    )
    for check in checks:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"parity.{check['suite']}",
            name=xml_safe(check["name"]),
            time=f"{check['duration']:.3f}",
        )
        if check.get("title"):
            props = ET.SubElement(case, "properties")
            for key in ("title", "why"):
                ET.SubElement(props, "property", name=key, value=xml_safe(str(check.get(key, ""))))
        first = xml_safe((check["message"] or "").split("\n")[0][:300])
        if check["outcome"] in ("failed", "error"):
            node = ET.SubElement(
                case, "failure" if check["outcome"] == "failed" else "error", message=first
            )
            node.text = xml_safe(check["message"])
        elif check["outcome"] in ("skipped", "accepted"):  # accepted: "ACCEPTED until ...: why"
            ET.SubElement(case, "skipped", message=first)
    for gate in gates:
        case = ET.SubElement(suite, "testcase", classname="parity.load_gates", name=gate["gate"])
        said = xml_safe(f"{gate['gate']}: {gate_status(gate)}")
        if gate["passed"] is None:
            ET.SubElement(case, "skipped", message=said)
        elif not gate["passed"]:
            ET.SubElement(case, "failure", message=said).text = said
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path
