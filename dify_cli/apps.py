"""Apps of the current workspace: listing, finding by name, DSL export and import."""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dify_cli.errors import (
    ApiError,
    AuthError,
    ConfigError,
    DifyError,
    NotFoundError,
    UsageError,
)
from dify_cli.versions import parse_version

if TYPE_CHECKING:
    from pathlib import Path

    from dify_cli.client import Reply
    from dify_cli.connection import Connection

# The most the app list hands out per page.
PAGE_SIZE = 100
# The app list stops at this page number.
MAX_PAGE = 99999

MODES = ("chat", "completion", "workflow", "advanced-chat", "agent-chat", "channel")
# Before 1.1.3 the list's filter knew neither completion nor advanced-chat;
# it returned them under these broader filters.
_OLD_FILTERS = {"completion": "workflow", "advanced-chat": "chat"}

# Called with (done, total) as long work advances.
Progress = Callable[[int, int], None]

_UUID = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE
)


def is_app_id(text: str) -> bool:
    return bool(_UUID.match(text))


def _at_least(version: str | None, floor: str) -> bool:
    parsed = parse_version(version)
    return parsed is not None and parsed.at_least(floor)


def _forbidden(action: str) -> AuthError:
    return AuthError(
        f"Your role in this workspace does not allow {action} (403).",
        hint="It takes the editor, admin or owner role; ask a workspace admin.",
    )


# How werkzeug's bare Forbidden begins, which Dify sends when a role falls short.
_BARE_FORBIDDEN = "You don't have the permission to access the requested resource"


def _import_forbidden(reply: Reply) -> DifyError:
    """A 403 on import: a role that falls short, unless the server says what
    else it is (Dify Cloud refuses with its own message when the workspace has
    as many apps as its subscription allows)."""
    message = reply.message
    if not message or message == "Forbidden" or message.startswith(_BARE_FORBIDDEN):
        return _forbidden("importing apps")
    return ApiError(
        f"The server refused the import: {message.rstrip('.')}.",
        status=reply.status,
        code=reply.code,
    )


# -- listing ---------------------------------------------------------------


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    tags = [tag.get("name") for tag in item.get("tags") or [] if isinstance(tag, dict)]
    return {
        "id": item.get("id"),
        "name": item.get("name"),
        "mode": item.get("mode"),
        "description": item.get("description") or "",
        "tags": tags,
        "created_at": item.get("created_at"),
        "updated_at": item.get("updated_at"),
    }


def list_apps(
    conn: Connection,
    *,
    mode: str | None = None,
    name: str | None = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Every app of the current workspace, newest first, following all pages.

    ``mode`` keeps apps of exactly that mode and ``name`` those whose name
    contains it (ignoring case). The server filters first; the result is
    filtered again here because older servers' filters are broader. Each app
    keeps a fixed set of fields (those of ``_summary``); ``dify api apps``
    gives all the server returns.
    """
    params: dict[str, Any] = {"limit": PAGE_SIZE}
    if mode and mode != "all":
        if not _at_least(conn.session.server_version, "1.1.3"):
            params["mode"] = _OLD_FILTERS.get(mode, mode)
        else:
            params["mode"] = mode
    if name:
        # The server compares only the first 30 characters.
        params["name"] = name[:30]

    apps: dict[str, dict[str, Any]] = {}
    page = 1
    while page <= MAX_PAGE:
        body = conn.request("GET", "apps", params={**params, "page": page})
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise ApiError(
                "The server answered the app list in an unknown shape.", status=200
            )
        items = [item for item in body["data"] if isinstance(item, dict)]
        # An app created while we page pushes the others down one place:
        # the same app can show up twice.
        known = len(apps)
        for item in items:
            apps.setdefault(str(item.get("id")), item)
        if progress is not None:
            total = body.get("total")
            progress(len(apps), total if isinstance(total, int) else len(apps))
        if body.get("has_more") is not True or not items:
            break
        if len(apps) == known:
            # A page of nothing new while more is promised: a proxy that
            # ignores the query, say. Following it would never end.
            raise ApiError(
                f"The server's page {page} of apps repeats earlier pages while "
                "saying more follow; stopped.",
                status=200,
                hint="Check any proxy or cache in front of the server.",
            )
        page += 1

    found = [_summary(item) for item in apps.values()]
    if mode and mode != "all":
        found = [app for app in found if app["mode"] == mode]
    if name:
        found = [app for app in found if name.lower() in str(app["name"]).lower()]
    return found


def find_app(conn: Connection, ref: str) -> dict[str, Any]:
    """The app whose id, or else whose exact name, is ``ref``.

    An id is taken as it is, without a request; a name costs a listing.
    """
    if is_app_id(ref):
        return {"id": ref, "name": None, "mode": None}
    named = [app for app in list_apps(conn, name=ref) if app["name"] == ref]
    if len(named) == 1:
        return named[0]
    if named:
        listed = ", ".join(f"{app['id']} ({app['mode']})" for app in named)
        raise UsageError(
            f"{len(named)} apps are named {ref!r}: {listed}.",
            hint="Give the id instead.",
        )
    import difflib

    names = [str(app["name"]) for app in list_apps(conn)]
    near = [name for name in names if name.lower() == ref.lower()]
    near += difflib.get_close_matches(ref, names, n=5, cutoff=0.6)
    near = list(dict.fromkeys(near))[:5]
    if near:
        hint = "Did you mean " + ", ".join(repr(name) for name in near) + "?"
    else:
        hint = "See `dify app list`."
    raise NotFoundError(f"No app named {ref!r} in the current workspace.", hint=hint)


# -- export ----------------------------------------------------------------


def export_app(conn: Connection, app_id: str, *, include_secret: bool = False) -> str:
    """The app's DSL (YAML), as the server exports it."""
    params = {"include_secret": "true" if include_secret else "false"}
    try:
        body = conn.request("GET", f"apps/{app_id}/export", params=params)
    except ApiError as error:
        if error.status == 404:
            raise NotFoundError(
                f"No app with the id {app_id} in the current workspace.",
                hint="See `dify app list`.",
            ) from None
        if error.status == 403:
            raise _forbidden("exporting apps") from None
        raise
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, str):
        raise ApiError(
            "The server answered the export in an unknown shape.", status=200
        )
    return data


