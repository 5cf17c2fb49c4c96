"""Self-signed certificates for tests (openssl, one day, RSA 2048): each is its own CA."""

from __future__ import annotations

import subprocess
from pathlib import Path


def self_signed(
    directory: Path,
    name: str,
    *,
    san: str = "IP:127.0.0.1,DNS:localhost",
    key_file: str | None = None,
    cert_file: str | None = None,
) -> tuple[Path, Path]:
    """Write ``<name>.key`` and ``<name>.pem`` (or the given file names) for subject
    ``CN=<name>`` and the subjectAltName ``san``; return (key path, certificate path)."""
    key = directory / (key_file or f"{name}.key")
    cert = directory / (cert_file or f"{name}.pem")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert),
            "-subj", f"/CN={name}", "-addext", f"subjectAltName={san}",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return key, cert
