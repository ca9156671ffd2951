"""``dify disconnect``: log out on the server and delete the stored session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from dify_cli.cli.context import app_context
from dify_cli.cli.output import emit, json_option, warn
from dify_cli.errors import DifyError

if TYPE_CHECKING:
    from dify_cli.sessions import SessionStore
    from dify_cli.settings import Settings


def _server_logout(settings: Settings, store: SessionStore) -> str | None:
    """Log out on the profile's server; the reason it failed, or None."""
    from dify_cli.connection import Connection, make_client

    session = store.load(settings.profile)
    if session is None or not session.access_token:
        return None
    client = make_client(settings, session)
    conn = Connection(settings.profile, settings, store, session, client)
    try:
        conn.ensure_fresh()
        conn.client.logout()
    except DifyError as error:
        return error.message
    finally:
        conn.close()
    return None


def disconnect_profile(
    profile: str, settings: Settings | DifyError, store: SessionStore
) -> dict[str, Any]:
    """Log out on the server, then delete the stored session whatever happened.

    ``settings`` is the profile's, or the error that stopped them resolving
    (a bad value written by hand, a name no profile can have): the session is
    then deleted without logging out, as there is no server to trust. A
    session file that cannot be read is deleted the same way: it may still
    hold live tokens, but nothing in it says where to send them.
    """
    session = store.load(profile)
    data: dict[str, Any] = {
        "profile": profile,
        "server": session.server if session else None,
        "had_session": session is not None,
        "unreadable": False,
        "server_logout": False,
        "warning": None,
    }
    if session is None:
        if not store.path_for(profile).exists():
            return data
        with store.lock(profile):
            # Read again under the lock: another process may have saved a
            # good session since.
            if store.load(profile) is None and store.delete(profile):
                data["had_session"] = data["unreadable"] = True
        return data
    if isinstance(settings, DifyError):
        data["warning"] = (
            f"profile {profile} cannot be used ({settings.message}); its session "
            "is deleted here without logging out on the server."
        )
    elif session.server != settings.server:
        # The profile's TLS settings are for its own server: the session's
        # tokens are not sent anywhere with them.
        data["warning"] = (
            f"the session is for {session.server}, which the profile no longer "
            "names; it is deleted here without logging out there."
        )
    elif session.access_token:
        problem = _server_logout(settings, store)
        data["server_logout"] = problem is None
        if problem:
            data["warning"] = (
                f"could not log out on {session.server} ({problem}); "
                "the local session is deleted anyway."
            )
    with store.lock(profile):
        store.delete(profile)
    return data


def _render(items: list[dict[str, Any]]) -> str:
    lines = []
    for item in items:
        if not item["had_session"]:
            lines.append(f"Profile {item['profile']} had no session.")
        elif item["unreadable"]:
            lines.append(
                f"Deleted the unreadable session of profile {item['profile']}."
            )
        else:
            lines.append(
                f"Disconnected profile {item['profile']} from {item['server']}."
            )
    return "\n".join(lines)


@click.command("disconnect")
@click.option("--all", "all_profiles", is_flag=True, help="Disconnect every profile.")
@json_option
def command(all_profiles: bool) -> None:
    """Log out on the server and delete the stored session.

    The local session is deleted even when the server cannot be reached.
    """
    from dify_cli.connection import resolve_settings

    app = app_context()
    profiles = app.profile_store()
    sessions = app.session_store()
    chosen: dict[str, Settings | DifyError] = {}
    if all_profiles:
        # Sessions kept without a profile (`connect --no-save`) go too, and
        # one profile that cannot be used stops none of the others.
        names = profiles.names()
        names += [name for name in sessions.profiles() if name not in names]
        for name in names:
            try:
                chosen[name] = resolve_settings(profiles, name, check_exists=False)
            except DifyError as error:
                chosen[name] = error
    else:
        import os

        from dify_cli.settings import select_profile

        name, _ = select_profile(app.profile, profiles, os.environ)
        try:
            chosen[name] = resolve_settings(profiles, app.profile, sessions=sessions)
        except DifyError as error:
            # A profile that exists but cannot be used still loses its session;
            # one that does not exist at all is a mistyped name.
            if name not in profiles.names() and not sessions.path_for(name).exists():
                raise
            chosen[name] = error

    results = []
    for name, settings in chosen.items():
        result = disconnect_profile(name, settings, sessions)
        if result["warning"]:
            warn(result["warning"])
        results.append(result)
    emit(results if all_profiles else results[0], _render_list(all_profiles))


def _render_list(all_profiles: bool) -> Any:
    if all_profiles:
        return _render
    return lambda item: _render([item])
