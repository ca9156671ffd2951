"""Reading what the user hands over: standard input and files, both bounded."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from dify_cli.errors import UsageError

# The most read from a file or from standard input: far above any DSL or
# request body a console accepts, and small enough that /dev/zero or a
# runaway pipe ends with an error instead of filling memory.
MAX_INPUT_BYTES = 50 * 1024 * 1024


def _stdin_fd() -> int | None:
    # sys.stdin is None when the process started with descriptor 0 closed.
    stream = sys.stdin
    if stream is None or stream.closed:
        return None
    try:
        fd = stream.fileno()
        os.fstat(fd)
    except (OSError, ValueError):
        # A replaced stream without a descriptor (as in tests) still reads.
        return -1
    return fd


def stdin_is_terminal() -> bool:
    """Whether standard input is a terminal that can be prompted on."""
    stream = sys.stdin
    if stream is None or stream.closed or _stdin_fd() is None:
        return False
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False


def no_terminal() -> UsageError:
    """The error for a question that needs a terminal when there is none."""
    return UsageError("There is no terminal to prompt on: standard input is closed.")


def _too_big(label: str, limit: int) -> UsageError:
    return UsageError(f"{label} is larger than {limit // (1024 * 1024)} MiB.")


def _bounded(data: bytes, label: str, limit: int) -> bytes:
    if len(data) > limit:
        raise _too_big(label, limit)
    return data


def read_stdin(limit: int = MAX_INPUT_BYTES) -> bytes:
    """All of standard input as bytes, at most ``limit`` of them.

    UsageError when standard input is closed or holds more than ``limit``.
    """
    stream = sys.stdin
    if stream is None or stream.closed or _stdin_fd() is None:
        raise UsageError("There is no input on standard input: it is closed.")
    source = getattr(stream, "buffer", None)
    try:
        if source is None:
            text = stream.read(limit + 1)
            return _bounded(text.encode("utf-8"), "Standard input", limit)
        return _bounded(source.read(limit + 1), "Standard input", limit)
    except (OSError, ValueError) as error:
        raise UsageError(f"Cannot read standard input: {error}.") from None


def read_stdin_line() -> str:
    """The first line of standard input without its line ending ("" if none)."""
    stream = sys.stdin
    if stream is None or stream.closed or _stdin_fd() is None:
        raise UsageError("There is no input on standard input: it is closed.")
    try:
        line = stream.readline(MAX_INPUT_BYTES)
    except (OSError, ValueError) as error:
        raise UsageError(f"Cannot read standard input: {error}.") from None
    return line.rstrip("\r\n")


def read_file(source: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a regular file, at most ``limit`` of them.

    A folder, a device, a FIFO or a file over ``limit`` is a UsageError, so
    that ``/dev/zero`` cannot keep a command reading forever.
    """
    if not source:
        # Path("") is the current folder, which no one meant.
        raise UsageError("The file name is empty.")
    path = Path(source)
    try:
        # Checked before opening: opening a FIFO waits for a writer.
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise UsageError(f"{source} is a folder, not a file.")
        if not stat.S_ISREG(mode):
            raise UsageError(
                f"{source} is not a regular file.",
                hint="Give a file, or - to read standard input.",
            )
        with path.open("rb") as stream:
            return _bounded(stream.read(limit + 1), source, limit)
    except OSError as error:
        raise UsageError(f"Cannot read {source}: {error.strerror or error}.") from None
