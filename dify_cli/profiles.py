"""Named profiles: the non-secret settings of each environment, kept in profiles.toml.

The file holds an optional ``default_profile = "NAME"`` at the top and one
``[profiles.NAME]`` table per environment. Edits go through tomlkit so that the
user's comments, key order and formatting survive, and every edit is checked by
reading the result back before the old file is replaced. Reads use the standard
library's TOML parser (tomli before Python 3.11), which is many times faster.
"""

from __future__ import annotations

import copy
import difflib
import importlib
import logging
import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from dify_cli.errors import ConfigError
from dify_cli.fileio import (
    atomic_write_text,
    file_lock,
    read_text,
    remove_stale_temp_files,
)
from dify_cli.paths import ensure_private_dir
from dify_cli.urls import normalize_server_url

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from tomlkit import TOMLDocument
    from tomlkit.items import Table

log = logging.getLogger(__name__)

Kind = Literal["str", "bool", "float", "path", "url", "email"]

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})

# Key names that smell of credentials. Secrets live in the session store, and a
# key like this in profiles.toml would be one `git add` away from leaking.
# "auth" alone is not among them: auth_method and auth_command are settings.
_SECRET_NAME = re.compile(
    r"password|passwd|(^|[_-])pass($|[_-])|pwd|secret|token|api_?key|(^|[_-])key($|[_-])"
    r"|cookie|credential|csrf|bearer|session",
    re.IGNORECASE,
)

# Letters, digits, '_', '-' and '.'; no leading '-' (it would read as an option)
# and no leading '.' (it would hide the session file).
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
NAME_RULE = (
    "use up to 64 letters, digits, '_', '-' and '.', "
    "starting with a letter, digit or '_'"
)

# The largest number a setting or an auth method's float option takes: they
# count seconds, past a day nobody is waiting, and the socket layer overflows.
MAX_NUMBER = 86400.0

# RFC 5321 caps a forward path at 256 octets, two of them the angle brackets.
_MAX_EMAIL = 254

NEW_FILE_HEADER = """\
# dify profiles: one [profiles.NAME] table per environment.
# Keys: server, auth_method, email, verify_tls, ca_bundle, timeout, workspace.
# Secrets never go here: sessions are stored separately, one file per profile.

"""


@dataclass(frozen=True)
class KeySpec:
    """One setting a profile may hold: its name, type, help text and env variables.

    ``kind`` decides how text is parsed: "str", "bool" (true/false, yes/no, on/off,
    1/0), "float" (a positive number, at most ``maximum`` when given), "path"
    (made absolute), "url" (a server root, normalised) or "email" (an address,
    with no spaces or control characters, at most 254 characters). ``env`` names the
    environment variables that override the profile, strongest first.
    """

    name: str
    kind: Kind
    help: str
    env: tuple[str, ...] = ()
    maximum: float | None = None

    def _number_rule(self) -> str:
        if self.maximum is None:
            return f"{self.name} must be a number greater than 0"
        return (
            f"{self.name} must be a number greater than 0 and at most {self.maximum:g}"
        )

    def parse(self, raw: str) -> Any:
        """Turn text from the command line or environment into the typed value."""
        text = raw.strip()
        if self.kind == "bool":
            word = text.lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
            raise ConfigError(f"{self.name} must be true or false, not {raw!r}.")
        if self.kind == "float":
            try:
                return self.check(float(text))
            except (ValueError, ConfigError):
                raise ConfigError(f"{self._number_rule()}, not {raw!r}.") from None
        if self.kind == "path" and text:
            path = Path(text).expanduser()
            return str(path if path.is_absolute() else path.absolute())
        return self.check(text)

    def check(self, value: object) -> Any:
        """Validate a value that is already typed, such as one read from TOML."""
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise ConfigError(
                f"{self.name} must be true or false, not {_described(value)}."
            )
        if self.kind == "float":
            try:
                # float() of an integer too large for a float overflows.
                number = float(value) if isinstance(value, (int, float)) else None
            except OverflowError:
                number = math.inf
            if (
                isinstance(value, bool)
                or number is None
                or not math.isfinite(number)
                or number <= 0
                or (self.maximum is not None and number > self.maximum)
            ):
                raise ConfigError(f"{self._number_rule()}, not {_described(value)}.")
            return number
        if not isinstance(value, str):
            raise ConfigError(f"{self.name} must be text, not {_described(value)}.")
        if not value.strip():
            raise ConfigError(
                f"{self.name} must not be empty.",
                hint="Use `dify profile unset` to remove a setting.",
            )
        if self.kind == "url":
            return normalize_server_url(value)
        if self.kind == "email":
            return _check_email(value)
        return value


