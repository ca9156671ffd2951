"""The hooks a plugin can implement, and the markers it implements them with.

A plugin is a module (or any object) with functions decorated by ``hookimpl``
whose names match the specifications below. Installed packages announce their
plugin through an entry point in the ``dify_cli`` group::

    [project.entry-points.dify_cli]
    my_plugin = "my_package.plugin"

The built-in auth methods (``dify_cli.auth.password``, ``.code``, ``.token``)
are plugins written exactly this way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable

    import click

    from dify_cli.auth import AuthMethod

PROJECT_NAME = "dify_cli"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Decorate a plugin's implementation of a hook: ``@hookimpl``."""


@hookspec
def register_auth_methods(register: Callable[[AuthMethod], None]) -> None:
    """Add auth methods that ``dify connect --method NAME`` can log in with.

    Call ``register`` once for each method, with an ``AuthMethod``
    (from ``dify_cli.auth``) that names the method, describes it in one line,
    lists the options it takes and gives the function that logs in.

    The options become options of ``dify connect`` and appear in its help;
    non-secret options marked ``profile_key`` can also be stored in a profile
    with ``dify profile set``. A method named like a built-in one, or whose
    options clash with ``connect``'s own, is refused with a warning and the
    rest of the plugin still loads. When two installed plugins register the
    same name, neither method is used: ``dify connect --method NAME`` fails
    with an error naming both packages.

    Called once per process, the first time a command needs the auth methods.

    :param register: call it with each ``AuthMethod`` this plugin provides.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``dify`` root command.

    Add Click commands or groups with ``cli.add_command(...)``. They run with
    the same global options (``--profile``, ``--json``, ``--debug``) as the
    built-in commands; ``dify_cli.cli.context.app_context()`` gives access to
    them, and ``dify_cli.connection.open_connection`` to an authenticated
    console client for the selected profile.

    A command named like a built-in one is never run: the built-in wins and
    ``dify plugins`` reports the clash. So does a name another plugin added
    first.

    Only the command-line layer calls this hook, once per process: when a
    command that is not built in is run, for ``dify --help``, and for
    ``dify plugins``; never for ``dify --version`` or a built-in command.

    :param cli: the root ``click.Group`` of the ``dify`` command.
    """
