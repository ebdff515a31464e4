"""Redaction: secrets never reach a report, whatever text carries them."""

from __future__ import annotations

import re
from typing import Any

MASK = "<redacted>"
PATTERNS = [
    re.compile(
        r"(?i)\b(AWSALB[A-Z]*|session|sessionid|csrftoken|JSESSIONID)=(?!<redacted>)[^;\s,'\"<]+"
    ),
    re.compile(  # a Cookie header's pairs (name=value...): a sentence about a cookie is kept
        r"(?i)(?<![\w-])(authorization|x-api-key|cookie(?=\"?\s*[:=]\s*\"?[^\s=;\"',]+=))"
        r"(\"?\s*[:=]\s*\"?)(?!<redacted>)[^\n\"']+"
    ),
    re.compile(r"(?i)(password|passwd|secret|token)(\"?\s*[:=]\s*\"?)(?!<redacted>)[^\s\"',;}]+"),
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(r"(?i)(aws_secret_access_key\"?\s*[:=]\s*\"?)[A-Za-z0-9/+=]{40}"),
    re.compile(r"(redis|rediss)://([^:@/\s]*):([^@/\s]+)@"),
]


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask cookie values, passwords, tokens, Authorization headers, AWS keys and known secrets."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, MASK)
    text = PATTERNS[0].sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = PATTERNS[2].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = PATTERNS[3].sub(MASK, text)
    text = PATTERNS[4].sub(lambda m: f"{m.group(1)}{MASK}", text)
    return PATTERNS[5].sub(lambda m: f"{m.group(1)}://{m.group(2)}:{MASK}@", text)


def redact(value: Any, secrets: tuple[str, ...] = ()) -> Any:
    """The same structure with every string redacted."""
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, secrets) for v in value]
    return value
