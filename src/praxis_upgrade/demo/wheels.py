"""Offline `fakedep` wheels, written by hand (no build backend, byte-identical on every run)."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tempfile
import zipfile
from pathlib import Path

FAKEDEP_VERSIONS = ("1.0", "2.0")


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def fakedep_wheel(version: str) -> tuple[str, bytes]:
    """(file name, bytes) of a pure-Python wheel `fakedep-<version>`."""
    dist = f"fakedep-{version}.dist-info"
    files = {
        "fakedep/__init__.py": f'"""Sandbox dependency of the stand-in prAxIs server."""\n\n'
        f'__version__ = "{version}"\n',
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: fakedep\nVersion: {version}\n"
        "Summary: sandbox stand-in dependency\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: praxis_upgrade.demo\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = (
        "".join(
            f"{name},{_record_hash(text.encode())},{len(text.encode())}\n"
            for name, text in files.items()
        )
        + f"{dist}/RECORD,,\n"
    )
    files[f"{dist}/RECORD"] = record
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text)
    return f"fakedep-{version}-py3-none-any.whl", buf.getvalue()


def build_fakedep_wheels(dest: Path) -> dict[str, Path]:
    """Write `fakedep-1.0` and `fakedep-2.0` wheels into `dest`; returns version -> wheel path.

    Install them offline with
    ``<venv>/bin/python -m pip install --no-index --find-links <dest> -r requirements.txt``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for version in FAKEDEP_VERSIONS:
        name, data = fakedep_wheel(version)
        path = dest / name
        if not path.is_file() or path.read_bytes() != data:
            fd, tmp = tempfile.mkstemp(
                dir=dest, prefix=f".{name}.", suffix=".tmp"
            )  # unique: concurrent callers
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        out[version] = path
    return out