def checked_number(value: object, name: str) -> float:
    """``value`` (a number, or text from the environment) as a float that is
    finite, greater than 0 and at most MAX_NUMBER; ConfigError naming ``name``
    if it is not."""
    spec = KeySpec(name, "float", "", maximum=MAX_NUMBER)
    return float(spec.parse(value) if isinstance(value, str) else spec.check(value))


def _described(value: object) -> str:
    """A stored value as an error names it: quoted text, or its TOML kind.

    Text is quoted with anything unprintable escaped and long values cut, so
    that the error stays one short line.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:77] + "...")
    isoformat = getattr(value, "isoformat", None)
    text = f"the date {isoformat()}" if callable(isoformat) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_email(value: str) -> str:
    """``value`` if it can be an account's email; ConfigError saying why not.

    Only what no server would accept is refused, before it is sent anywhere:
    the server judges the rest.
    """
    # isprintable() is False for control, format and separator characters,
    # which would be invisible or break a line in a message.
    if not value.isprintable() or " " in value:
        raise ConfigError(
            f"Email {_described(value)} contains spaces or control characters."
        )
    if len(value) > _MAX_EMAIL:
        raise ConfigError(
            f"Email {_described(value)} is {len(value)} characters long; "
            f"an address has at most {_MAX_EMAIL}."
        )
    local, at, domain = value.rpartition("@")
    if not (at and local and domain):
        raise ConfigError(
            f"Email {_described(value)} is not an address like name@example.com."
        )
    return value


CORE_KEYS: dict[str, KeySpec] = {
    spec.name: spec
    for spec in (
        KeySpec(
            "server",
            "url",
            "Root URL of the Dify server, e.g. https://dify.example.com.",
            ("DIFY_URL", "PSDIFY_URL"),
        ),
        KeySpec(
            "auth_method",
            "str",
            "How `dify connect` logs in: password, code (emailed code) or token.",
            ("DIFY_AUTH_METHOD", "PSDIFY_AUTH_METHOD"),
        ),
        KeySpec(
            "email",
            "email",
            "Account email used to log in.",
            ("DIFY_EMAIL", "PSDIFY_EMAIL"),
        ),
        KeySpec(
            "verify_tls",
            "bool",
            "Check the server's TLS certificate (turn off only for testing).",
            # Both variables say the opposite: set to 1/true they turn checks off.
            ("DIFY_INSECURE", "PSDIFY_DISABLE_SSL_VERIFICATION"),
        ),
        KeySpec(
            "ca_bundle",
            "path",
            "PEM file of CA certificates for a server with a private CA.",
            ("DIFY_CA_BUNDLE",),
        ),
        KeySpec(
            "timeout",
            "float",
            "Seconds to wait for the server before giving up.",
            ("DIFY_TIMEOUT",),
            maximum=MAX_NUMBER,
        ),
        KeySpec(
            "workspace",
            "str",
            "Workspace (name or id) to switch to after logging in.",
            ("DIFY_WORKSPACE",),
        ),
    )
}


def plugin_keys() -> dict[str, KeySpec]:
    """Keys declared by installed auth methods, beyond the core ones."""
    name = "dify_cli.plugin_manager"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name == name:
            return {}
        raise ConfigError(f"Could not load the plugin manager: {error}.") from error

    declare: Callable[[], Mapping[str, object]] | None = getattr(
        module, "auth_option_keys", None
    )
    if declare is None:
        return {}

    keys: dict[str, KeySpec] = {}
    for key, spec in declare().items():
        if key in CORE_KEYS or not isinstance(spec, KeySpec):
            log.debug("ignoring plugin key %r: core key or not a KeySpec", key)
            continue
        keys[key] = spec
    return keys


def all_keys() -> dict[str, KeySpec]:
    """Every key `profile set` accepts: the core keys, then plugin keys."""
    return {**CORE_KEYS, **plugin_keys()}


def check_name(name: str) -> str:
    """Return ``name`` if it can be a profile name, else raise ConfigError."""
    if not name:
        raise ConfigError("A profile name must not be empty.")
    if not _NAME.fullmatch(name):
        raise ConfigError(f"Invalid profile name {name!r}: {NAME_RULE}.")
    return name


def looks_secret(key: str) -> bool:
    """Whether a key's name suggests a credential, which profiles.toml never holds."""
    return _SECRET_NAME.search(key) is not None


