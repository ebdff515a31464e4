"""Reading a results.json back (`parity report`): its shape checked, each fault named by field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from harness.errors import UsageError
from harness.report.model import Results

VERDICTS = ("passed", "failed", "error", "no-check-ran")
OUTCOMES = ("passed", "failed", "error", "skipped", "accepted")
NUMBER = (int, float)
CHECK_FIELDS: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "suite": (str,),
    "name": (str,),
    "duration": NUMBER,
    "message": (str,),
    "evidence": (dict,),
}
GATE_FIELDS: dict[str, tuple[type, ...]] = {
    "gate": (str,),
    "value": (*NUMBER, type(None)),
    "passed": (bool, type(None)),
}
TOP_FIELDS: dict[str, tuple[type, ...]] = {
    "checks": (list,),
    "environment": (dict,),
    "run": (dict,),
    "topology": (dict,),
}


def _kind(types: tuple[type, ...]) -> str:
    names = {"str": "a string", "dict": "an object", "list": "a list", "bool": "true or false"}
    return " or ".join(names.get(t.__name__, "a number") for t in types)


def _fields(where: str, value: Any, fields: dict[str, tuple[type, ...]], fail: Any) -> None:
    if not isinstance(value, dict):
        fail(where, "must be an object")
    for key, types in fields.items():
        got = value.get(key)
        if not isinstance(got, types) or (isinstance(got, bool) and bool not in types):
            fail(f"{where}.{key}" if where else key, f"must be {_kind(types)}")


def check_shape(doc: Any, source: str) -> Results:
    """The document as Results, or a UsageError naming the first field that is wrong."""

    def fail(field: str, problem: str) -> None:
        raise UsageError(
            f"{source}: {field or 'the document'} {problem} (a results.json of parity check)"
        )

    _fields("", doc, TOP_FIELDS, fail)
    if doc.get("verdict") not in VERDICTS:
        fail("verdict", f"must be one of {', '.join(VERDICTS)}")
    for i, check in enumerate(doc["checks"]):
        _fields(f"checks[{i}]", check, CHECK_FIELDS, fail)
        if check.get("outcome") not in OUTCOMES:
            fail(f"checks[{i}].outcome", f"must be one of {', '.join(OUTCOMES)}")
    if not isinstance(doc["environment"].get("name"), str):
        fail("environment.name", "must be a string")
    _fields("topology", doc["topology"], {"load_balancer": (dict,), "target_groups": (list,)}, fail)
    _fields(
        "topology.load_balancer", doc["topology"]["load_balancer"], {"listeners": (list,)}, fail
    )
    load = doc.get("load")
    if load is not None:
        _fields("load", load, {"gates": (list,), "evidence": (dict,)}, fail)
        for i, gate in enumerate(load["gates"]):
            _fields(f"load.gates[{i}]", gate, GATE_FIELDS, fail)
    if doc.get("diff") is not None:
        _fields("diff", doc["diff"], {"unexpected": (list,), "differences": (list,)}, fail)
    return cast(Results, doc)


def read_results(path: Path) -> Results:
    """results.json from disk, its shape checked."""
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it: {exc.strerror}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a results.json written by parity check ({exc})") from exc
    return check_shape(doc, str(path))
