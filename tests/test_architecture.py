"""The layout the architecture page draws, kept by reading every module's imports.

The embedded replica is a provider among three: only the provider registry, the CLI and the
package's public names reach it; commands only compose stages, and nothing below them imports a
command or the CLI.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import harness

PACKAGE = Path(harness.__file__).parent
# who may import what: a module path prefix -> the modules allowed to import it
ONLY_FROM = {
    "harness.replica": ("harness.replica", "harness.cli", "harness.topology"),
    "harness.commands": ("harness.commands", "harness.cli"),
    "harness.cli": ("harness.cli",),
}
REGISTRY = "harness.topology"  # the package module itself: `PROVIDERS` names the modules


def _modules() -> dict[str, ast.Module]:
    """Every module of the package, the suites and the load profiles (shipped inside it)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(), str(path))
    for folder in ("suites", "load"):
        for path in sorted((PACKAGE.parent / folder).glob("*.py")):
            name = f"harness.{folder}" + ("" if path.stem == "__init__" else f".{path.stem}")
            found[name] = ast.parse(path.read_text(), str(path))
    return found


def _imports(tree: ast.Module) -> set[str]:
    """Every module an import statement names, at any depth (a lazy import counts too)."""
    named: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            named.add(node.module)
            named.update(f"{node.module}.{alias.name}" for alias in node.names)
    return named


def _inside(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_the_replica_commands_and_cli_are_imported_only_where_the_layout_says() -> None:
    wrong = []
    for module, tree in _modules().items():
        if module == "harness":  # the public names, resolved lazily on first use
            continue
        for imported in _imports(tree):
            for prefix, allowed in ONLY_FROM.items():
                if not _inside(imported, prefix):
                    continue
                if prefix == "harness.replica" and _inside(module, "harness.topology"):
                    ok = False  # the registry names the module as text, never imports it
                else:
                    ok = any(_inside(module, a) for a in allowed)
                if not ok:
                    wrong.append(f"{module} imports {imported}")
    assert sorted(set(wrong)) == []


def test_the_registry_names_the_replica_provider() -> None:
    from harness.topology import PROVIDERS, provider_class

    assert PROVIDERS["replica"].startswith("harness.replica.")
    assert provider_class("replica").ephemeral
    assert not provider_class("static").ephemeral and not provider_class("aws").ephemeral


def test_modules_import_each_other_without_a_circle() -> None:
    """At module level (what runs on import): in a circle no module can be read, or loaded,
    without the one that needs it back. A package's `__init__` naming its own parts is none."""
    modules = _modules()
    edges: dict[str, set[str]] = {}
    for module, tree in modules.items():
        for node in tree.body:  # module level only: a lazy import inside a function is none
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            for name in names:
                if name in modules and name != module and not _inside(name, module):
                    edges.setdefault(module, set()).add(name)
    circles = [(a, b) for a, targets in edges.items() for b in targets if _reaches(edges, b, a)]
    assert circles == []


def _reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    seen: set[str] = set()
    todo = [start]
    while todo:
        here = todo.pop()
        if here == goal:
            return True
        if here not in seen:
            seen.add(here)
            todo.extend(edges.get(here, ()))
    return False


def test_no_stage_reads_the_profile_as_a_mapping() -> None:
    """A profile's sections are typed (`harness.profile.sections`): outside `profile/` nothing
    reads the raw document, and mypy refuses a string key on a section."""
    reads = re.compile(r"\b(env|environment|reference)\.raw\b")
    wrong = [
        f"{path.relative_to(PACKAGE.parent)}:{n}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if "profile" not in path.relative_to(PACKAGE).parts[:1]
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if reads.search(line)
    ]
    assert wrong == []
