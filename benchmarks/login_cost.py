"""Benchmark: what a slow login costs the gate (issue 24: within 1.5x of its time with a 5 ms
login). A Django stack (tests/stacks) with its MD5 hasher (a login of a few ms), then with
Django's PBKDF2 at the iteration count that costs about 300 ms here; `parity check` with
Django's own login form recipe on each, RUNS times. Prints the login times, the gate's wall
times, their ratio and the logins each run made.

Run: .venv/bin/python benchmarks/login_cost.py [RUNS] [LOGIN_MS]
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import parity  # noqa: E402
from tests.stacks.django_stack import (  # noqa: E402
    DJANGO_KEY,
    FORMS_RECIPE,
    USERNAME,
    DjangoStack,
    django_stack,
)

ACCEPT = (  # Django saves the whole session: a lost update the team accepted
    "accept:\n  - {fault: lost-update, reason: whole-session saves, until: 2099-01-01}\n"
)


def iterations_for(seconds: float) -> int:
    """PBKDF2-SHA256 iterations that take `seconds` on this machine."""
    probe = 200_000
    began = time.perf_counter()
    hashlib.pbkdf2_hmac("sha256", b"password", b"salt", probe)
    return max(1000, int(probe * seconds / (time.perf_counter() - began)))


def login_ms(stack: DjangoStack) -> float:
    """The median time of the form's POST (the password check), over three logins."""
    times = []
    for _ in range(3):
        client = requests.Session()
        page = client.get(stack.url + "/accounts/login/", timeout=10).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        form = {"username": USERNAME, "password": stack.password,
                "csrfmiddlewaretoken": token.group(1) if token else ""}  # fmt: skip
        began = time.perf_counter()
        client.post(stack.url + "/accounts/login/", data=form, allow_redirects=False, timeout=30)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def gate(work: Path, iterations: int | None, runs: int) -> tuple[float, list[float], list[int]]:
    with django_stack(work / "stack", pbkdf2_iterations=iterations) as stack:
        login = login_ms(stack)
        profile = stack.profile(work / "django.yaml", key=DJANGO_KEY, extra=ACCEPT,
                                recipe=FORMS_RECIPE)  # fmt: skip
        walls, logins = [], []
        for n in range(runs):
            reports = work / f"reports-{n}"
            began = time.perf_counter()
            done = parity(work / "home", "check", "--env-file", str(profile),
                          "--report-dir", str(reports), env=stack.env())  # fmt: skip
            walls.append(time.perf_counter() - began)
            if done.returncode != 0:
                raise SystemExit(f"the gate failed: {done.stdout[-2000:]}")
            results = json.loads((reports / "latest" / "results.json").read_text())
            logins.append(int(results["sessions"]["made"]))
    return login, walls, logins


def main(runs: int, slow_ms: float) -> None:
    iterations = iterations_for(slow_ms / 1000)
    with tempfile.TemporaryDirectory() as folder:
        fast = gate(Path(folder) / "fast", None, runs)
        slow = gate(Path(folder) / "slow", iterations, runs)
    for name, (login, walls, logins) in (("fast", fast), ("slow", slow)):
        print(f"{name}: login {login:.0f} ms; parity check {statistics.median(walls):.1f} s "
              f"median of {[round(w, 1) for w in walls]}; logins per run {logins}")  # fmt: skip
    ratio = statistics.median(slow[1]) / statistics.median(fast[1])
    print(f"PBKDF2 iterations {iterations}; gate time ratio slow/fast: {ratio:.2f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(int(args[0]) if args else 3, float(args[1]) if len(args) > 1 else 300)
