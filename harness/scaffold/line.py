"""One line of a profile `parity init` writes: `key: value  # where it came from`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml


class _PlainDumper(yaml.SafeDumper):
    """YAML without anchors and aliases (`&id001`, `*id001`): each value written out."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


@dataclass
class Line:
    """One line of the profile: `key: value  # comment`, or a comment alone."""

    indent: int
    key: str | None
    value: Any = None
    comment: str = ""

    def render(self) -> str:
        pad = "  " * self.indent
        if self.key is None:
            return f"{pad}# {self.comment}"
        note = f"  # {self.comment}" if self.comment else ""
        flow = json.dumps(self.value)
        if isinstance(self.value, dict) and len(flow) > 80:  # nested: as block YAML
            block = yaml.dump(
                self.value, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False
            )
            body = "\n".join(f"{pad}  {line}" for line in block.rstrip().splitlines())
            return f"{pad}{self.key}:{note}\n{body}"
        value = "" if self.value is None else " " + flow
        return f"{pad}{self.key}:{value}{note}"