def check_storable_key(key: str) -> None:
    """Refuse key names that look like secrets, which profiles.toml never holds."""
    if looks_secret(key):
        raise ConfigError(
            f"{key!r} looks like a secret, and profiles.toml holds no secrets.",
            hint="`dify connect` keeps credentials in the session store.",
        )


def unknown_key_error(key: str, keys: Mapping[str, KeySpec]) -> ConfigError:
    """The error for a key that no core setting or auth method declares."""
    close = difflib.get_close_matches(key, list(keys), n=1)
    guess = f" Did you mean {close[0]!r}?" if close else ""
    return ConfigError(
        f"Unknown key {key!r}.{guess} Valid keys: {', '.join(sorted(keys))}."
    )


# Windows editors may start a UTF-8 file with a byte-order mark, which TOML
# does not allow; it is read past and written back as found.
_BOM = "\ufeff"


def _without_bom(text: str) -> str:
    return text.removeprefix(_BOM)


def _line_endings_like(text: str, old_text: str | None) -> str:
    # Lines added to a file written on Windows end as its other lines do.
    if old_text is None or "\r\n" not in old_text:
        return text
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _load_toml(text: str) -> Any:
    """Parse TOML into plain data, for reading only."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib

    return tomllib.loads(text)


def _toml_value(value: Any) -> Any:
    # Whole numbers are written as `30`, not `30.0`, as a person would write them.
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _same_data(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal as settings: an empty ``profiles`` table is the same as none."""

    def settings(data: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in data.items() if not (k == "profiles" and v == {})}

    return settings(a) == settings(b)


def _is_blank(line: str) -> bool:
    return not line.strip()


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _header_path(line: str) -> tuple[str, ...] | None:
    """The key path of a ``[table]`` header line, or None if it is not one."""
    import tomlkit

    if not line.lstrip().startswith("["):
        return None
    try:
        data: Any = tomlkit.parse(line).unwrap()
    except Exception:  # any parse failure just means "not a header line"
        return None
    path: list[str] = []
    while isinstance(data, dict) and len(data) == 1:
        key, data = next(iter(data.items()))
        path.append(key)
    return tuple(path) or None


def _cut_profile_lines(text: str, name: str) -> str | None:
    """``text`` without the ``[profiles.NAME]`` section and the comments above it.

    The comment block right above the next header belongs to that header and is
    kept. Returns None when the profile is not laid out as one run of sections,
    and the caller falls back to a plain structural edit.
    """
    lines = text.splitlines(keepends=True)
    headers = [
        (index, path)
        for index, line in enumerate(lines)
        if (path := _header_path(line)) is not None
    ]
    ours = [n for n, (_, path) in enumerate(headers) if path[:2] == ("profiles", name)]
    if not ours or ours != list(range(ours[0], ours[-1] + 1)):
        return None

    start = headers[ours[0]][0]
    following = ours[-1] + 1
    end = headers[following][0] if following < len(headers) else len(lines)
    while start > 0 and _is_comment(lines[start - 1]):
        start -= 1
    if end < len(lines):
        while end > start and _is_comment(lines[end - 1]):
            end -= 1

    kept = lines[:start] + lines[end:]
    # Close the gap: no doubled blank line where the section was, none at the end.
    while (
        0 < start < len(kept) and _is_blank(kept[start - 1]) and _is_blank(kept[start])
    ):
        del kept[start]
    while kept and _is_blank(kept[-1]):
        kept.pop()
    return "".join(kept)


def _insert_top_level(doc: TOMLDocument, key: str, value: Any) -> None:
    """Set a top-level key; a new one goes above the tables and their comments."""
    import tomlkit
    from tomlkit.items import AoT, Comment, Table

    if key in doc:
        doc[key] = value
        return
    body = doc.body
    first_table = next(
        (i for i, (_, item) in enumerate(body) if isinstance(item, (Table, AoT))),
        None,
    )
    if first_table is None:
        doc[key] = value
        return
    position = first_table
    while position > 0 and isinstance(body[position - 1][1], Comment):
        position -= 1
    item = tomlkit.item(value)
    item.trivia.trail = "\n\n"
    # tomlkit has no public "insert before"; this keeps the header comments on top.
    doc._insert_at(position, key, item)


