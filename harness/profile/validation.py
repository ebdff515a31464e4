"""A small declarative schema for YAML profiles, with errors that name file, line and field."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import yaml

from harness.errors import ProfileError
from harness.printable import one_line

Path_ = tuple[str | int, ...]


MAX_VALUES = 20_000  # keys and items after YAML aliases are expanded; real profiles hold ~100
MAX_DEPTH = 40


def line_map(text: str, source: str = "<profile>") -> dict[Path_, int]:
    """The 1-based line of every key and list item in a YAML document, by its path. Aliases that
    expand past MAX_VALUES values (a "billion laughs") or nesting past MAX_DEPTH are refused."""
    lines: dict[Path_, int] = {}

    def walk(node: yaml.Node, path: Path_) -> None:
        if len(lines) >= MAX_VALUES or len(path) > MAX_DEPTH:
            what = "nests deeper than" if len(path) > MAX_DEPTH else "expands to more than"
            limit = MAX_DEPTH if len(path) > MAX_DEPTH else MAX_VALUES
            raise ProfileError(
                f"{source}:{node.start_mark.line + 1}: the YAML {what} {limit} values "
                "(aliases included); a profile needs far fewer"
            )
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                walk(value, child)
                lines[child] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return lines


@dataclass
class Context:
    """Where a value came from, for error messages."""

    source: str
    lines: dict[Path_, int]

    def fail(self, path: Path_, message: str) -> ProfileError:
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe, 1)
        name = one_line(".".join(str(p) for p in path)) or "(top level)"
        return ProfileError(f"{self.source}:{line}: {name}: {message}")


class Node:
    """A schema node: validates a value and returns it with defaults filled in."""

    def check(self, value: Any, path: Path_, ctx: Context) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        """This node as JSON Schema (draft 2020-12), for editors; generated, never hand-kept."""
        raise NotImplementedError


@dataclass
class Scalar(Node):
    types: tuple[type, ...]
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    pattern_text: str = ""

    def describe(self) -> str:
        if self.choices:
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.pattern:
            return self.pattern_text or f"a string matching {self.pattern}"
        names = " or ".join("a number" if t is float else _TYPE_NAMES[t] for t in self.types)
        if self.minimum is not None and self.maximum is not None:
            names += f" from {self.minimum:g} to {self.maximum:g}"
        elif self.minimum is not None:
            names += f" of at least {self.minimum:g}"
        return names

    def json_schema(self) -> dict[str, Any]:
        return _scalar_schema(self)

    def check(self, value: Any, path: Path_, ctx: Context) -> Any:
        if int in self.types and isinstance(value, float) and value.is_integer():
            value = int(value)  # 2.0 is the integer 2, as JSON Schema counts it
        ok_type = any(_is(value, t) for t in self.types)
        ok_choice = not self.choices or value in self.choices
        in_range = (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or (
                (self.minimum is None or value >= self.minimum)
                and (self.maximum is None or value <= self.maximum)
            )
        )
        matches = not self.pattern or (
            isinstance(value, str) and re.fullmatch(self.pattern, value) is not None
        )
        if not (ok_type and ok_choice and in_range and matches):
            raise ctx.fail(path, f"got {value!r}; allowed: {self.describe()}")
        return value


def _scalar_schema(node: Scalar) -> dict[str, Any]:
    names = {str: "string", bool: "boolean", int: "integer", float: "number", date: "string"}
    kinds = sorted({names[k] for k in node.types if k in names})
    schema: dict[str, Any] = {"type": kinds[0] if len(kinds) == 1 else kinds}
    if date in node.types:
        schema["format"] = "date"
    if node.choices:
        schema["enum"] = list(node.choices)
    if node.minimum is not None:
        schema["minimum"] = node.minimum
    if node.maximum is not None:
        schema["maximum"] = node.maximum
    if node.pattern:  # ${VAR} is checked after interpolation
        schema["pattern"] = f"^(?:{node.pattern})$|\\$\\{{"
    schema["description"] = node.describe()
    return schema


@dataclass
class Url(Node):
    """A URL with one of the given schemes and a host (`unix://` takes a path instead)."""

    schemes: tuple[str, ...]

    def describe(self) -> str:
        return "a URL starting with " + " or ".join(f"{s}://" for s in self.schemes)

    def json_schema(self) -> dict[str, Any]:
        schemes = "|".join(self.schemes)
        pattern = f"^(?:{schemes})://|\\$\\{{"
        return {"type": "string", "pattern": pattern, "description": self.describe()}

    def check(self, value: Any, path: Path_, ctx: Context) -> Any:
        parts = urlsplit(value) if isinstance(value, str) else None
        if (
            parts is None
            or parts.scheme not in self.schemes
            or not (parts.hostname or (parts.scheme == "unix" and parts.path))
        ):
            raise ctx.fail(path, f"got {value!r}; allowed: {self.describe()}")
        try:
            parts.port  # noqa: B018 (a port that is not a number raises here)
        except ValueError as exc:
            raise ctx.fail(path, f"got {value!r}: {exc}") from exc
        return value


_TYPE_NAMES = {
    str: "a string",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    dict: "a mapping",
    list: "a list",
    date: "a date (YYYY-MM-DD)",
}


def _is(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is date:  # a YAML date, or its text after a round trip through JSON
        return isinstance(value, date) or _iso_date(value)
    return isinstance(value, kind)


def _iso_date(value: Any) -> bool:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


@dataclass
class Free(Node):
    """Any YAML value (a request body, say)."""

    def describe(self) -> str:
        return "any value"

    def json_schema(self) -> dict[str, Any]:
        return {"description": self.describe()}

    def check(self, value: Any, path: Path_, ctx: Context) -> Any:
        return value


@dataclass
class ListOf(Node):
    item: Node

    def describe(self) -> str:
        return f"a list of {self.item.describe()}"

    def json_schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.json_schema()}

    def check(self, value: Any, path: Path_, ctx: Context) -> Any:
        if not isinstance(value, list):
            raise ctx.fail(path, f"got {value!r}; allowed: {self.describe()}")
        return [self.item.check(v, (*path, i), ctx) for i, v in enumerate(value)]


@dataclass
class MapOf(Node):
    """A mapping with free keys (headers, say) and values of one kind."""

    value: Node

    def describe(self) -> str:
        return f"a mapping of names to {self.value.describe()}"

    def json_schema(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": self.value.json_schema()}

    def check(self, value: Any, path: Path_, ctx: Context) -> Any:
        if not isinstance(value, dict):
            raise ctx.fail(path, f"got {value!r}; allowed: {self.describe()}")
        return {str(k): self.value.check(v, (*path, str(k)), ctx) for k, v in value.items()}


@dataclass
class Section(Node):
    """A mapping with known keys; unknown keys are errors naming the allowed ones."""

    fields: dict[str, Node]
    required: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return "a mapping with keys " + ", ".join(self.fields)

    def json_schema(self) -> dict[str, Any]:
        """An object with these keys only; an optional key may be null (it counts as absent)."""
        properties = {
            key: node.json_schema()
            if key in self.required
            else {"anyOf": [node.json_schema(), {"type": "null"}]}
            for key, node in self.fields.items()
        }
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        if self.required:
            schema["required"] = list(self.required)
        return schema

    def check(self, value: Any, path: Path_, ctx: Context) -> Any:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ctx.fail(path, f"got {value!r}; allowed: {self.describe()}")
        for key in value:
            if key not in self.fields:
                allowed = ", ".join(sorted(self.fields))
                raise ctx.fail((*path, str(key)), f"unknown key; allowed here: {allowed}")
        for key in self.required:
            if value.get(key) is None:
                raise ctx.fail((*path, key), f"missing; expected {self.fields[key].describe()}")
        out: dict[str, Any] = {}
        for key, node in self.fields.items():
            if value.get(key) is not None:
                out[key] = node.check(value[key], (*path, key), ctx)
            elif key in self.defaults:
                out[key] = self.defaults[key]
            elif isinstance(node, Section):  # an absent section: its defaults, if it can have any
                out[key] = None if node.required else node.check({}, (*path, key), ctx)
        return out


@dataclass
class ScalarOrSection(Node):
    """A scalar or a mapping with known keys (`targets: 2`, `targets: {min: 2, max: 10}`)."""

    scalar: Scalar
    section: Section
    note: str = ""  # what the section's keys must be, in words

    def describe(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"{self.scalar.describe()}, or {self.section.describe()}{note}"

    def json_schema(self) -> dict[str, Any]:
        return {
            "anyOf": [self.scalar.json_schema(), self.section.json_schema()],
            "description": self.describe(),
        }

    def check(self, value: Any, path: Path_, ctx: Context) -> Any:
        if isinstance(value, dict):
            return self.section.check(value, path, ctx)
        try:
            return self.scalar.check(value, path, ctx)
        except ProfileError:
            raise ctx.fail(path, f"got {value!r}; allowed: {self.describe()}") from None


@dataclass
class OneOf(Node):
    """The first of several shapes that fits (`expect_status: 302`, `[200, 302]`, `"200-299"`;
    a step as one request or a list of them). A mapping goes to the first node that takes one,
    so its own errors name the field that is wrong."""

    nodes: tuple[Node, ...]

    def describe(self) -> str:
        return ", or ".join(n.describe() for n in self.nodes)

    def json_schema(self) -> dict[str, Any]:
        return {"anyOf": [n.json_schema() for n in self.nodes], "description": self.describe()}

    def check(self, value: Any, path: Path_, ctx: Context) -> Any:
        for node in self.nodes:
            takes_mapping = isinstance(node, Section | MapOf)
            takes_list = isinstance(node, ListOf)
            if isinstance(value, dict) and takes_mapping:
                return node.check(value, path, ctx)
            if isinstance(value, list) and takes_list:
                return node.check(value, path, ctx)
            if not isinstance(value, dict | list) and not (takes_mapping or takes_list):
                try:
                    return node.check(value, path, ctx)
                except ProfileError:
                    continue
        raise ctx.fail(path, f"got {value!r}; allowed: {self.describe()}")
