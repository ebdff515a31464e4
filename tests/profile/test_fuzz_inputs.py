"""Hypothesis against the command line: malformed profiles, results files and journals.

Each generated file is handed to the real CLI (`harness.cli.main`, in this process for speed;
tests/test_hardening.py runs the same cases as subprocesses). Every one must end with its exit
code (2 for a bad file, 1 for a journal with entries it could not undo), one line on stderr
that names the file and the field or line, no traceback, within a time bound.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import main

ROOT = Path(__file__).resolve().parents[2]
PROFILE: dict[str, Any] = yaml.safe_load((ROOT / "harness/profile/replica.yaml").read_text())
SECTIONS = ("expect", "session", "safety", "identity", "topology", "redis", "failover")
ODD_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40
)
WRONG = st.one_of(
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["a", "ü", "0"]), st.integers(), min_size=1, max_size=2),
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda f: not f.is_integer()),
)
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TIME_BOUND = 5.0


def _run(*argv: str) -> tuple[int, str, float]:
    err, out = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
    return code, err.getvalue(), time.monotonic() - started


def _one_line(stderr: str, *needles: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("parity: error: ") and "internal error" not in lines[0], stderr
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@st.composite
def broken_profiles(draw: st.DrawFn) -> tuple[Any, str]:
    """A profile with one fault that must be refused, and the field the error must name."""
    doc = copy.deepcopy(PROFILE)
    kind = draw(st.sampled_from(["unknown-key", "wrong-type", "not-a-section", "name", "top"]))
    section = draw(st.sampled_from(SECTIONS))
    if kind == "unknown-key":
        key = draw(ODD_TEXT.filter(lambda k: k not in doc[section] and k.strip() == k))
        doc[section] = {**doc[section], key: draw(WRONG)}
        return doc, section
    if kind == "wrong-type":
        doc["expect"]["targets"] = draw(st.one_of(ODD_TEXT, WRONG, st.booleans()))
        return doc, "expect.targets"
    if kind == "not-a-section":
        doc[section] = draw(st.one_of(st.lists(st.integers(), min_size=1), ODD_TEXT))
        return doc, section
    if kind == "name":
        doc["name"] = draw(ODD_TEXT.filter(lambda n: not n.isascii() or "/" in n or " " in n))
        return doc, "name"
    return draw(st.one_of(st.lists(st.integers()), ODD_TEXT)), "a profile is a mapping"


@FUZZ
@given(case=broken_profiles())
def test_malformed_profiles_are_exit_2_naming_file_and_field(
    tmp_path: Path, case: tuple[Any, str]
) -> None:
    doc, field = case
    path = tmp_path / "fuzzed.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    code, stderr, seconds = _run("profile", "check", str(path))
    assert code == 2, stderr
    _one_line(stderr, str(path))
    assert field.split(".")[0] in stderr or "mapping" in stderr, stderr
    assert seconds < TIME_BOUND


VALID_RESULTS: dict[str, Any] = {
    "parity_version": "0.1.0",
    "verdict": "passed",
    "verdict_reason": None,
    "exit_code": 0,
    "run": {"id": "x", "started": "", "finished": ""},
    "environment": {"name": "e", "provider": "replica", "source": "s", "url": "u"},
    "topology": {
        "entry_url": "http://127.0.0.1:1",
        "redis_url": None,
        "load_balancer": {"name": "lb", "kind": "application", "dns_name": "", "listeners": []},
        "target_groups": [],
    },
    "checks": [
        {
            "id": "suites/test_a.py::test_b",
            "suite": "a",
            "name": "test_b",
            "outcome": "passed",
            "duration": 0.1,
            "message": "",
            "evidence": {},
        }
    ],
    "load": None,
    "diff": None,
}


@st.composite
def broken_results(draw: st.DrawFn) -> tuple[Any, str]:
    doc = copy.deepcopy(VALID_RESULTS)
    kinds = ["drop", "wrong-top", "wrong-topology", "wrong-check", "outcome", "not-object"]
    kind = draw(st.sampled_from(kinds))
    if kind == "drop":
        key = draw(st.sampled_from(["checks", "environment", "run", "topology", "verdict"]))
        del doc[key]
        return doc, key
    if kind == "wrong-top":
        key = draw(st.sampled_from(["checks", "environment", "run", "topology"]))
        doc[key] = draw(st.one_of(st.integers(), ODD_TEXT, st.none()))
        return doc, key
    if kind == "wrong-topology":
        key = draw(st.sampled_from(["load_balancer", "target_groups"]))
        doc["topology"][key] = draw(st.one_of(st.integers(), ODD_TEXT, st.none()))
        return doc, f"topology.{key}"
    if kind == "wrong-check":
        key = draw(st.sampled_from(["id", "suite", "name", "duration", "message", "evidence"]))
        doc["checks"][0][key] = draw(st.one_of(st.none(), st.lists(st.integers())))
        return doc, f"checks[0].{key}"
    if kind == "outcome":
        doc["checks"][0]["outcome"] = draw(ODD_TEXT.filter(lambda o: o not in ("passed",)))
        return doc, "checks[0].outcome"
    return draw(st.one_of(st.lists(st.integers()), st.integers(), ODD_TEXT)), "document"


def test_the_valid_results_document_renders(tmp_path: Path) -> None:
    """The fuzz below starts from this document: it must itself be accepted."""
    path = tmp_path / "results.json"
    path.write_text(json.dumps(VALID_RESULTS))
    code, stderr, _ = _run("report", str(path), "--out", str(tmp_path / "out.html"))
    assert code == 0, stderr


@FUZZ
@given(case=broken_results())
def test_malformed_results_are_exit_2_naming_the_field(
    tmp_path: Path, case: tuple[Any, str]
) -> None:
    doc, field = case
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc))
    code, stderr, seconds = _run("report", str(path), "--out", str(tmp_path / "out.html"))
    assert code == 2, stderr
    _one_line(stderr, str(path), field)
    assert seconds < TIME_BOUND


JOURNAL_LINES = st.one_of(
    st.binary(min_size=1, max_size=60).filter(lambda b: b"\n" not in b and b.strip()),
    st.builds(lambda v: json.dumps(v).encode(), st.one_of(st.lists(st.integers()), st.integers())),
    st.builds(
        lambda action, target: json.dumps(
            {"event": "begin", "id": "f", "action": action, "target": target}
        ).encode(),
        ODD_TEXT,
        ODD_TEXT,
    ),
    st.builds(
        lambda kind: json.dumps({"event": kind, "id": "z"}).encode(),
        ODD_TEXT.filter(lambda k: k not in ("begin", "details", "end")),
    ),
)


@FUZZ
@given(lines=st.lists(JOURNAL_LINES, min_size=1, max_size=6))
def test_malformed_journals_are_reported_and_never_crash_restore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: list[bytes]
) -> None:
    home = tmp_path / f"home-{time.monotonic_ns()}"
    home.mkdir()
    (home / "journal.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    monkeypatch.setenv("PARITY_HOME", str(home))
    code, stderr, seconds = _run("restore")
    assert code == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert f"{home / 'journal.jsonl'}: line " in stderr
    assert "stayed undone" in stderr.strip().splitlines()[-1]
    assert seconds < TIME_BOUND
    assert os.environ["PARITY_HOME"] == str(home)
