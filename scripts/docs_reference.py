"""Writes the documentation's reference pages from the code: `python scripts/docs_reference.py`.

Each page is made from what the program itself uses, so the pages cannot drift from it: the CLI
from its argparse parser, the profile from its schema, the checks from their `@pytest.mark.parity`
marks, the faults from the replica's switches and the findings' names, the exit codes from the
commands' epilogs and the error classes, the environment variables from their table.
`--check` writes nothing and exits 1 naming every page that is not what the code makes.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import errors  # noqa: E402
from harness.cli.exits import EXITS  # noqa: E402
from harness.cli.main import build_parser  # noqa: E402
from harness.environment_variables import VARIABLES  # noqa: E402
from harness.findings import FIELD_FAULTS  # noqa: E402
from harness.profile.schema import PROFILE  # noqa: E402
from harness.profile.validation import ListOf, MapOf, Node, OneOf, ScalarOrSection, Section  # noqa: E402
from harness.replica.faults import ALB_ONLY, CADDY_CANNOT, FAULTS  # noqa: E402

REFERENCE = ROOT / "docs" / "reference"
SUITES = ROOT / "suites"
HEAD = "<!-- Made by scripts/docs_reference.py from the code: edit the code, then run it. -->\n\n"


def cell(text: object) -> str:
    """A value fit for one cell of a Markdown table."""
    return str(text).replace("|", "\\|").replace("\n", " ").strip() or "-"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table: the header, its rule, a line per row of cells already made."""
    def line(cells: Sequence[str]) -> str:
        return f"| {' | '.join(cells)} |\n"

    return line(header) + "|" + "---|" * len(header) + "\n" + "".join(line(r) for r in rows)


def first_paragraph(doc: str) -> str:
    """A docstring's first paragraph, on one line."""
    return " ".join(doc.strip().split("\n\n")[0].split())


