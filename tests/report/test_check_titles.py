"""Every check a release manager reads has a one-line title and a why, beside the test."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _checks() -> list[tuple[str, ast.FunctionDef]]:
    found = []
    for path in sorted((ROOT / "suites").glob("test_*.py")):
        tree = ast.parse(path.read_text())
        found += [(path.stem, n) for n in tree.body if isinstance(n, ast.FunctionDef)
                  and n.name.startswith("test_")]  # fmt: skip
    return found


def _described(node: ast.FunctionDef) -> dict[str, str]:
    for deco in node.decorator_list:
        if (
            isinstance(deco, ast.Call)
            and isinstance(deco.func, ast.Attribute)
            and deco.func.attr == "parity"
        ):
            return {k.arg: ast.literal_eval(k.value) for k in deco.keywords if k.arg}
    return {}


def test_every_check_has_a_title_and_a_why() -> None:
    checks = _checks()
    assert len(checks) >= 23
    for suite, node in checks:
        described = _described(node)
        title, why = described.get("title", ""), described.get("why", "")
        assert title and len(title) <= 62 and "\n" not in title, (suite, node.name, title)
        assert why.endswith(".") and len(why) <= 120, (suite, node.name, why)
    titles = [_described(n)["title"] for _, n in checks]
    assert len(set(titles)) == len(titles), "two checks share a title"
