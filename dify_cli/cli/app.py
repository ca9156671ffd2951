"""``dify app``: list, export and import the apps of the current workspace."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dify_cli.apps import MODES, PAGE_SIZE, check_export_target
from dify_cli.cli.context import app_context
from dify_cli.cli.output import emit, json_option, message, warn
from dify_cli.cli.progress import progress_bar
from dify_cli.errors import UsageError

if TYPE_CHECKING:
    from dify_cli.apps import PendingImport
    from dify_cli.connection import Connection


def _connection() -> Connection:
    from dify_cli.connection import open_connection, resolve_settings

    app = app_context()
    sessions = app.session_store()
    settings = resolve_settings(app.profile_store(), app.profile, sessions=sessions)
    return open_connection(settings, sessions)


@click.group("app")
def command() -> None:
    """List, export and import the apps of the current workspace.

    Promote an app from one environment to another with a pipe:

      dify -p staging app export my-app | dify -p prod app import - --yes
    """


def _render_list(apps: list[dict[str, Any]]) -> str:
    if not apps:
        message("No apps in the current workspace match.")
        return ""
    width = max(len(str(app["mode"])) for app in apps)
    return "\n".join(
        f"{app['id']}  {app['mode']:<{width}}  {app['name']}" for app in apps
    )


@command.command("list")
@click.option(
    "--mode", type=click.Choice(["all", *MODES]), help="Only apps of this mode."
)
@click.option("--name", help="Only apps whose name contains this text (any case).")
@json_option
def list_command(mode: str | None, name: str | None) -> None:
    """List the apps: id, mode and name, newest first, every page."""
    from dify_cli.apps import list_apps

    conn = _connection()
    try:
        with progress_bar("Listing apps", at_least=PAGE_SIZE + 1) as progress:
            apps = list_apps(conn, mode=mode, name=name, progress=progress)
    finally:
        conn.close()
    emit(apps, _render_list)


@command.command("export")
@click.argument("app", required=False)
@click.option("--all", "all_apps", is_flag=True, help="Export every app, into -o DIR.")
@click.option(
    "-o",
    "--output",
    metavar="PATH",
    help="File to write (default: standard output); with --all, a folder.",
)
@click.option(
    "--include-secret",
    is_flag=True,
    help="Keep secret values (environment variables) in the DSL.",
)
@click.option("--force", is_flag=True, help="With --all: replace files already there.")
@json_option
def export_command(
    app: str | None,
    all_apps: bool,
    output: str | None,
    include_secret: bool,
    force: bool,
) -> None:
    """Export APP (an id or exact name) as its DSL (YAML).

    With --all, every app of the workspace goes into its own file in the
    folder -o DIR, named after the app; existing files stop the export before
    anything is written, unless --force.
    """
    if output == "":
        raise UsageError("-o needs a path; give - (or no -o) for standard output.")
    target = None if output in (None, "-") else Path(output)
    if all_apps:
        if app:
            raise UsageError("Give either APP or --all, not both.")
        if target is None:
            raise UsageError("--all needs a folder: -o DIR.")
        check_export_target(target, folder=True)
        _export_all(target, include_secret, force)
        return
    if not app:
        raise UsageError("Name the app to export, or pass --all.")
    if target is not None:
        check_export_target(target)
    _export_one(app, target, include_secret)


def _export_one(ref: str, output: Path | None, include_secret: bool) -> None:
    from dify_cli.apps import export_app, find_app, write_export

    conn = _connection()
    try:
        found = find_app(conn, ref)
        text = export_app(conn, str(found["id"]), include_secret=include_secret)
    finally:
        conn.close()

    summary = {"id": found["id"], "name": found["name"] or ref}
    if output is None:
        if app_context().json:
            emit({**summary, "dsl": text})
            return
        click.echo(text, nl=not text.endswith("\n"))
        return
    write_export(output, text, include_secret=include_secret)
    emit(
        {**summary, "file": str(output)},
        lambda data: f"Exported {ref} to {data['file']}.",
    )


def _export_all(directory: Path, include_secret: bool, force: bool) -> None:
    from dify_cli.apps import export_all

    conn = _connection()
    try:
        with (
            progress_bar("Listing apps", at_least=PAGE_SIZE + 1) as listing,
            progress_bar("Exporting apps") as progress,
        ):
            done = export_all(
                conn,
                directory,
                include_secret=include_secret,
                overwrite=force,
                listing=listing,
                progress=progress,
            )
    finally:
        conn.close()

    def render(items: list[dict[str, str]]) -> str:
        message(f"Exported {len(items)} apps to {directory}.")
        width = max((len(item["file"]) for item in items), default=0)
        return "\n".join(f"{item['file']:<{width}}  {item['name']}" for item in items)

    emit([item.summary() for item in done], render)


def _can_prompt(source: str) -> bool:
    # Standard input carrying the DSL cannot also answer the question.
    from dify_cli.inputs import stdin_is_terminal

    return source != "-" and stdin_is_terminal()


@command.command("import")
@click.argument("file", metavar="FILE|-")
@click.option(
    "--app-id",
    metavar="ID",
    help="Replace this workflow or advanced-chat app (id or exact name) "
    "instead of creating one.",
)
@click.option("--name", help="Name for the app (default: the name in the DSL).")
@click.option(
    "--yes",
    "-y",
    is_flag=True,
    help="Import even when the DSL's version differs from the server's.",
)
@json_option
def import_command(file: str, app_id: str | None, name: str | None, yes: bool) -> None:
    """Import a DSL file (or - for standard input) as a new app.

    When the DSL comes from another Dify version the server asks for
    confirmation: the warning is shown and you are asked at a terminal;
    otherwise pass --yes, or nothing is imported (exit 1).
    """
    from dify_cli.apps import ImportDeclined, find_app, import_app, read_dsl

    text = read_dsl(file)

    def confirm(pending: PendingImport) -> bool:
        if yes:
            warn(pending.warning)
            return True
        if not _can_prompt(file):
            raise ImportDeclined(
                f"The server asks to confirm this import. {pending.warning}",
                hint="Pass --yes to import it anyway; nothing was imported.",
            )
        message(f"The server asks to confirm this import. {pending.warning}")
        message(f"  DSL version of the file:   {pending.imported_dsl_version}")
        message(f"  DSL version of the server: {pending.current_dsl_version}")
        return click.confirm("Import anyway?", default=False, err=True)

    conn = _connection()
    try:
        target = str(find_app(conn, app_id)["id"]) if app_id else None
        result = import_app(conn, text, app_id=target, name=name, confirm=confirm)
    finally:
        conn.close()

    if result.warning:
        warn(result.warning)

    def render(data: dict[str, Any]) -> str:
        verb = "Updated" if target else "Imported"
        return f"{verb} app {data['name']!r} ({data['mode']}): {data['id']}"

    emit(result.summary(), render)
