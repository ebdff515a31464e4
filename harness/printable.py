"""Text from servers made safe for a terminal and for XML.

Instance ids, bodies, build strings and error tails come from the deployment: an ESC or BEL in
them must not reach a terminal (window titles, screen clears), nor a character XML 1.0 forbids
reach junit.xml. Each such character is shown as its escape, so the evidence stays readable.
"""

from __future__ import annotations

import re

# control characters but tab and newline, and the Unicode line and paragraph separators
_TERMINAL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_XML = re.compile(r"[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control character but tab and newline shown as its escape."""
    return _TERMINAL.sub(_escape, text)


def one_line(text: str) -> str:
    """`text` with every control character, newline and tab included, shown as its escape."""
    return _ANY_CONTROL.sub(_escape, text)


def xml_safe(text: str) -> str:
    """`text` with every character XML 1.0 forbids (and C1 controls) shown as its escape."""
    return _TERMINAL.sub(_escape, _XML.sub(_escape, text))
