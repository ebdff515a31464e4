"""A self-signed certificate for the local ALB's HTTPS listener, made at start-up."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from harness.errors import ReplicaError


def make_certificate(work_dir: Path) -> Path:
    """Write `alb.pem` (certificate + key, as HAProxy wants it) for localhost and 127.0.0.1."""
    key, cert, pem = work_dir / "alb.key", work_dir / "alb.crt", work_dir / "alb.pem"
    argv = [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "7",
        "-subj",
        "/CN=localhost",
        "-keyout",
        str(key),
        "-out",
        str(cert),
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise ReplicaError(f"openssl could not make the HTTPS certificate: {last}")
    key.chmod(0o600)
    fd = os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # never readable by others
    with os.fdopen(fd, "w") as out:
        out.write(cert.read_text() + key.read_text())
    return pem
