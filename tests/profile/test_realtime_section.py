"""The `realtime:` section: what it holds, and a one-line error for each way to get it wrong."""

from __future__ import annotations

import pytest

from harness.errors import ProfileError
from harness.profile.environment import parse_profile, replica_profile

BASE = """\
name: staging
url: https://staging.example.com
topology: {{provider: static, targets: [{{id: a, url: "http://10.0.0.1"}}]}}
{session}
realtime:
{realtime}
"""
SESSION = """\
session:
  cookie: session
  login: {method: POST, path: /login, json: {username: "{username}"}}
  write: {method: PUT, path: "/s/{key}", json: {value: "{value}"}}
  read: {method: GET, path: /s, extract: {value: {json: "/{key}"}}}"""


def _profile(realtime: str, session: str = SESSION, extra: str = "") -> str:
    return BASE.format(session=session, realtime=realtime) + extra


def test_the_replica_profile_describes_its_websocket_and_long_polling() -> None:
    realtime = replica_profile().realtime
    assert realtime is not None and realtime.protocol == "websocket"
    assert realtime.path == "/realtime/ws" and realtime.identity == "/instance"
    assert realtime.publish is not None and realtime.publish["path"] == "/realtime/publish"
    assert realtime.polling is not None and realtime.polling.polls == 10


def test_a_server_sent_events_endpoint_with_an_http_publish_loads() -> None:
    text = _profile(
        "  protocol: sse\n  path: /events\n  publish: {method: POST, path: /say, "
        'json: {text: "{message}"}}\n  delivery_within_seconds: 0.5'
    )
    realtime = parse_profile(text, "staging.yaml").realtime
    assert realtime is not None and realtime.protocol == "sse"
    assert realtime.delivery_within_seconds == 0.5 and realtime.polling is None


def test_a_profile_without_the_section_has_none() -> None:
    text = BASE.format(session=SESSION, realtime="").replace("realtime:\n", "")
    assert parse_profile(text, "staging.yaml").realtime is None


@pytest.mark.parametrize(
    ("realtime", "session", "expected"),
    [
        ("  protocol: mqtt\n  path: /ws\n  publish_frame: x", SESSION, "realtime.protocol"),
        ("  protocol: websocket\n  path: ws\n  publish_frame: x", SESSION, "realtime.path"),
        ("  protocol: websocket\n  path: /ws", SESSION, "give publish (an HTTP request)"),
        (
            "  protocol: websocket\n  path: /ws\n  publish_frame: x\n"
            "  publish: {method: POST, path: /p}",
            SESSION,
            "give publish (an HTTP request) or publish_frame",
        ),
        ("  protocol: sse\n  path: /e\n  publish_frame: x", SESSION, "realtime.publish_frame"),
        (
            "  protocol: sse\n  path: /e\n  subscribe: x\n  publish: {method: POST, path: /p}",
            SESSION,
            "realtime.subscribe",
        ),
        ("  protocol: websocket\n  path: /ws\n  publish_frame: x", "", "needs a session"),
        (
            "  protocol: websocket\n  path: /ws\n  publish_frame: x\n  delivery_within_seconds: 0",
            SESSION,
            "realtime.delivery_within_seconds",
        ),
        (
            "  protocol: websocket\n  path: /ws\n  publish_frame: x\n"
            "  polling: {handshake: {method: GET, path: /p}}",
            SESSION,
            "realtime.polling.poll",
        ),
    ],
)
def test_a_wrong_section_is_one_line_naming_the_field(
    realtime: str, session: str, expected: str
) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_profile(_profile(realtime, session), "staging.yaml")
    text = str(caught.value)
    assert expected in text and "\n" not in text and text.startswith("staging.yaml")


def test_a_json_identity_needs_a_pointer_into_the_hello() -> None:
    text = _profile(
        "  protocol: websocket\n  path: /ws\n  publish_frame: x", extra="identity: {json: /id}\n"
    )
    with pytest.raises(ProfileError, match=r"realtime\.identity"):
        parse_profile(text, "staging.yaml")
