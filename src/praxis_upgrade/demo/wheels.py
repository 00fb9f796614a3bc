"""Offline wheels written by hand (no build backend, byte-identical on every run): the sandbox's
`fakedep`, and any small package a test installs into a venv."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

FAKEDEP_VERSIONS = ("1.0", "2.0")


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def wheel(
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    script: bool = False,
    script_body: str = "    print(__version__)\n",
    summary: str = "",
    doc: str = "",
    generator: str = "praxis_upgrade.demo",
) -> tuple[str, bytes]:
    """(file name, bytes) of a pure-Python wheel of package `name` (its ``__version__`` set).

    `requires` become ``Requires-Dist`` lines; `script` adds a console script `name` whose
    ``main()`` is `script_body` (indented; by default it prints the version).
    """
    dist = f"{name}-{version}.dist-info"
    body = f'"""{doc or name}"""\n\n__version__ = "{version}"\n'
    if script:
        body += "\n\ndef main():\n" + script_body
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += f"Summary: {summary}\n" if summary else ""
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {
        f"{name}/__init__.py": body,
        f"{dist}/METADATA": metadata,
        f"{dist}/WHEEL": f"Wheel-Version: 1.0\nGenerator: {generator}\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    if script:
        files[f"{dist}/entry_points.txt"] = f"[console_scripts]\n{name} = {name}:main\n"
    record = (
        "".join(
            f"{path},{_record_hash(text.encode())},{len(text.encode())}\n"
            for path, text in files.items()
        )
        + f"{dist}/RECORD,,\n"
    )
    files[f"{dist}/RECORD"] = record
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, text in files.items():
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text)
    return f"{name}-{version}-py3-none-any.whl", buf.getvalue()


def fakedep_wheel(version: str) -> tuple[str, bytes]:
    """(file name, bytes) of a pure-Python wheel `fakedep-<version>`."""
    return wheel(
        "fakedep",
        version,
        summary="sandbox stand-in dependency",
        doc="Sandbox dependency of the stand-in prAxIs server.",
    )


def write_wheel(dest: Path, name: str, data: bytes) -> Path:
    """Write a wheel into `dest` atomically, unless it already holds these bytes."""
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / name
    if not path.is_file() or path.read_bytes() != data:
        fd, tmp = tempfile.mkstemp(
            dir=dest, prefix=f".{name}.", suffix=".tmp"
        )  # concurrent callers
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    return path


def build_fakedep_wheels(dest: Path) -> dict[str, Path]:
    """Write `fakedep-1.0` and `fakedep-2.0` wheels into `dest`; returns version -> wheel path.

    Install them offline with
    ``<venv>/bin/python -m pip install --no-index --find-links <dest> -r requirements.txt``.
    """
    return {version: write_wheel(dest, *fakedep_wheel(version)) for version in FAKEDEP_VERSIONS}
