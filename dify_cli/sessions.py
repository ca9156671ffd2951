"""The session store: each profile's secrets in its own private JSON file."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dify_cli.errors import ConfigError, DifyError
from dify_cli.fileio import atomic_write_text, file_lock, remove_stale_temp_files
from dify_cli.paths import ensure_private_dir

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

log = logging.getLogger(__name__)

# Lower-case letters, digits, '_' and '-' stand for themselves; every other
# character becomes %XX (its UTF-8 bytes). Upper case is escaped too, so that
# "Prod" and "prod" stay apart on case-insensitive file systems.
_PLAIN = re.compile(r"[a-z0-9_-]")
# Names Windows reserves for devices, with or without an extension.
_DEVICE_NAMES = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])", re.IGNORECASE)
_MAX_STEM = 120
# 9999-12-31T23:59:59Z: later times are damage, and the date functions that
# show them overflow.
_LATEST_TIME = 253402300799


def _escape(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))


def session_file_stem(profile: str) -> str:
    """A file name stem for ``profile`` that is safe and distinct on every OS."""
    stem = "".join(
        char if _PLAIN.fullmatch(char) else _escape(char) for char in profile
    )
    if not stem:
        stem = "%"  # a lone "%" is never produced by escaping
    elif _DEVICE_NAMES.fullmatch(stem):
        # Escaping the first letter still decodes to the same name.
        stem = _escape(stem[0]) + stem[1:]
    if len(stem) > _MAX_STEM:
        # Too long for some file systems: keep a readable prefix plus a digest.
        # Imported here: hashlib loads OpenSSL, a cost few names need.
        from hashlib import sha256

        digest = sha256(profile.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        stem = f"{stem[: _MAX_STEM - 20]}~{digest}"
    return stem


def _profile_from_stem(stem: str) -> str | None:
    """The profile name ``stem`` stands for, or None if no name makes it."""
    if stem == "%":
        return ""
    raw = bytearray()
    index = 0
    while index < len(stem):
        char = stem[index]
        if char == "%":
            try:
                raw.append(int(stem[index + 1 : index + 3], 16))
            except ValueError:
                return None
            index += 3
        elif _PLAIN.fullmatch(char):
            raw += char.encode("ascii")
            index += 1
        else:
            # A shortened stem ("~" and a digest) has lost part of the name.
            return None
    try:
        profile = raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return None
    # Only the stem this name encodes to is its file; anything else is not ours.
    return profile if session_file_stem(profile) == stem else None


def _str_or_none(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{key} must be a string")


def usable_time(value: object) -> float | None:
    """``value`` as seconds since the epoch, or None if it is not a time we keep.

    The one rule for the times a session holds, on saving and on loading: a
    finite number from 1970 to the end of year 9999. Anything else (an expiry
    in milliseconds, NaN, a huge or negative number) is no time at all.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    if not math.isfinite(seconds) or not 0 <= seconds <= _LATEST_TIME:
        return None
    return seconds


def _time_or_none(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    seconds = usable_time(value)
    if seconds is None:
        raise ValueError(f"{key} is not a time between 1970 and 9999")
    return seconds


def _finite_float(text: str) -> float:
    # json reads NaN, Infinity and 1e999 as floats; no session holds one.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a session holds")


def _str_map(data: Mapping[str, Any], key: str) -> dict[str, str]:
    value = data.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"{key} must map strings to strings")
    return dict(value)


@dataclass
class Session:
    """The secrets and facts kept for one profile after logging in.

    ``generation`` is the server's login generation ("legacy", "cookie" or
    "modern"); ``cookie_names`` keeps the exact cookie names the server set;
    ``extra`` holds secrets an auth plugin keeps; ``pending`` holds the state of
    a login that is half done, such as an emailed code awaiting entry.
    """

    server: str
    server_version: str | None
    generation: str
    auth_method: str
    access_token: str | None = None
    refresh_token: str | None = None
    csrf_token: str | None = None
    cookie_names: dict[str, str] = field(default_factory=dict)
    account: dict[str, str] = field(default_factory=dict)
    obtained_at: float | None = None
    access_expires_at: float | None = None
    extra: dict[str, str] = field(default_factory=dict)
    pending: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A time the file could not hold is unknown rather than a session
        # that saves but never loads again.
        for name in ("obtained_at", "access_expires_at"):
            value = getattr(self, name)
            if value is not None and usable_time(value) is None:
                log.debug("%s %r is not a usable time: treated as unknown", name, value)
                setattr(self, name, None)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Session:
        """Build a session from JSON data; ValueError if it does not fit."""
        if not isinstance(data, dict):
            raise ValueError("a session must be a JSON object")
        required = {}
        for key in ("server", "generation", "auth_method"):
            value = data.get(key)
            if not isinstance(value, str):
                raise ValueError(f"{key} must be a string")
            required[key] = value
        pending = data.get("pending", {})
        if pending is None:
            pending = {}
        if not isinstance(pending, dict):
            raise ValueError("pending must be an object")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            # Written by a newer version, perhaps; what we know is still usable.
            log.debug("ignoring unknown session fields: %s", sorted(unknown))
        return cls(
            server=required["server"],
            server_version=_str_or_none(data, "server_version"),
            generation=required["generation"],
            auth_method=required["auth_method"],
            access_token=_str_or_none(data, "access_token"),
            refresh_token=_str_or_none(data, "refresh_token"),
            csrf_token=_str_or_none(data, "csrf_token"),
            cookie_names=_str_map(data, "cookie_names"),
            account=_str_map(data, "account"),
            obtained_at=_time_or_none(data, "obtained_at"),
            access_expires_at=_time_or_none(data, "access_expires_at"),
            extra=_str_map(data, "extra"),
            pending=dict(pending),
        )


