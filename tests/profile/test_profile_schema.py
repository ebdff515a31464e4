"""The profile's JSON Schema (for editors) agrees with the validator Parity runs: both accept the
real profiles, both refuse generated broken ones; the shipped file is the generated one."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given

from harness.errors import ProfileError
from harness.profile.environment import parse_profile
from harness.profile.schema import profile_json_schema
from tests.helpers import parity
from tests.profile.test_fuzz_inputs import FUZZ, broken_profiles

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = jsonschema.Draft202012Validator(profile_json_schema())
PROFILES = sorted(
    [
        ROOT / "harness/profile/replica.yaml",
        *ROOT.glob("environments/*.yaml"),
        *list(ROOT.glob("examples/app-repo/environments/*.yaml")),
    ],
)


def test_the_shipped_schema_is_the_generated_one(tmp_path: Path) -> None:
    shipped = json.loads((ROOT / "harness/profile/profile.schema.json").read_text())
    assert shipped == profile_json_schema()
    done = parity(tmp_path, "profile", "schema", "--out", str(tmp_path / "s.json"))
    assert done.returncode == 0 and json.loads((tmp_path / "s.json").read_text()) == shipped


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_real_profiles_pass_both(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = path.read_text()
    for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text):  # a value of its kind
        monkeypatch.setenv(name, "redis://127.0.0.1:6379/0" if name.endswith("URL") else "x")
    VALIDATOR.validate(yaml.safe_load(text))
    parse_profile(text, str(path))


@FUZZ
@given(case=broken_profiles())
def test_broken_profiles_fail_both(case: tuple[Any, str]) -> None:
    doc, _ = case
    text = yaml.safe_dump(doc, allow_unicode=True)
    assert not VALIDATOR.is_valid(yaml.safe_load(text)), text[:400]
    with pytest.raises(ProfileError):
        parse_profile(text, "fuzzed.yaml")


def test_an_integral_float_is_an_integer_to_both() -> None:
    """Found by the test above: JSON Schema counts 2.0 as an integer; so does the validator."""
    text = (
        (ROOT / "harness/profile/replica.yaml")
        .read_text()
        .replace("targets: 2\n", "targets: 2.0\n")
    )
    assert VALIDATOR.is_valid(yaml.safe_load(text))
    assert parse_profile(text, "float.yaml").expect.targets == 2
    half = text.replace("targets: 2.0\n", "targets: 2.5\n")
    assert not VALIDATOR.is_valid(yaml.safe_load(half))
    with pytest.raises(ProfileError, match=r"expect\.targets: got 2\.5"):
        parse_profile(half, "half.yaml")
