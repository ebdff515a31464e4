"""The `servers` marker keeps `pytest -m "not servers"` free of servers: an unmarked test that
starts one fails at once, naming what it started (the guard in tests/conftest.py)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.conftest import starts_a_server

REFUSED = pytest.fail.Exception


def test_an_unmarked_test_that_starts_a_server_program_fails_naming_it() -> None:
    with pytest.raises(REFUSED, match=r"starts redis-server: mark it @pytest\.mark\.servers"):
        subprocess.Popen(["redis-server", "--version"])  # refused before it runs (it would exit)
    with pytest.raises(REFUSED, match=r"mark it @pytest\.mark\.servers"):
        subprocess.Popen([sys.executable, "-m", "http.server", "--help"])


def test_an_unmarked_test_that_listens_on_a_port_fails() -> None:
    with socket.socket() as sock, pytest.raises(REFUSED, match="listens on a port"):
        sock.bind(("127.0.0.1", 0))
        sock.listen()


def test_what_counts_as_starting_a_server() -> None:
    assert starts_a_server(["/usr/sbin/haproxy", "-f", "x.cfg"])
    assert starts_a_server([sys.executable, "-m", "gunicorn", "app:app"])
    assert not starts_a_server([sys.executable, "-m", "pytest", "--version"])
    assert not starts_a_server(["git", "status"])
    assert not starts_a_server([])


@pytest.mark.servers
def test_a_marked_test_may_listen() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert sock.getsockname()[1] > 0