_RESERVED = {"con", "prn", "aux", "nul"} | {
    f"{kind}{n}" for kind in ("com", "lpt") for n in range(1, 10)
}


def safe_file_stem(name: str) -> str:
    """A file name stem from an app name that is safe on every OS.

    Letters and digits of any script are kept, everything else becomes ``-``;
    the result is lower-case, at most 80 characters, and never a name Windows
    reserves.
    """
    text = unicodedata.normalize("NFC", name).lower()
    stem = "".join(char if char.isalnum() else "-" for char in text)
    stem = re.sub(r"-{2,}", "-", stem).strip("-")[:80].strip("-")
    if not stem:
        return "app"
    if stem in _RESERVED:
        return f"{stem}-app"
    return stem


def export_file_names(apps: list[dict[str, Any]]) -> dict[str, str]:
    """A distinct ``.yml`` file name for each app id.

    Apps whose names give the same stem get the start of their id appended,
    so no export overwrites another.
    """
    stems = {str(app["id"]): safe_file_stem(str(app.get("name") or "")) for app in apps}
    counts: dict[str, int] = {}
    for stem in stems.values():
        counts[stem] = counts.get(stem, 0) + 1
    return {
        app_id: f"{stem}-{app_id[:8]}.yml" if counts[stem] > 1 else f"{stem}.yml"
        for app_id, stem in stems.items()
    }


@dataclass(frozen=True)
class ExportedApp:
    id: str
    name: str
    mode: str
    file: str

    def summary(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "mode": self.mode, "file": self.file}


def export_all(
    conn: Connection,
    directory: Path,
    *,
    include_secret: bool = False,
    overwrite: bool = False,
    listing: Progress | None = None,
    progress: Progress | None = None,
) -> list[ExportedApp]:
    """Export every app of the current workspace into ``directory``, one file each.

    Files that already exist are not replaced unless ``overwrite``: then
    nothing at all is written. Each file is written whole or not at all.
    """
    from dify_cli.fileio import atomic_write_text

    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} exists and is not a folder.")
    apps = list_apps(conn, progress=listing)
    names = export_file_names(apps)
    if not overwrite:
        existing = sorted(
            name for name in names.values() if (directory / name).exists()
        )
        if existing:
            shown = ", ".join(existing[:5]) + (", ..." if len(existing) > 5 else "")
            raise UsageError(
                f"{len(existing)} of the files already exist in {directory} "
                f"({shown}); nothing was written.",
                hint="Pass --force to replace them, or choose another folder.",
            )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(
            f"Could not create {directory}: {error.strerror or error}."
        ) from None

    done: list[ExportedApp] = []
    for app in apps:
        app_id = str(app["id"])
        try:
            text = export_app(conn, app_id, include_secret=include_secret)
        except DifyError as error:
            # Said on the error itself, so that it keeps its class and exit code.
            error.message = (
                f"Exported {len(done)} of {len(apps)} apps to {directory}, then "
                f"{app['name']!r} failed: {error.message}"
            )
            raise
        path = directory / names[app_id]
        atomic_write_text(path, _with_newline(text), mode=_file_mode(include_secret))
        done.append(ExportedApp(app_id, str(app["name"]), str(app["mode"]), str(path)))
        if progress is not None:
            progress(len(done), len(apps))
    return done


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _file_mode(include_secret: bool) -> int:
    # Secrets stay readable by their owner only.
    return 0o600 if include_secret else 0o644