def _set_key(table: Any, key: str, value: Any) -> None:
    """Set ``key``; a new key goes after the last setting, above trailing comments.

    Comments at the end of a table usually introduce the next table, so a key
    appended after them would land under the wrong heading.
    """
    import tomlkit
    from tomlkit.items import Comment, Table, Whitespace

    if key in table or not isinstance(table, Table):
        table[key] = value
        return
    body = table.value.body
    end = len(body)
    while end > 0 and isinstance(body[end - 1][1], (Comment, Whitespace)):
        end -= 1
    if end == len(body) or end == 0:
        table[key] = value
        return
    # tomlkit has no public "insert before"; the caller checks the result.
    table.value._insert_at(end, key, tomlkit.item(value))


def _rename_in_place(profiles: Any, old: str, new: str) -> Table | None:
    """A copy of the profiles table with ``old`` renamed, keeping its position."""
    import tomlkit
    from tomlkit.items import Table

    if not isinstance(profiles, Table) or not profiles.is_super_table():
        return None
    renamed = tomlkit.table(is_super_table=True)
    # In parsing mode tomlkit appends items as they are, adding no blank lines.
    renamed.value.parsing(True)
    for key, item in profiles.value.body:
        if key is None:
            renamed.value.append(None, item)
        else:
            renamed.value.append(new if key.key == old else key, item)
    renamed.value.parsing(False)
    return renamed


