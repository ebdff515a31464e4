"""Parity as a user installs it: a wheel built from this checkout, pip-installed (no
dependencies) into a fresh venv whose dependencies come from the test venv through a .pth line,
so nothing is downloaded and no code of the checkout is importable there; and `run`, a command
from that venv's bin/ in a folder of the user's."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIP = (sys.executable, "-m", "pip")


def installed_venv(base: Path) -> Path:
    """A fresh venv under `base` with the wheel installed; its bin/ folder."""
    wheels = base / "wheels"
    # the build writes build/ and *.egg-info into the checkout: one xdist worker at a time
    with open(Path(tempfile.gettempdir()) / "parity-wheel-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # setuptools copies into build/lib and never removes what it copied before: a module
        # renamed since the last build would ship in the wheel under its old name too
        shutil.rmtree(ROOT / "build" / "lib", ignore_errors=True)
        build = ("wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT))
        subprocess.run(
            [*PIP, *build],
            check=True,
            capture_output=True,
        )
    fresh = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True)
    python = fresh / "bin" / "python"
    wheel = next(wheels.glob("parity-*.whl"))
    subprocess.run(
        [*PIP, "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "zz_parity_dependencies.pth").write_text(sysconfig.get_paths()["purelib"])
    return fresh / "bin"


def run(
    bin_dir: Path, cwd: Path, *argv: str, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`argv` run in `cwd` with the venv's bin/ first on PATH, its own PARITY_HOME, `env` added."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PARITY_"))}
    clean.update(PARITY_HOME=str(cwd / ".parity-home"), PATH=f"{bin_dir}:{clean.get('PATH', '')}")
    return subprocess.run(
        list(argv),
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