def check_export_target(path: Path, *, folder: bool = False) -> None:
    """Stop before anything is exported when ``path`` cannot be written.

    ``path`` is the file for one app, or with ``folder`` the folder for all
    of them, created if missing. A file that is a folder (or the reverse) is
    a UsageError; a folder that is missing or not writable is a ConfigError.
    Writing can still fail later (a full disk): ``write_export`` says so.
    """
    if folder:
        if path.exists() and not path.is_dir():
            raise UsageError(f"{path} exists and is not a folder.")
        # The folder is created with its parents: the first that exists decides.
        existing = next(
            (part for part in (path, *path.absolute().parents) if part.exists()),
            None,
        )
        if existing is not None:
            _check_folder(existing, path)
        return
    if path.is_dir():
        raise UsageError(
            f"{path} is a folder; -o takes the file to write for one app.",
            hint="Give a file name, or pass --all to export every app into it.",
        )
    if path.exists() and not path.is_file():
        # The file is replaced, not written into: a device would be replaced.
        raise UsageError(
            f"{path} is not a regular file.",
            hint="Give a file name, or - for standard output.",
        )
    _check_folder(path.absolute().parent, path)


def _check_folder(folder: Path, target: Path) -> None:
    problem = None
    if not folder.exists():
        problem = f"the folder {folder} does not exist"
    elif not folder.is_dir():
        problem = f"{folder} is not a folder"
    elif not os.access(folder, os.W_OK | os.X_OK):
        problem = f"the folder {folder} is not writable"
    if problem is not None:
        raise ConfigError(f"Cannot write {target}: {problem}.")


def write_export(path: Path, text: str, *, include_secret: bool) -> None:
    """Write an exported DSL to ``path``: the whole file or, on failure, none."""
    from dify_cli.fileio import atomic_write_text

    atomic_write_text(path, _with_newline(text), mode=_file_mode(include_secret))


# -- import: reading and checking the DSL -------------------------------------

# A top-level key, bare or quoted, and the rest of its line.
_TOP_KEY = re.compile(r"^([\"']?)(kind|app|version)\1[ \t]*:(.*)$", re.MULTILINE)


def read_dsl(source: str) -> str:
    """The DSL text of a file, or of standard input for ``-``, checked cheaply."""
    from dify_cli.inputs import read_file, read_stdin, stdin_is_terminal

    if source == "-":
        if stdin_is_terminal():
            # Reading would wait for typing that never comes.
            raise UsageError(
                "Standard input is a terminal, not a DSL.",
                hint="Pipe a DSL in, e.g. `dify app export APP | dify app import -`, "
                "or give a file.",
            )
        data = read_stdin()
        if not data.strip():
            raise UsageError(
                "Nothing on standard input.",
                hint="Pipe a DSL in, e.g. `dify app export APP | dify app import -`.",
            )
        return check_dsl(data, "standard input")
    return check_dsl(read_file(source), source)


def check_dsl(data: bytes, label: str) -> str:
    """The text of ``data`` if it can be a Dify app DSL; UsageError if not.

    Without a YAML parser this checks what is cheap: text, not empty, and a
    top-level ``kind: app``, ``app:`` or ``version:`` key. The server parses
    it for real.
    """
    if not data.strip():
        raise UsageError(f"{label} is empty.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{label} is not a text file, so not a Dify DSL.") from None
    if "\x00" in text:
        raise UsageError(f"{label} is not a text file, so not a Dify DSL.")

    keys = {match[2]: _yaml_scalar(match[3]) for match in _TOP_KEY.finditer(text)}
    if not keys and text.lstrip().startswith("{"):
        keys = _json_keys(text)
    kind = keys.get("kind") or "app"
    if kind != "app":
        raise UsageError(f"{label} is a Dify {kind} DSL, not an app.")
    if not keys:
        raise UsageError(
            f"{label} does not look like a Dify app DSL: it has no top-level "
            "`kind: app`, `app:` or `version:` key.",
        )
    return text