class ProfileStore:
    """The profiles file: read on every call, edited under a lock, written atomically.

    A malformed file raises ConfigError naming the file, line and column, and is
    never rewritten.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        # The text last parsed for reading, and its data. A command reads the
        # file several times (the default profile, then the profile); with a
        # thousand profiles each parse costs more than the copy that is handed
        # out instead, which callers may change freely.
        self._parsed: tuple[str, dict[str, Any]] | None = None

    # Reading

    def _parse(self, text: str) -> TOMLDocument:
        import tomlkit
        from tomlkit.exceptions import ParseError

        try:
            return tomlkit.parse(text)
        except ParseError as error:
            reason = str(error).removesuffix(f" at line {error.line} col {error.col}")
            if "'\\x00'" in reason:
                # tomlkit reads the end of the text as a NUL character.
                reason = "the file ends in the middle of a value"
            raise ConfigError(
                f"{self.path}, line {error.line}, column {error.col + 1}: "
                f"{reason.rstrip('.')}.",
                hint="Fix the file by hand; dify does not rewrite an invalid file.",
            ) from error
        except Exception as error:  # tomlkit has raised other errors on odd input
            raise ConfigError(
                f"{self.path} is not valid TOML: {error}.",
                hint="Fix the file by hand; dify does not rewrite an invalid file.",
            ) from error

    def _check_layout(self, data: Mapping[str, Any]) -> None:
        profiles = data.get("profiles", {})
        if not isinstance(profiles, dict):
            raise ConfigError(
                f"{self.path}: 'profiles' must hold [profiles.NAME] tables."
            )
        for name, table in profiles.items():
            if not isinstance(table, dict):
                raise ConfigError(
                    f"{self.path}: profile {name!r} must be a table of settings."
                )
        default = data.get("default_profile")
        if default is not None and not isinstance(default, str):
            raise ConfigError(f"{self.path}: default_profile must be a profile name.")

    def _document(self) -> tuple[str | None, TOMLDocument]:
        text = read_text(self.path)
        doc = self._parse(NEW_FILE_HEADER if text is None else _without_bom(text))
        self._check_layout(doc.unwrap())
        return text, doc

    def _data(self) -> dict[str, Any]:
        text = read_text(self.path)
        if text is None:
            return {}
        if self._parsed is not None and self._parsed[0] == text:
            return copy.deepcopy(self._parsed[1])
        try:
            data: dict[str, Any] = _load_toml(_without_bom(text))
        except (ValueError, RecursionError):
            # tomlkit words the error with the line and column; should the two
            # parsers ever disagree, the one that edits the file decides.
            return self._document()[1].unwrap()
        self._check_layout(data)
        self._parsed = (text, data)
        return copy.deepcopy(data)

    def profiles(self) -> dict[str, dict[str, Any]]:
        """Every profile's stored settings, in file order, from one read."""
        profiles: dict[str, dict[str, Any]] = self._data().get("profiles", {})
        return profiles

    def names(self) -> list[str]:
        """Profile names in file order."""
        return list(self._data().get("profiles", {}))

    def default_name(self) -> str | None:
        """The ``default_profile`` named in the file, if any."""
        default: str | None = self._data().get("default_profile")
        return default

    def get(self, name: str) -> dict[str, Any] | None:
        """The profile's stored settings as plain values, or None if absent."""
        profile: dict[str, Any] | None = self._data().get("profiles", {}).get(name)
        return profile

    def require(self, name: str) -> dict[str, Any]:
        """The profile's stored settings; ConfigError if there is no such profile."""
        data = self._data()
        profiles: dict[str, dict[str, Any]] = data.get("profiles", {})
        if name not in profiles:
            raise self.unknown(name, list(profiles))
        return profiles[name]

    def unknown(self, name: str, names: list[str] | None = None) -> ConfigError:
        """The error for a profile that does not exist, with the nearest name."""
        if names is None:
            names = self.names()
        if not names:
            return ConfigError(
                f"No profile named {name!r}; there are no profiles yet.",
                hint="Add one with `dify profile add NAME --server URL`.",
            )
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
        guess = f" Did you mean {close[0]!r}?" if close else ""
        return ConfigError(
            f"No profile named {name!r}.{guess} Profiles: {', '.join(names)}."
        )

    # Writing

    def check_writable(self) -> None:
        """Raise ConfigError unless this file could be written now.

        Call it before a step that cannot be undone and whose result the file
        must record, such as a login: finding out afterwards leaves the two
        out of step.
        """
        problem = self._write_problem()
        if problem is not None:
            raise ConfigError(
                f"Cannot save profiles in {self.path}: {problem}.",
                hint="Make it writable, or pass --no-save.",
            )

    def _write_problem(self) -> str | None:
        # The folder is made on the first write; until then its nearest
        # existing parent is where that would fail.
        folder = self.path.parent
        try:
            while not folder.exists() and folder.parent != folder:
                folder = folder.parent
            if not folder.is_dir():
                return f"{folder} is not a folder"
            if not os.access(folder, os.W_OK | os.X_OK):
                return f"{folder} is not writable"
            for path in (self.path, self.lock_path):
                if path.exists() and not path.is_file():
                    return f"{path} is not a file"
                if path.exists() and not os.access(path, os.W_OK):
                    return f"{path} is not writable"
        except OSError as error:
            return error.strerror or str(error)
        return None

    def _edit(
        self,
        change: Callable[[TOMLDocument, dict[str, Any]], TOMLDocument | None],
    ) -> None:
        """Apply ``change`` under the lock and write the result atomically.

        ``change`` edits the document (or returns a replacement) and makes the
        same edit to the plain data it is given; the new text must read back as
        exactly that data, so a formatting trick can never lose a setting.
        """
        import tomlkit

        ensure_private_dir(self.path.parent)
        with file_lock(self.lock_path):
            old_text, doc = self._document()
            expected = doc.unwrap()
            replacement = change(doc, expected)
            if replacement is not None:  # not `or`: an empty document is falsy
                doc = replacement
            text = _line_endings_like(doc.as_string(), old_text)
            if not _same_data(tomlkit.parse(text).unwrap(), expected):
                raise ConfigError(
                    f"Could not edit {self.path} without changing other settings; "
                    "it was left unchanged.",
                    hint="Make this change by hand.",
                )
            if old_text is not None and old_text.startswith(_BOM):
                text = _BOM + text
            if text == old_text:
                return
            remove_stale_temp_files(self.path)
            atomic_write_text(self.path, text)

    def add(self, name: str, values: Mapping[str, Any]) -> bool:
        """Create a profile; ConfigError if one of that name exists already.

        The first profile of a file without ``default_profile`` becomes the
        default; the answer says whether it did.
        """
        check_name(name)
        made_default = False

        def change(doc: TOMLDocument, data: dict[str, Any]) -> None:
            nonlocal made_default
            if name in data.get("profiles", {}):
                raise ConfigError(
                    f"Profile {name!r} already exists.",
                    hint=f"Change it with `dify profile set {name} KEY VALUE`.",
                )
            made_default = self._default_if_first(doc, data, name)
            self._set_values(doc, data, name, values)

        self._edit(change)
        return made_default

    def update(self, name: str, values: Mapping[str, Any], create: bool = True) -> bool:
        """Set keys of a profile (a None value removes the key).

        The file is re-read under the lock, so concurrent edits of other keys are
        kept. Without ``create``, a missing profile raises ConfigError. A profile
        created as the first of a file without ``default_profile`` becomes the
        default; the answer says whether it did.
        """
        made_default = False

        def change(doc: TOMLDocument, data: dict[str, Any]) -> None:
            nonlocal made_default
            profiles = data.get("profiles", {})
            if name not in profiles:
                if not create:
                    raise self.unknown(name, list(profiles))
                check_name(name)
                made_default = self._default_if_first(doc, data, name)
            self._set_values(doc, data, name, values)

        self._edit(change)
        return made_default

    @staticmethod
    def _default_if_first(doc: TOMLDocument, data: dict[str, Any], name: str) -> bool:
        # With one profile and no default, a command without --profile would
        # look for a profile named "default" instead of the only one there is.
        if data.get("profiles") or "default_profile" in data:
            return False
        data["default_profile"] = name
        _insert_top_level(doc, "default_profile", name)
        return True

    def _set_values(
        self,
        doc: TOMLDocument,
        data: dict[str, Any],
        name: str,
        values: Mapping[str, Any],
    ) -> None:
        import tomlkit

        for key in values:
            check_storable_key(key)
        if "profiles" not in doc:
            doc["profiles"] = tomlkit.table(is_super_table=True)
            data["profiles"] = {}
        profiles = doc["profiles"]
        if name not in profiles:
            profiles[name] = tomlkit.table()
            data["profiles"][name] = {}
        table = profiles[name]
        plain = data["profiles"][name]
        for key, value in values.items():
            if value is None:
                if key in table:
                    del table[key]
                    del plain[key]
                continue
            _set_key(table, key, _toml_value(value))
            plain[key] = _toml_value(value)

    def unset(self, name: str, key: str) -> bool:
        """Remove one key from a profile; False if it was not set."""
        removed = False

        def change(doc: TOMLDocument, data: dict[str, Any]) -> None:
            nonlocal removed
            profiles = data.get("profiles", {})
            if name not in profiles:
                raise self.unknown(name, list(profiles))
            if key in profiles[name]:
                del doc["profiles"][name][key]
                del profiles[name][key]
                removed = True

        self._edit(change)
        return removed

    def remove(self, name: str) -> None:
        """Delete a profile, its comments, and ``default_profile`` if it named it."""

        def change(doc: TOMLDocument, data: dict[str, Any]) -> TOMLDocument:
            profiles = data.get("profiles", {})
            if name not in profiles:
                raise self.unknown(name, list(profiles))
            del profiles[name]
            cut = _cut_profile_lines(doc.as_string(), name)
            cut_doc = None if cut is None else self._parse(cut)
            if cut_doc is not None and _same_data(cut_doc.unwrap(), data):
                doc = cut_doc
            else:
                del doc["profiles"][name]
            if data.get("default_profile") == name:
                del data["default_profile"]
                del doc["default_profile"]
            return doc

        self._edit(change)

    def rename(self, old: str, new: str) -> None:
        """Rename a profile in place; ``default_profile`` follows it."""
        check_name(new)

        def change(doc: TOMLDocument, data: dict[str, Any]) -> None:
            profiles = data.get("profiles", {})
            if old not in profiles:
                raise self.unknown(old, list(profiles))
            if new in profiles:
                raise ConfigError(f"Profile {new!r} already exists.")
            data["profiles"] = {
                (new if key == old else key): value for key, value in profiles.items()
            }

            renamed = _rename_in_place(doc["profiles"], old, new)
            if renamed is not None and renamed.unwrap() == data["profiles"]:
                doc["profiles"] = renamed
            else:
                table = doc["profiles"][old]
                del doc["profiles"][old]
                doc["profiles"][new] = table
            if data.get("default_profile") == old:
                data["default_profile"] = new
                doc["default_profile"] = new

        self._edit(change)

    def use(self, name: str) -> None:
        """Make ``name`` the default profile."""

        def change(doc: TOMLDocument, data: dict[str, Any]) -> None:
            profiles = data.get("profiles", {})
            if name not in profiles:
                raise self.unknown(name, list(profiles))
            data["default_profile"] = name
            _insert_top_level(doc, "default_profile", name)

        self._edit(change)
