"""``dify status``: the account, the settings' sources, and whether the session works.

Without ``--offline`` the session is checked with one request; the workspace
shown is the profile's setting, since asking the server for its current one
would cost a second request.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from dify_cli.cli.context import app_context
from dify_cli.cli.output import emit, json_option, message, setting_text
from dify_cli.errors import AuthError, ConfigError, DifyError, dify_command
from dify_cli.terminal_text import printable

if TYPE_CHECKING:
    from dify_cli.profiles import ProfileStore
    from dify_cli.sessions import Session, SessionStore
    from dify_cli.settings import Settings

# Exit codes: 0 connected; 4 not connected; otherwise the failure's own code.
CONNECTED = "connected"


def _until(timestamp: float | None) -> str:
    if timestamp is None:
        return "unknown"
    seconds = int(timestamp - time.time())
    if seconds <= 0:
        return "expired"
    if seconds < 120:
        return f"in {seconds} s"
    if seconds < 7200:
        return f"in {seconds // 60} min"
    return f"in {seconds // 3600} h"


def _settings_rows(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        key: {
            "value": setting.value,
            "source": setting.source,
            "origin": setting.origin,
        }
        for key, setting in settings.values.items()
    }


def _renews_itself(session: Session) -> bool:
    """Whether the session's auth method can log in again without the user."""
    from dify_cli.connection import session_method

    try:
        return session_method(session).renew is not None
    except ConfigError:
        return False


def _offline_state(session: Session | None) -> tuple[str, int]:
    from dify_cli.connection import has_credentials

    if session is None or not has_credentials(session):
        return "not connected", AuthError.exit_code
    expires_at = session.access_expires_at
    if expires_at is not None and expires_at <= time.time():
        if session.refresh_token or _renews_itself(session):
            return "access token expired; renews on next use", 0
        return "expired", AuthError.exit_code
    return "session stored (not checked)", 0


def profile_status(
    settings: Settings, store: SessionStore, *, offline: bool
) -> tuple[dict[str, Any], int]:
    """What ``status`` shows for one profile, and the exit code it stands for."""
    from dify_cli.connection import Connection, has_credentials, make_client

    stored = store.load(settings.profile)
    session = stored if stored and stored.server == settings.server else None
    data: dict[str, Any] = {
        "profile": settings.profile,
        "profile_source": settings.profile_source,
        "profile_exists": settings.profile_exists,
        "server": settings.server,
        "server_version": session.server_version if session else None,
        "generation": session.generation if session else None,
        "auth_method": session.auth_method if session else settings.auth_method,
        "account": dict(session.account) if session else None,
        "workspace": settings.workspace,
        "access_expires_at": session.access_expires_at if session else None,
        "connected": False,
        "state": "not connected",
        "error": None,
        "settings": _settings_rows(settings),
    }
    if stored is not None and session is None:
        data["error"] = (
            f"the stored session is for {stored.server}, not the profile's server"
        )
    if session is not None and session.pending and not session.access_token:
        data["state"] = "login pending (code sent)"

    if offline or session is None or not has_credentials(session):
        state, code = _offline_state(session)
        if code:
            data["error"] = data["error"] or (
                f"run {dify_command(settings.profile, 'connect')}"
            )
        if session is not None and has_credentials(session):
            data["state"] = state
            data["connected"] = None if code == 0 else False
        return data, code

    conn = Connection(
        settings.profile, settings, store, session, make_client(settings, session)
    )
    try:
        account = conn.check()
    except DifyError as error:
        data["error"] = error.message
        if isinstance(error, AuthError):
            data["state"] = "not connected"
        else:
            # The check itself failed (the server is down, say): besides the
            # report, say so on stderr as every other command would.
            data["state"] = "error"
            message(f"Error: {error}")
        return data, error.exit_code
    finally:
        conn.close()
    data.update(
        connected=True,
        state=CONNECTED,
        account={key: account.get(key) for key in ("id", "email", "name")},
        access_expires_at=conn.session.access_expires_at,
        server_version=conn.session.server_version,
        renewed=conn.renewed,
    )
    return data, 0


def _origin(row: dict[str, Any]) -> str:
    # A profile value's origin is the file's path, shown once in the heading.
    if row["source"] == "flag" and row["origin"]:
        return str(row["origin"])
    if row["source"] == "env" and row["origin"]:
        return f"env {row['origin']}"
    return str(row["source"])


