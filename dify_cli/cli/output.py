"""Rendering: results to stdout as text or JSON, messages to stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from dify_cli.cli.context import AppContext
from dify_cli.terminal_text import printable, printable_data

F = TypeVar("F", bound=Callable[..., Any])


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(AppContext).json = True


def json_option(func: F) -> F:
    """Accept ``--json`` after the command name as well as before it."""
    option = click.option(
        "--json",
        "json_output",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_json,
        help="Print the result as JSON.",
    )
    return option(func)


def emit(data: Any, render: Callable[[Any], str] | None = None) -> None:
    """Print ``data`` as JSON under ``--json``, else as ``render(data)``."""
    ctx = click.get_current_context().ensure_object(AppContext)
    if ctx.json or render is None:
        click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))
        return
    # Only the human form escapes: JSON output keeps every value exact.
    text = render(printable_data(data))
    if text:
        click.echo(text)


def message(text: str) -> None:
    """Tell the user something on stderr, outside the command's result.

    The text is one line: control characters in it, say from a server's
    message, are escaped.
    """
    click.echo(printable(text), err=True)


def warn(text: str) -> None:
    """Print a warning on stderr."""
    click.echo(f"warning: {printable(text)}", err=True)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def setting_text(value: Any, *, quoted: bool = True) -> str:
    """A setting's value as profiles.toml would spell it: true, 30, "text".

    Without ``quoted``, text is shown bare and a missing value as ``-``, for
    tables where quotes are noise.
    """
    if value is None:
        return "(not set)" if quoted else "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        # The renderers that use this print it as it is: escape it here.
        return printable(json.dumps(value, ensure_ascii=False) if quoted else value)
    return printable(str(value))
