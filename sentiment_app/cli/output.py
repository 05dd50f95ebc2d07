"""How the commands end when their output cannot be written: one line and exit status 1."""

from __future__ import annotations

import contextlib
import os
import sys


def silence_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so that Python's exit flush stays quiet."""
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def output_failed(prog: str, error: OSError) -> int:
    """Say why the output stopped (a closed pipe, a full disk) in one line; returns the exit status."""
    if isinstance(error, BrokenPipeError):
        silence_stdout()
        print(f"{prog}: error: the output was closed before the last record", file=sys.stderr)
    else:
        print(f"{prog}: error: cannot write the output: {error.strerror or error}", file=sys.stderr)
    return 1


def argument_text(value: str, what: str) -> str:
    """A command-line argument as text; bytes that are not UTF-8 (kept by Python as surrogate
    escapes) raise ValueError naming the first one."""
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeError as error:
        raw = value.encode("utf-8", "surrogateescape")
        start = getattr(error, "start", 0)
        raise ValueError(f"{what} is not valid UTF-8 (byte 0x{raw[start]:02x} at offset {start})") from error