# How the profile was picked, in words; --all picks none, so shows none.
_SELECTED_BY = {
    "flag": "selected by --profile",
    "env": "selected by DIFY_PROFILE",
    "profile": "the default profile",
    "default": "the profile named default",
}


def _heading(data: dict[str, Any]) -> str:
    saved = "saved" if data["profile_exists"] else "not saved"
    source = data["profile_source"]
    if source is not None:
        return f"Profile {data['profile']} ({_SELECTED_BY[source]}; {saved})"
    if data.get("default"):
        return f"Profile {data['profile']} (the default profile; {saved})"
    return f"Profile {data['profile']} ({saved})"


def _render_one(data: dict[str, Any]) -> str:
    account = data.get("account") or {}
    who = "-"
    if account.get("email"):
        who = f"{account.get('name') or ''} <{account['email']}>".strip()
    server = data["server"]
    if data.get("server_version"):
        server += f" (Dify {data['server_version']}, {data.get('generation')})"
    lines = [
        _heading(data),
        f"  Server:     {server}",
        f"  Account:    {who}",
        f"  Workspace:  {data.get('workspace') or 'as last chosen on the server'}",
        f"  Method:     {data.get('auth_method')}",
    ]
    if data.get("access_expires_at") is not None:
        renewed = " (renewed just now)" if data.get("renewed") else ""
        until = _until(data["access_expires_at"])
        expiry = until if until == "expired" else f"expires {until}"
        lines.append(f"  Access:     {expiry}{renewed}")
    state = data["state"]
    if data.get("error"):
        state += f": {data['error']}"
    lines.append(f"  Status:     {state}")
    lines.append("  Settings:")
    rows = data["settings"]
    values = {
        key: setting_text(row["value"], quoted=False) for key, row in rows.items()
    }
    width = max((len(key) for key in rows), default=0)
    value_width = max((len(value) for value in values.values()), default=0)
    for key, row in rows.items():
        lines.append(
            f"    {key:<{width}}  {values[key]:<{value_width}}  {_origin(row)}"
        )
    return "\n".join(lines)


def _profile_names(store: ProfileStore, sessions: SessionStore) -> list[str]:
    # Sessions kept without a profile (`connect --no-save`) count too; a
    # profile that is neither saved nor connected is not listed.
    names = store.names()
    names += [name for name in sessions.profiles() if name not in names]
    return names


@click.command("status")
@click.option("--all", "all_profiles", is_flag=True, help="Cover every profile.")
@click.option("--offline", is_flag=True, help="Show the stored state; send no request.")
@json_option
def command(all_profiles: bool, offline: bool) -> None:
    """Show who you are connected as, and whether the session works.

    Exits 0 when connected, 4 when not (for --all: when any profile is not),
    5 when the server cannot be reached. With --all, a profile whose settings
    cannot be used is reported on stderr, the others are still shown, and the
    exit code is that configuration error's (3).
    """
    from dify_cli.connection import resolve_settings
    from dify_cli.settings import FALLBACK_PROFILE

    app = app_context()
    profiles = app.profile_store()
    sessions = app.session_store()
    unusable: list[int] = []
    if all_profiles:
        names = _profile_names(profiles, sessions)
        if not names:
            raise ConfigError(
                "There are no profiles yet.",
                hint="Run `dify --profile NAME connect --server URL`.",
            )
        every = []
        for name in names:
            # One profile that cannot be used hides none of the others.
            try:
                every.append(resolve_settings(profiles, name, check_exists=False))
            except DifyError as error:
                click.echo(printable(f"Error: profile {name}: {error}"), err=True)
                unusable.append(error.exit_code)
    else:
        every = [resolve_settings(profiles, app.profile, sessions=sessions)]

    results = [profile_status(s, sessions, offline=offline) for s in every]
    codes = [code for _, code in results]
    default = profiles.default_name() or FALLBACK_PROFILE
    for data, _ in results:
        data["default"] = data["profile"] == default
        if all_profiles:
            # --all lists profiles; it selects none of them.
            data["profile_source"] = None
    if all_profiles:
        emit(
            [data for data, _ in results],
            lambda items: "\n\n".join(_render_one(item) for item in items),
        )
    else:
        emit(results[0][0], _render_one)
    # A profile that cannot be used is a configuration to mend first.
    failed = unusable or [code for code in codes if code]
    if failed:
        code = AuthError.exit_code if AuthError.exit_code in failed else failed[0]
        click.get_current_context().exit(code)
