"""HTTP status matchers as the ALB writes them: "200", "200,204" or "200-299"."""

from __future__ import annotations

STATUS_MATCHER = r"[1-5][0-9]{2}(-[1-5][0-9]{2})?(,[1-5][0-9]{2}(-[1-5][0-9]{2})?)*"


def status_matches(code: int, matcher: str) -> bool:
    """Whether `code` matches `matcher`: "200", "200,204" or "200-299"."""
    for part in matcher.split(","):
        low, _, high = part.strip().partition("-")
        if low.isdigit() and int(low) <= code <= int(high if high.isdigit() else low):
            return True
    return False


def matcher_of(expected: int | str | list[int]) -> str:
    """A step's `expect_status` (302, [200, 302] or "200-299") as one matcher."""
    if isinstance(expected, list):
        return ",".join(str(code) for code in expected)
    return str(expected)