def _session_text(profile: str, session: Session) -> str:
    """The file text of ``session``; DifyError if ``load`` could not read it back.

    A session that saves but never loads would pass for a successful login
    and then say "not connected".
    """
    try:
        text = json.dumps(session.to_dict(), indent=2, sort_keys=True, allow_nan=False)
        Session.from_dict(
            json.loads(text, parse_float=_finite_float, parse_constant=_refuse_constant)
        )
    except (ValueError, TypeError, RecursionError) as error:
        raise DifyError(
            f"Could not save the session of profile {profile!r}: {error}."
        ) from None
    return text + "\n"


class SessionStore:
    """One JSON file per profile, 0600 in a 0700 folder, replaced atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, profile: str) -> Path:
        """The session file of ``profile``."""
        return self.directory / f"{session_file_stem(profile)}.json"

    def _lock_path(self, profile: str) -> Path:
        return self.directory / f"{session_file_stem(profile)}.lock"

    def profiles(self) -> list[str]:
        """The profiles with a stored session, sorted; unreadable names skipped."""
        try:
            paths = list(self.directory.glob("*.json"))
        except OSError as error:
            log.debug("cannot list session folder %s: %s", self.directory, error)
            return []
        names = (_profile_from_stem(path.stem) for path in paths)
        return sorted(name for name in names if name is not None)

    def load(self, profile: str) -> Session | None:
        """The stored session, or None if there is none or it cannot be read."""
        path = self.path_for(profile)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            log.debug("cannot read session file %s: %s", path, error)
            return None
        try:
            data = json.loads(
                text, parse_float=_finite_float, parse_constant=_refuse_constant
            )
            return Session.from_dict(data)
        except (ValueError, TypeError, RecursionError) as error:
            # A damaged file is as good as no session: the user logs in again.
            log.debug("ignoring damaged session file %s: %s", path, error)
            return None

    def check_writable(self) -> None:
        """Raise ConfigError unless a session could be saved here now.

        Call it before asking the server for new tokens. Once the server has
        issued them, tokens that cannot be kept are worse than none: a login
        stays live on the server with nobody holding it, and a renewal has
        already spent the refresh token the stored session holds.
        """
        hint = "Make it writable, or set DIFY_DATA_DIR to a folder that is."
        # The folder is made on the first save; until then its nearest
        # existing parent is where that would fail.
        folder = self.directory
        try:
            while not folder.exists() and folder.parent != folder:
                folder = folder.parent
            is_folder = folder.is_dir()
            writable = is_folder and os.access(folder, os.W_OK | os.X_OK)
        except OSError as error:
            reason = error.strerror or str(error)
            raise ConfigError(
                f"Cannot save sessions in {self.directory}: {reason}.", hint=hint
            ) from error
        if not is_folder:
            raise ConfigError(
                f"Cannot save sessions in {self.directory}: {folder} is not a folder.",
                hint="Move the file away, or set DIFY_DATA_DIR to another folder.",
            )
        if not writable:
            raise ConfigError(
                f"Cannot save sessions in {self.directory}: {folder} is not writable.",
                hint=hint,
            )

    def save(self, profile: str, session: Session) -> None:
        """Store ``session`` for ``profile``, replacing any earlier one."""
        text = _session_text(profile, session)
        ensure_private_dir(self.directory)
        with self.lock(profile):
            remove_stale_temp_files(self.path_for(profile))
            atomic_write_text(self.path_for(profile), text, mode=0o600)

    def delete(self, profile: str) -> bool:
        """Forget the session of ``profile``; False if there was none."""
        path = self.path_for(profile)
        if not path.exists():
            return False
        with self.lock(profile):
            return self._unlink(path)

    def _unlink(self, path: Path) -> bool:
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as error:
            reason = error.strerror or str(error)
            raise ConfigError(f"Could not delete {path}: {reason}.") from error
        return True

    def rename(self, old: str, new: str) -> None:
        """Move the session of ``old`` to ``new``; a stale one of ``new`` is dropped."""
        source, target = self.path_for(old), self.path_for(new)
        if not source.exists() and not target.exists():
            return
        # Lock in a fixed order so two renames in opposite directions cannot deadlock.
        first, second = sorted((old, new), key=session_file_stem)
        with self.lock(first), self.lock(second):
            if not source.exists():
                self._unlink(target)
                return
            try:
                source.replace(target)
            except OSError as error:
                reason = error.strerror or str(error)
                raise ConfigError(
                    f"Could not move the session of {old!r} to {new!r}: {reason}."
                ) from error

    @contextlib.contextmanager
    def lock(self, profile: str) -> Iterator[None]:
        """Hold the inter-process lock of ``profile``'s session.

        Take it around read-renew-save sequences, and re-read the session after
        taking it: another process may have renewed the tokens meanwhile.
        """
        ensure_private_dir(self.directory)
        with file_lock(self._lock_path(profile)):
            yield
