"""Prints the shape of the code: modules over 300 lines and functions over 40 lines.

Run: `.venv/bin/python benchmarks/code_shape.py [FOLDER ...]` (default: harness suites load).
"""

from __future__ import annotations

import ast
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE_LINES = 300
FUNCTION_LINES = 40


def functions(tree: ast.AST) -> list[tuple[str, int]]:
    """Every function in a module with its length in lines."""
    return [
        (node.name, (node.end_lineno or node.lineno) - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def main(folders: list[str]) -> int:
    long_modules: list[tuple[str, int]] = []
    long_functions: list[tuple[str, int]] = []
    lengths: list[int] = []
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text()
            where = str(path.relative_to(ROOT))
            lines = len(text.splitlines())
            if lines > MODULE_LINES:
                long_modules.append((where, lines))
            for name, length in functions(ast.parse(text, where)):
                lengths.append(length)
                if length > FUNCTION_LINES:
                    long_functions.append((f"{where}:{name}", length))
    print(f"functions: {len(lengths)}, median {statistics.median(lengths):.0f} lines")
    print(f"modules over {MODULE_LINES} lines: {len(long_modules)}")
    for where, lines in sorted(long_modules, key=lambda item: -item[1]):
        print(f"  {lines:4d}  {where}")
    print(f"functions over {FUNCTION_LINES} lines: {len(long_functions)}")
    for where, lines in sorted(long_functions, key=lambda item: -item[1]):
        print(f"  {lines:4d}  {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] or ["harness", "suites", "load"]))