def _yaml_scalar(rest: str) -> str:
    """The value of a one-line YAML scalar: unquoted, its comment dropped.

    ``rest`` is what follows the key's colon. A plain value ends where `` #``
    starts a comment; a quoted one at its closing quote.
    """
    rest = rest.strip()
    if rest[:1] == '"':
        match = re.match(r'"((?:[^"\\]|\\.)*)"', rest)
        return match[1] if match else rest
    if rest[:1] == "'":
        match = re.match(r"'((?:[^']|'')*)'", rest)
        return match[1].replace("''", "'") if match else rest
    if rest.startswith("#"):
        return ""
    return re.split(r"[ \t]#", rest, maxsplit=1)[0].rstrip()


def _json_keys(text: str) -> dict[str, str]:
    # JSON is YAML too, and the server reads it; take its top-level keys.
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {key: str(data[key]) for key in ("kind", "app", "version") if key in data}


# -- import: talking to the server --------------------------------------------


@dataclass(frozen=True)
class PendingImport:
    """An import the server holds until it is confirmed (the DSL version differs)."""

    import_id: str
    current_dsl_version: str | None
    imported_dsl_version: str | None
    warning: str


@dataclass(frozen=True)
class ImportResult:
    """An imported app, and how the import went."""

    id: str
    name: str | None
    mode: str | None
    status: str
    current_dsl_version: str | None = None
    imported_dsl_version: str | None = None
    warning: str | None = None
    confirmed: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "mode": self.mode,
            "status": self.status,
            "current_dsl_version": self.current_dsl_version,
            "imported_dsl_version": self.imported_dsl_version,
            "warning": self.warning,
            "confirmed": self.confirmed,
        }


def uses_import_confirmation(server_version: str | None) -> bool:
    """Dify 0.12.0 replaced ``apps/import`` with ``apps/imports`` and its confirm
    step; a server of unknown version is taken to be newer."""
    parsed = parse_version(server_version)
    return parsed is None or parsed.at_least("0.12.0")


def _release(version: str | None) -> tuple[int, ...]:
    parsed = parse_version(version)
    release = list(parsed.release if parsed else ())
    return tuple(release + [0] * (3 - len(release)))


def version_warning(current: str | None, imported: str | None, *, pending: bool) -> str:
    """What a DSL version differing from the server's means for the user.

    Dify's confirmation answer carries no text of its own, so the warning is
    built from the two versions it reports.
    """
    theirs = imported or "unknown"
    ours = current or "unknown"
    if _release(imported) > _release(current):
        return (
            f"This DSL comes from a newer Dify (DSL version {theirs}; this server "
            f"reads {ours}): parts of the app may be lost or not work."
        )
    if pending:
        return (
            f"This DSL's version {theirs} differs from this server's {ours}: "
            "parts of the app may not import as they were."
        )
    return (
        f"This DSL's version {theirs} is older than this server's {ours}; "
        "the app was upgraded on import: check it in the console."
    )


def import_app(
    conn: Connection,
    text: str,
    *,
    app_id: str | None = None,
    name: str | None = None,
    confirm: Callable[[PendingImport], bool],
) -> ImportResult:
    """Import a DSL as a new app, or into the workflow app ``app_id``.

    When the server holds the import because the DSL version differs,
    ``confirm`` decides; if it declines, ImportDeclined is raised and nothing
    is imported. The API is chosen by the server version the session knows.
    """
    if uses_import_confirmation(conn.session.server_version):
        return _import_with_confirmation(conn, text, app_id, name, confirm)
    return _import_old(conn, text, app_id, name)


class ImportDeclined(DifyError):
    """The import was held for confirmation and not confirmed: nothing imported."""


