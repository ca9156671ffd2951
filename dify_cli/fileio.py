"""Safe file writing: atomic replacement and locks shared with other processes."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import time
from contextlib import contextmanager
from glob import escape as glob_escape
from pathlib import Path
from typing import TYPE_CHECKING

from dify_cli.errors import ConfigError
from dify_cli.paths import HAS_MODES

if TYPE_CHECKING:
    from collections.abc import Iterator

    from filelock import FileLock

# One lock object per lock file in this process, so that code already holding a
# lock can take it again (FileLock counts) instead of waiting on itself.
_locks: dict[str, FileLock] = {}

# Out of space, over the file size limit, or over quota (not every OS has EDQUOT).
_DISK_FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def read_text(path: Path) -> str | None:
    """The file's text exactly as stored (line endings kept), or None if absent."""
    try:
        with path.open(encoding="utf-8", newline="") as stream:
            return stream.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {error.start} cannot be decoded)."
        ) from error
    except OSError as error:
        raise ConfigError(f"Could not read {path}: {_reason(error)}.") from error


def _write_target(path: Path) -> Path:
    # Replacing a symlink would cut it loose from a dotfiles repository; write
    # through it to the file it points at instead.
    return path.resolve() if path.is_symlink() else path


def _replace(source: Path, target: Path) -> None:
    # On Windows a reader holding the file open makes the rename fail for a moment.
    for attempt in range(10):
        try:
            source.replace(target)
        except PermissionError:
            if os.name != "nt" or attempt == 9:
                raise
            time.sleep(0.05)
        else:
            return


def _sync_folder(folder: Path) -> None:
    # Makes the rename itself durable; Windows cannot open folders this way.
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_text(path: Path, text: str, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file.

    The text goes to a temporary file in the same folder, is flushed to disk, and
    is then renamed over the old file. Any failure raises ConfigError naming the
    file, and leaves the old file as it was.
    """
    target = _write_target(path)
    data = text.encode("utf-8")
    try:
        fd, temp_name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise _write_error(path, error) from error

    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if HAS_MODES:
            temp.chmod(mode)
        _replace(temp, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            temp.unlink()
        if isinstance(error, OSError):
            raise _write_error(path, error) from error
        raise
    _sync_folder(target.parent)


def remove_stale_temp_files(path: Path) -> None:
    """Delete temporary files left beside ``path`` by a writer that was killed.

    Call it only while holding the lock that guards writes to ``path``: then no
    other writer can be using one of these files.
    """
    target = _write_target(path)
    for temp in target.parent.glob(f".{glob_escape(target.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            temp.unlink()


def _write_error(path: Path, error: OSError) -> ConfigError:
    if error.errno in _DISK_FULL:
        hint = "Free some space; the previous file was left unchanged."
    else:
        hint = "The previous file was left unchanged."
    return ConfigError(f"Could not write {path}: {_reason(error)}.", hint=hint)


def _create_lock_file(lock_path: Path) -> None:
    # Creating the file ourselves turns an unwritable folder into a clear error at
    # once; some lock backends would keep retrying until the timeout instead.
    if lock_path.exists():
        return
    try:
        fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
    except FileExistsError:
        return
    except OSError as error:
        raise ConfigError(
            f"Could not create the lock file {lock_path}: {_reason(error)}.",
            hint="Check that the folder is writable.",
        ) from error
    os.close(fd)


@contextmanager
def file_lock(lock_path: Path, timeout: float = 30.0) -> Iterator[None]:
    """Hold an inter-process lock on ``lock_path`` for the duration of the block.

    Re-entrant within one process. Waiting longer than ``timeout`` seconds raises
    ConfigError.
    """
    from filelock import FileLock, Timeout

    _create_lock_file(lock_path)
    key = str(lock_path.absolute())
    lock = _locks.get(key)
    if lock is None:
        lock = _locks[key] = FileLock(key, mode=0o600)
    try:
        lock.acquire(timeout=timeout)
    except Timeout as error:
        raise ConfigError(
            f"Timed out after {timeout:g}s waiting for the lock {lock_path}.",
            hint="Another dify command may be stuck; try again.",
        ) from error
    except OSError as error:
        raise ConfigError(f"Could not lock {lock_path}: {_reason(error)}.") from error
    try:
        yield
    finally:
        lock.release()
