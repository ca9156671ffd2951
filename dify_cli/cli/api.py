"""``dify api``: an authenticated request to any console API endpoint."""

from __future__ import annotations

import sys

import click

from dify_cli.cli.context import app_context
from dify_cli.cli.output import json_option


@click.command("api")
@click.argument("path")
@click.option(
    "-X",
    "--method",
    metavar="METHOD",
    help="HTTP method (default: GET, or POST with fields).",
)
@click.option(
    "-f",
    "--raw-field",
    "raw_fields",
    multiple=True,
    metavar="KEY=VALUE",
    help="A string field.",
)
@click.option(
    "-F",
    "--field",
    "typed_fields",
    multiple=True,
    metavar="KEY=VALUE",
    help="A typed field: true, false, null and numbers become JSON values; "
    "@FILE reads a file, @- standard input.",
)
@click.option(
    "--input",
    "input_source",
    metavar="FILE",
    help="The JSON body, from FILE or - (standard input).",
)
@click.option(
    "-H",
    "--header",
    "headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="An extra request header.",
)
@click.option(
    "-i",
    "--include",
    is_flag=True,
    help="Print the status line and headers before the body.",
)
@json_option
def command(
    path: str,
    *,
    method: str | None,
    raw_fields: tuple[str, ...],
    typed_fields: tuple[str, ...],
    input_source: str | None,
    headers: tuple[str, ...],
    include: bool,
) -> None:
    """Send an authenticated request to the console API and print the answer.

    PATH is below /console/api, which may be left out: `apps`,
    `/console/api/apps?page=2`. The request uses the profile's session,
    renewing it when it has expired, and its TLS settings.

    Without -X the method is GET, or POST when fields or --input are given.
    Fields go into the query string for GET and into a JSON body otherwise;
    `name[key]=v` nests and `name[]=v` appends to an array. With --input the
    body comes from a file and fields go into the query string.

    The JSON answer is indented at a terminal and printed as received
    otherwise. An answer other than 2xx is printed too (but not a server
    error's HTML page), and its error goes to stderr: exit 4 for 401 and 403,
    5 for 502, 503 and 504 (the server is unavailable), 1 for the rest.
    --json is accepted as by every command and changes nothing: the answer
    is the server's JSON already.

    \b
    Examples:
      dify api workspaces
      dify api -X GET apps -F limit=100 -f mode=workflow
      dify api -X POST workspaces/switch -f tenant_id=ID
      dify api apps/imports --input body.json
    """
    from dify_cli.api import (
        answer_error,
        body_for_display,
        build_request,
        send,
        status_block,
    )
    from dify_cli.connection import open_connection, resolve_settings

    app = app_context()
    sessions = app.session_store()
    settings = resolve_settings(app.profile_store(), app.profile, sessions=sessions)
    request = build_request(
        path,
        server=settings.server,
        method=method,
        raw_fields=list(raw_fields),
        typed_fields=list(typed_fields),
        input_source=input_source,
        headers=list(headers),
    )
    conn = open_connection(settings, sessions)
    try:
        reply = send(conn, request)
    finally:
        conn.close()

    if include:
        click.echo(status_block(reply), nl=False)
    if request.method != "HEAD":
        body = body_for_display(reply, pretty=sys.stdout.isatty())
        click.echo(body, nl=False)
    error = answer_error(reply, request, settings.profile, settings.server)
    if error is not None:
        raise error
