"""``dify workspace``: list the account's workspaces and switch between them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from dify_cli.cli.context import app_context
from dify_cli.cli.output import emit, json_option, message

if TYPE_CHECKING:
    from dify_cli.connection import Connection


def _connection() -> Connection:
    from dify_cli.connection import open_connection, resolve_settings

    app = app_context()
    sessions = app.session_store()
    settings = resolve_settings(app.profile_store(), app.profile, sessions=sessions)
    return open_connection(settings, sessions)


def _render_list(items: list[dict[str, Any]]) -> str:
    if not items:
        return "This account belongs to no workspace."
    width = max(len(str(item.get("name") or "")) for item in items)
    lines = []
    for item in items:
        mark = "*" if item.get("current") else " "
        name = str(item.get("name") or "")
        lines.append(f"{mark} {name:<{width}}  {item['id']}")
    return "\n".join(lines)


@click.group("workspace")
def command() -> None:
    """List and switch workspaces.

    Dify keeps the current workspace per account on the server: switching here
    also switches the web console and every other session of the account.
    """


@command.command("list")
@json_option
def list_command() -> None:
    """List the account's workspaces; the current one is marked with *."""
    from dify_cli.workspaces import list_workspaces

    conn = _connection()
    try:
        items = list_workspaces(conn)
    finally:
        conn.close()
    emit(items, _render_list)


@command.command("switch")
@click.argument("workspace")
@json_option
def switch_command(workspace: str) -> None:
    """Make WORKSPACE (an id or exact name) the current workspace.

    The switch is stored on the server for the whole account, so the web
    console opens that workspace too. App commands work in the current
    workspace. A profile's `workspace` setting is switched to again at the
    next login by `dify connect`.
    """
    from dify_cli.workspaces import switch_workspace

    conn = _connection()
    try:
        result = switch_workspace(conn, workspace)
    finally:
        conn.close()

    wanted = conn.settings.workspace
    target = result.workspace
    if wanted and wanted not in (target.get("id"), target.get("name")):
        message(
            f"note: profile {conn.profile!r} sets workspace {wanted!r}; "
            "`dify connect` switches back to it at the next login."
        )

    def render(data: dict[str, Any]) -> str:
        if not data["switched"]:
            return f"Already in workspace {data['name']} ({data['id']})."
        return (
            f"Switched to workspace {data['name']} ({data['id']}), "
            "for the web console too."
        )

    emit(result.summary(), render)