def _import_with_confirmation(
    conn: Connection,
    text: str,
    app_id: str | None,
    name: str | None,
    confirm: Callable[[PendingImport], bool],
) -> ImportResult:
    payload: dict[str, Any] = {"mode": "yaml-content", "yaml_content": text}
    if name:
        payload["name"] = name
    if app_id:
        payload["app_id"] = app_id
    body = _import_body(conn, conn.send("POST", "apps/imports", json_body=payload))

    confirmed = False
    if body["status"] == "pending":
        pending = PendingImport(
            import_id=str(body.get("id")),
            current_dsl_version=_text_or_none(body.get("current_dsl_version")),
            imported_dsl_version=_text_or_none(body.get("imported_dsl_version")),
            warning=_with_server_note(
                version_warning(
                    _text_or_none(body.get("current_dsl_version")),
                    _text_or_none(body.get("imported_dsl_version")),
                    pending=True,
                ),
                body,
            ),
        )
        if not confirm(pending):
            raise ImportDeclined(
                "Import not confirmed; nothing was imported.",
                hint="Pass --yes to import a DSL of another version.",
            )
        path = f"apps/imports/{pending.import_id}/confirm"
        body = _import_body(conn, conn.send("POST", path))
        confirmed = True

    new_id = str(body.get("app_id") or "")
    if not new_id:
        raise ApiError("The server finished the import but named no app.", status=200)
    warning = None
    if body["status"] == "completed-with-warnings":
        warning = _with_server_note(
            version_warning(
                _text_or_none(body.get("current_dsl_version")),
                _text_or_none(body.get("imported_dsl_version")),
                pending=False,
            ),
            body,
        )
    app = _app_detail(conn, new_id)
    return ImportResult(
        id=new_id,
        name=app.get("name") or name,
        mode=app.get("mode") or _text_or_none(body.get("app_mode")),
        status=str(body["status"]),
        current_dsl_version=_text_or_none(body.get("current_dsl_version")),
        imported_dsl_version=_text_or_none(body.get("imported_dsl_version")),
        warning=warning,
        confirmed=confirmed,
    )


def _import_body(conn: Connection, reply: Reply) -> dict[str, Any]:
    """The Import object of an answer; DifyError for a failed import."""
    body = reply.body
    if reply.status == 403:
        raise _import_forbidden(reply)
    if not isinstance(body, dict) or body.get("status") not in (
        "completed",
        "completed-with-warnings",
        "pending",
        "failed",
    ):
        if reply.status < 300:
            raise ApiError(
                "The server answered the import in an unknown shape.",
                status=reply.status,
            )
        raise conn.client.error_for(reply)
    if body["status"] == "failed":
        # A YAML parser's message spans lines; its first says what is wrong.
        lines = str(body.get("error") or "").strip().splitlines()
        reason = lines[0].rstrip(".:") if lines else "no reason given"
        raise ApiError(f"The server refused the import: {reason}.", status=reply.status)
    return body


def _with_server_note(warning: str, body: dict[str, Any]) -> str:
    note = str(body.get("error") or "").strip()
    return f"{warning} The server says: {note}" if note else warning


def _text_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _app_detail(conn: Connection, app_id: str) -> dict[str, Any]:
    # The import answer names only the app id: its name comes from here. The
    # import has happened already, so failing to read it must not hide that.
    try:
        body = conn.request("GET", f"apps/{app_id}")
    except DifyError:
        return {}
    return body if isinstance(body, dict) else {}


def _import_old(
    conn: Connection, text: str, app_id: str | None, name: str | None
) -> ImportResult:
    if app_id:
        if name:
            raise UsageError(
                "--name cannot be combined with --app-id on servers before "
                "Dify 0.12.0: they replace only the workflow.",
            )
        path = f"apps/{app_id}/workflows/draft/import"
        reply = conn.send("POST", path, json_body={"data": text})
        _check_old_reply(conn, reply)
        app = _app_detail(conn, app_id)
        return ImportResult(
            id=app_id, name=app.get("name"), mode=app.get("mode"), status="completed"
        )

    payload: dict[str, Any] = {"data": text}
    if name:
        payload["name"] = name
    reply = conn.send("POST", "apps/import", json_body=payload)
    _check_old_reply(conn, reply)
    body = reply.body if isinstance(reply.body, dict) else {}
    if not body.get("id"):
        raise ApiError(
            "The server answered the import in an unknown shape.", status=200
        )
    return ImportResult(
        id=str(body["id"]),
        name=_text_or_none(body.get("name")),
        mode=_text_or_none(body.get("mode")),
        status="completed",
    )


def _check_old_reply(conn: Connection, reply: Reply) -> None:
    if reply.status < 300:
        return
    if reply.status == 403:
        raise _import_forbidden(reply)
    if reply.status == 404:
        raise NotFoundError(
            f"The server has no such workflow app: {reply.message or 'not found'}",
            hint="Only workflow and advanced-chat apps can be overwritten.",
        )
    if reply.status == 400:
        raise ApiError(
            f"The server refused the import: {reply.message.rstrip('.')}.",
            status=400,
        )
    raise conn.client.error_for(reply)
