"""The public API: sorted, complete, every name importable, and `import harness` stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import harness


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert harness.__all__ == sorted(harness.__all__)
    for name in harness.__all__:
        assert getattr(harness, name) is not None, name


@pytest.mark.servers
def test_importing_harness_does_not_import_boto3_or_locust() -> None:
    code = (
        "import sys, harness; print(sorted(m for m in ('boto3', 'locust', 'flask') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
