"""Atomic writes: a reader sees the old file or directory, or the new one, never half of one."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import glob
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_RENAME_EXCHANGE = 2  # linux/fs.h


def default_mode(directory: bool) -> int:
    """The mode a plain open()/mkdir() would give: tempfile's private 0600/0700 is not wanted
    for results that other users (or a web server) must read."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A binary file handle on a temporary file beside `path`; when the block ends without an
    error the file is flushed to disk and renamed over `path`, else it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, default_mode(directory=False))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    fsync_directory(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it over."""
    with atomic_writer(path) as handle:
        handle.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step with Linux renameat2(RENAME_EXCHANGE); False if unsupported."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), _RENAME_EXCHANGE)
    return result == 0


def replace_directory(staging: Path, target: Path) -> None:
    """Put the finished directory `staging` in place of `target` (which may not exist yet)."""
    staging, target = Path(staging), Path(target)
    if not target.exists():
        os.rename(staging, target)
    elif _exchange(staging, target):
        shutil.rmtree(staging)  # now holds the previous version
    else:  # two renames; `restore_interrupted_replace` mends the gap between them
        backup = target.with_name(f".{target.name}.previous")
        if backup.exists():
            shutil.rmtree(backup)
        os.rename(target, backup)
        os.rename(staging, target)
        shutil.rmtree(backup)
    fsync_directory(target.parent)


def restore_interrupted_replace(target: Path) -> None:
    """If a two-rename replacement died between its renames, put the previous version back."""
    target = Path(target)
    backup = target.with_name(f".{target.name}.previous")
    if not target.exists() and backup.is_dir():
        os.rename(backup, target)


STALE_STAGING_S = 60  # a writer fills its staging directory in seconds; an older one was abandoned


def remove_stale_staging(target: Path) -> None:
    """Delete the staging directories a killed writer of `target` left behind."""
    for stale in target.parent.glob(f".{glob.escape(target.name)}.staging-*"):
        if stale.is_dir() and not stale.is_symlink() and time.time() - stale.stat().st_mtime > STALE_STAGING_S:
            shutil.rmtree(stale, ignore_errors=True)


@contextlib.contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """Yield an empty directory beside `target`; on success it replaces `target` whole.

    On any error (or an interrupt) the staging directory is removed and `target` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    restore_interrupted_replace(target)
    remove_stale_staging(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    os.chmod(staging, default_mode(directory=True))
    try:
        yield staging
        for child in staging.iterdir():
            if child.is_file():
                with open(child, "rb") as handle:
                    os.fsync(handle.fileno())
                os.chmod(child, default_mode(directory=False))  # some writers use 0600
        replace_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
