"""Multi-request recipe steps (issue 24): a step is one request or several in turn; values one
extracts (an HTML form field or <meta>, a cookie, JSON, a header, a regex) fill the next; a
cookie is sent as a header with {cookie:NAME}; expect_status is a code, a list or a range; and a
placeholder nothing defines is refused before anything is sent, naming step and placeholder."""

from __future__ import annotations

import pytest

from harness.errors import ProfileError
from harness.profile.environment import parse_profile
from harness.statuses import matcher_of, status_matches
from harness.traffic.contract import _Context, fill, html_fields, placeholders

BASE = "name: r\ntopology: {provider: replica}\nsession:\n  cookie: sessionid\n"
READ = '  read: {method: GET, path: /notes, extract: {value: {json: "/data/{key}"}}}\n'
WRITE = '  write: {method: PUT, path: "/notes/{key}", json: {value: "{value}"}}\n'


def _profile(login: str, more: str = WRITE + READ) -> str:
    return BASE + login + more


def test_form_fields_and_meta_tags_are_read_by_name() -> None:
    page = (
        '<meta name="csrf-token" content="rails-token">'
        '<form><input type="hidden" name="csrfmiddlewaretoken" value="a&amp;b">'
        '<input name="_token" value="laravel"><input name="_token" value="second"></form>'
    )
    fields = html_fields(page)
    assert fields.inputs == {"csrfmiddlewaretoken": "a&b", "_token": "laravel"}
    assert fields.metas == {"csrf-token": "rails-token"}


def test_expect_status_is_a_code_a_list_or_a_range() -> None:
    assert status_matches(302, matcher_of(302)) and not status_matches(200, matcher_of(302))
    assert status_matches(204, matcher_of([200, 204])) and not status_matches(201, "200,204")
    assert status_matches(299, matcher_of("200-299")) and not status_matches(300, "200-299")


def test_cookie_placeholders_read_the_clients_jar_when_sent() -> None:
    class Client:  # the part of a Transport a placeholder reads: its cookie jar
        def cookie(self, name: str) -> str | None:
            return {"XSRF-TOKEN": "from-the-jar"}.get(name)

    values = _Context({"csrf": "extracted"}, Client())  # type: ignore[arg-type]
    sent = fill({"X-XSRF-TOKEN": "{cookie:XSRF-TOKEN}", "X-CSRF": "{csrf}"}, values)
    assert sent == {"X-XSRF-TOKEN": "from-the-jar", "X-CSRF": "extracted"}
    assert fill("{cookie:absent}", values) == "{cookie:absent}"  # refused when sent (below)
    assert placeholders({"a": ["{x}", "{cookie:csrftoken} {1,3}"]}) == ["x", "cookie:csrftoken"]


def test_what_any_step_extracts_serves_the_later_ones_and_graphql_goes_as_it_is() -> None:
    """Regressions the rule must not bring: a value a write extracts used by the read (it stays
    with the client, as before), and a GraphQL query whose braces are no placeholders."""
    login = '  login: {method: POST, path: /graphql, json: {query: "{me{id}}"}}\n'
    write = '  write: {method: POST, path: /notes, extract: {note: {json: /id}}}\n'
    read = '  read: {method: GET, path: "/notes/{note}", extract: {value: {json: /v}}}\n'
    parse_profile(_profile(login, write + read), "graphql.yaml")


def test_a_multi_request_login_with_a_form_token_is_a_valid_profile() -> None:
    login = (
        "  login:\n"
        "    - {method: GET, path: /accounts/login/, "
        "extract: {csrf: {form_field: csrfmiddlewaretoken}}}\n"
        '    - {method: POST, path: /accounts/login/, form: {csrfmiddlewaretoken: "{csrf}", '
        'username: "{username}"}, expect_status: [302, 303], follow_redirects: false}\n'
    )
    env = parse_profile(_profile(login), "django.yaml")
    steps = env.session.recipe["login"]  # type: ignore[union-attr]
    assert [s["method"] for s in steps] == ["GET", "POST"]
    assert steps[1]["follow_redirects"] is False and steps[0]["follow_redirects"] is True


@pytest.mark.parametrize(
    ("login", "where", "name"),
    [
        (  # the token sent literally as "{csrf}": nothing extracts it
            '  login: {method: POST, path: /login, form: {token: "{csrf}"}}\n',
            "django.yaml:5: session.login.form",
            "{csrf}",
        ),
        (  # extracted by a later request is too late
            "  login:\n"
            '    - {method: POST, path: /login, form: {token: "{csrf}"}}\n'
            "    - {method: GET, path: /login, extract: {csrf: {meta: csrf-token}}}\n",
            "django.yaml:6: session.login.0.form",
            "{csrf}",
        ),
        (
            '  login: {method: POST, path: /login, json: {user: "{usrname}"}}\n',
            "django.yaml:5: session.login.json",
            "{usrname}",
        ),
    ],
)
def test_a_placeholder_nothing_defines_is_refused_naming_step_and_placeholder(
    login: str, where: str, name: str
) -> None:
    with pytest.raises(ProfileError) as raised:
        parse_profile(_profile(login), "django.yaml")
    text = str(raised.value)
    assert text.startswith(where) and f"placeholder {name} is defined nowhere" in text, text


def test_a_token_the_login_extracts_may_be_used_by_every_later_step() -> None:
    login = (
        "  login:\n"
        "    - {method: GET, path: /login, extract: {csrf: {meta: csrf-token}}}\n"
        '    - {method: POST, path: /login, form: {authenticity_token: "{csrf}"}}\n'
    )
    logout = '  logout: {method: DELETE, path: /logout, headers: {X-CSRF-Token: "{csrf}"}}\n'
    parse_profile(_profile(login, WRITE + READ + logout), "rails.yaml")


def test_a_bad_expect_status_names_what_is_allowed() -> None:
    login = '  login: {method: POST, path: /login, expect_status: "2xx"}\n'
    allowed = r"session\.login\.expect_status: got .2xx.; allowed: an integer"
    with pytest.raises(ProfileError, match=allowed):
        parse_profile(_profile(login), "x.yaml")


def test_an_answer_keeps_the_cookies_its_hops_set_and_did_not_delete() -> None:
    from datetime import timedelta

    from harness.traffic.answer import Answer

    answer = Answer(
        None,
        status_code=302,
        headers={},
        set_cookies=["a=1; Path=/", "b=2", "a=; Max-Age=0", "c=3", "b=4"],
        text="",
        elapsed=timedelta(0),
        url=None,
    )
    assert answer.cookies == {"b": "4", "c": "3"} and answer.status == 302 and answer.ok


def test_no_answer_at_all_is_not_ok_and_raises_for_its_status() -> None:
    """Locust's answer to a connection that failed has status 0: a driver's raise_for_status()
    must not take it for a success (a review found it did)."""
    from datetime import timedelta

    import requests as http

    from harness.traffic.answer import Answer

    none = Answer(None, status_code=0, headers={}, set_cookies=[], text="",
                  elapsed=timedelta(0), url="/x")  # fmt: skip
    assert not none.ok
    with pytest.raises(http.HTTPError, match="no answer"):
        none.raise_for_status()