def _commands(
    parser: argparse.ArgumentParser, words: list[str]
) -> Iterator[tuple[list[str], argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield [*words, name], child
                yield from _commands(child, [*words, name])


def _is_group(parser: argparse.ArgumentParser) -> bool:
    return any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)


def _flag_rows(parser: argparse.ArgumentParser) -> list[list[str]]:
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        name = ", ".join(f"`{s}`" for s in action.option_strings) or f"`{action.dest.upper()}`"
        allowed = ", ".join(f"`{c}`" for c in action.choices) if action.choices else ""
        default = action.default
        shown = "" if default in (None, False, argparse.SUPPRESS, []) else f"`{default}`"
        help_text = (action.help or "") % {"default": default} if action.help else ""
        rows.append([name, cell(help_text), cell(allowed), cell(shown)])
    return rows


def cli_page() -> str:
    """Every command and flag, from the parser `parity` runs."""
    parser = build_parser()
    out = [HEAD, "# Commands and flags\n\n", f"{cell(parser.description)}\n\n"]
    own = [row[:2] for row in _flag_rows(parser)]  # the command's own: the flag, what it does
    out.append(table(["flag", "what it does"], own) + "\n")
    for words, child in _commands(parser, []):
        out.append(f"## `parity {' '.join(words)}`\n\n")
        if child.description:
            out.append(f"{child.description.strip()}\n\n")
        usage = child.format_usage().replace("usage: ", "").strip()
        out.append(f"```text\n{' '.join(usage.split())}\n```\n\n")
        rows = _flag_rows(child)
        if rows and not _is_group(child):
            out.append(table(["flag", "what it does", "allowed", "default"], rows) + "\n")
        if child.epilog:
            out.append(f"{child.epilog.strip()}\n\n")
    return "".join(out)


def _fields(node: Node, path: str) -> Iterator[tuple[str, Node, bool, object]]:
    if isinstance(node, ScalarOrSection):
        node = node.section
    if isinstance(node, OneOf):
        for option in node.nodes:
            if isinstance(option, Section | ListOf):
                yield from _fields(option, path)
        return
    if isinstance(node, ListOf):
        yield from _fields(node.item, f"{path}[]")
        return
    if isinstance(node, MapOf):
        yield from _fields(node.value, f"{path}.<name>")
        return
    if not isinstance(node, Section):
        return
    for name, child in node.fields.items():
        where = f"{path}.{name}" if path else name
        yield where, child, name in node.required, node.defaults.get(name)
        yield from _fields(child, where)


def profile_page() -> str:
    """Every field of an environment profile, from the schema the loader validates with."""
    out = [
        HEAD,
        "# Profile fields\n\n",
        "Every field of `environments/<name>.yaml`, as `parity profile check` validates it. "
        "`a[]` is an item of the list `a`; `a.<name>` is any key of the map `a`. "
        "`parity profile schema` writes the same schema as JSON Schema, for editors.\n\n",
    ]
    seen: set[str] = set()
    rows = []
    for where, node, required, default in _fields(PROFILE, ""):
        if where in seen:
            continue
        seen.add(where)
        shown = "" if default in (None, {}, []) else f"`{default}`"
        rows.append([f"`{where}`", cell(node.describe()), "yes" if required else "", cell(shown)])
    out.append(table(["field", "allowed", "required", "default"], rows))
    return "".join(out)


def _marks(path: Path) -> Iterator[tuple[str, str, str]]:
    tree = ast.parse(path.read_text(), str(path))
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for deco in node.decorator_list:
            if isinstance(deco, ast.Call) and ast.unparse(deco.func) == "pytest.mark.parity":
                said = {k.arg: ast.literal_eval(k.value) for k in deco.keywords if k.arg}
                yield node.name, said["title"], said["why"]


def checks_page() -> str:
    """Every check with its title and why, from the suites' `@pytest.mark.parity` marks."""
    out = [
        HEAD,
        "# Checks\n\n",
        "Every check Parity runs, by suite (`parity check --suite NAME`; the `load` suite runs "
        "with `--with-load`), with the title the report shows and why it matters.\n\n",
    ]
    for path in sorted(SUITES.glob("test_*.py")):
        suite = path.stem.removeprefix("test_")
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        out.append(f"## `{suite}`\n\n{first_paragraph(doc)}\n\n")
        rows = [[f"`{suite}::{name}`", cell(title), cell(why)] for name, title, why in _marks(path)]
        out.append(table(["check", "title", "why"], rows) + "\n")
    return "".join(out)


def faults_page() -> str:
    """The field faults a finding names, and the replica's switches that make them."""
    out = [
        HEAD,
        "# Faults\n\n",
        "## Field faults\n\n",
        "Every finding starts `[fault] title: what was seen`. These are the faults a finding "
        "can name.\n\n",
        table(["fault", "title"], [[f"`{n}`", cell(t)] for n, t in sorted(FIELD_FAULTS.items())]),
    ]
    out.append(
        "\n## Fault switches of the replica\n\n"
        "`parity up --fault NAME [--faulty-instance N]`: each switch is a real misconfiguration "
        "of the embedded replica. The harness never reads them: the suites must find each fault "
        "from outside.\n\n"
    )
    rows = []
    for name, what in sorted(FAULTS.items()):
        cannot = "; ".join(
            f"{front}: {missing[name]}"
            for front, missing in (("caddy, nginx", ALB_ONLY), ("caddy", CADDY_CANNOT))
            if name in missing
        )
        rows.append([f"`{name}`", cell(what), cell(cannot)])
    out.append(table(["switch", "what it breaks", "front ends that cannot have it"], rows))
    return "".join(out)


def exit_codes_page() -> str:
    """Each command's exit codes, and the errors that make them."""
    out = [
        HEAD,
        "# Exit codes and errors\n\n",
        "0 passed, 1 a finding about the deployment (with its evidence), 2 bad usage, flag or "
        "profile (one line naming it), 3 the harness could not run. 130 and 143: interrupted by "
        "Ctrl-C or SIGTERM, after every drain was undone.\n\n",
        table(["command", "exit codes"], [[f"`parity {n}`", cell(t)] for n, t in EXITS.items()]),
    ]
    out.append(
        "\n## Errors\n\nEvery error is one line, `parity: error: ...`, naming the file, field "
        "or flag. A bug prints `parity: internal error: ...` and exits 3 (`PARITY_DEBUG=1` "
        "shows the traceback).\n\n"
    )
    rows = []
    for name in dir(errors):
        kind = getattr(errors, name)
        if isinstance(kind, type) and issubclass(kind, errors.ParityError):
            doc = first_paragraph(kind.__doc__ or "")
            rows.append([f"`{name}`", str(kind.exit_code), cell(doc)])
    out.append(table(["error", "exit", "when"], rows))
    return "".join(out)


def environment_page() -> str:
    """The environment variables Parity reads."""
    out = [
        HEAD,
        "# Environment variables\n\n",
        "Besides these, a profile's `${VAR}` reads any variable you name (a password, say).\n\n",
        table(["variable", "what it does"], [[f"`{n}`", cell(w)] for n, w in VARIABLES.items()]),
    ]
    return "".join(out)


PAGES: dict[str, Callable[[], str]] = {
    "cli.md": cli_page,
    "profile.md": profile_page,
    "checks.md": checks_page,
    "faults.md": faults_page,
    "exit-codes.md": exit_codes_page,
    "environment.md": environment_page,
}


def main(argv: list[str]) -> int:
    stale = []
    for name, make in PAGES.items():
        path = REFERENCE / name
        text = make()
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print(f"not what the code makes: {', '.join(stale)} (run scripts/docs_reference.py)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
