"""``dify plugins``: the plugins found, what each adds, and what went wrong."""

from __future__ import annotations

from typing import Any

import click

from dify_cli.cli.output import emit, json_option


def _root_group() -> Any:
    return click.get_current_context().find_root().command


def _rows() -> list[dict[str, Any]]:
    from dify_cli import plugin_manager
    from dify_cli.cli.main import BUILTIN_COMMANDS

    root = _root_group()
    if hasattr(root, "load_plugin_commands"):
        root.load_plugin_commands()
    rows = []
    for info in plugin_manager.plugins():
        problems = [info.error] if info.error else []
        problems += [
            f"command {name!r} is built in; the plugin's is not used"
            for name in info.commands
            if name in BUILTIN_COMMANDS
        ]
        rows.append(
            {
                "name": info.name,
                "builtin": info.builtin,
                "package": info.distribution,
                "version": info.version,
                "hooks": info.hooks,
                "auth_methods": info.auth_methods,
                "commands": info.commands,
                "error": "; ".join(problems) or None,
            }
        )
    return rows


def _render(rows: list[dict[str, Any]]) -> str:
    blocks = []
    for row in rows:
        if row["builtin"]:
            origin = "built in"
        elif row["package"]:
            origin = f"{row['package']} {row['version'] or ''}".rstrip()
        else:
            origin = "package unknown"
        lines = [f"{row['name']} ({origin})"]
        if row["auth_methods"]:
            lines.append(f"  auth methods: {', '.join(row['auth_methods'])}")
        if row["commands"]:
            lines.append(f"  commands: {', '.join(row['commands'])}")
        if row["error"]:
            lines.append(f"  error: {row['error']}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


@click.command("plugins")
@json_option
def command() -> None:
    """List the plugins found, with the auth methods and commands each adds.

    Built-in auth methods are listed too: they are plugins like the others.
    DIFY_CLI_PLUGINS limits which installed plugins load (a comma-separated
    list of plugin or package names; empty loads none).
    """
    emit(_rows(), _render)
