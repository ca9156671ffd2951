"""The ``dify`` root command: global options, lazy subcommands, and error reporting."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from click.core import ParameterSource

from dify_cli import __version__
from dify_cli.cli.context import AppContext
from dify_cli.cli.params import NonEmptyPath, reject_empty
from dify_cli.errors import DifyError

# Each command lives in its own module and is imported only when it runs, so that
# `dify --help` and `dify --version` cost little more than importing Click.
BUILTIN_COMMANDS: dict[str, tuple[str, str]] = {
    "connect": (
        "dify_cli.cli.connect",
        "Log in to the profile's server and keep the session.",
    ),
    "status": (
        "dify_cli.cli.status",
        "Show who you are connected as, and whether it works.",
    ),
    "disconnect": ("dify_cli.cli.disconnect", "Log out and delete the stored session."),
    "token": (
        "dify_cli.cli.token",
        "Print the access token (or CSRF token) for scripts.",
    ),
    "profile": ("dify_cli.cli.profile", "List, show, add and edit named profiles."),
    "workspace": ("dify_cli.cli.workspace", "List and switch workspaces."),
    "app": ("dify_cli.cli.app", "List, export and import apps."),
    "api": ("dify_cli.cli.api", "Make an authenticated request to the console API."),
    "plugins": ("dify_cli.cli.plugins", "List installed plugins and what they add."),
}


class RootGroup(click.Group):
    """Loads built-in commands on first use, plugin commands when a name is not
    built in (or for the help), and turns DifyError into exit codes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plugin_state: object = None
        self._plugin_commands: set[str] = set()

    def load_plugin_commands(self) -> None:
        """Let the plugins add their commands, once per loading of the plugins.

        Plugins load only here and in commands that need them, so that
        ``dify --version`` and the built-in commands never scan entry points.
        """
        from dify_cli import plugin_manager

        state = plugin_manager.get_plugin_manager()
        if state is self._plugin_state:
            return
        # The plugins were loaded afresh (tests do that): drop the old commands.
        for name in self._plugin_commands:
            self.commands.pop(name, None)
        before = set(self.commands)
        plugin_manager.register_commands(self)
        self._plugin_commands = set(self.commands) - before
        self._plugin_state = state

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.load_plugin_commands()
        return sorted({*BUILTIN_COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        # Built-in names win: a plugin cannot replace `connect` or `token`.
        if cmd_name in BUILTIN_COMMANDS:
            module = importlib.import_module(BUILTIN_COMMANDS[cmd_name][0])
            command: click.Command = module.command
            return command
        self.load_plugin_commands()
        return self.commands.get(cmd_name)

    def format_commands(
        self, ctx: click.Context, formatter: click.HelpFormatter
    ) -> None:
        # Listing plugin commands means loading the plugins (some 50 ms: pluggy,
        # the entry-point scan, the plugin modules). Help is read by people, for
        # whom a complete list is worth it; --version never gets here.
        self.load_plugin_commands()
        rows = [(name, BUILTIN_COMMANDS[name][1]) for name in sorted(BUILTIN_COMMANDS)]
        rows += [
            (name, cmd.get_short_help_str(limit=formatter.width))
            for name, cmd in sorted(self.commands.items())
            if name not in BUILTIN_COMMANDS and not cmd.hidden
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(  # type: ignore[override,unused-ignore]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command; in standalone mode, end the process with its exit code.

        Every failure ends as one line on stderr: Click's usage errors without
        the usage block, a broken standard output, and even an unexpected
        exception (its traceback only under ``--debug``).
        """
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        if sys.stdout is None:
            _fail("standard output is closed; nothing could be printed.", 1)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:
            # A group without a command asks for its help, as with git and gh.
            _print_help(error.ctx)
        except click.UsageError as error:
            where = error.ctx.command_path if error.ctx else "dify"
            hint = _global_option_hint(error) or f"(see '{where} --help')"
            _fail(f"{error.format_message()} {hint}", error.exit_code)
        except click.ClickException as error:
            _fail(error.format_message(), error.exit_code)
        except click.Abort:
            # Click aborts on Ctrl-C at its prompts: said as for Ctrl-C elsewhere.
            click.echo("\nInterrupted.", err=True)
            sys.exit(130)
        except OSError as error:
            if not _writing_failed(error):
                _unexpected(error)
            _output_failed(error)
        except Exception as error:
            _unexpected(error)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DifyError as error:
            # Imported here: logging costs `dify --version` a tenth of its time.
            import logging

            logging.getLogger(__name__).debug("command failed", exc_info=True)
            _say_error(str(error))
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("\nInterrupted.", err=True)
            ctx.exit(130)


def _say_error(text: str) -> None:
    from dify_cli.terminal_text import printable

    # Errors often quote the server or the user's input: one line, no escapes
    # reaching the terminal.
    click.echo(f"Error: {printable(text)}", err=True)


# Options of the root command only, with the value each takes; given after a
# command's name, Click reads them as that command's own, which it lacks.
GLOBAL_OPTIONS = {
    "--profile": "NAME",
    "-p": "NAME",
    "--config-dir": "DIR",
    "--debug": "",
}


def _global_option_hint(error: click.UsageError) -> str:
    if not isinstance(error, click.NoSuchOption) or error.ctx is None:
        return ""
    name = error.option_name.split("=", 1)[0]
    if error.ctx.parent is None or name not in GLOBAL_OPTIONS:
        return ""
    command = error.ctx.command_path.split(" ", 1)[-1]
    given = f"{name} {GLOBAL_OPTIONS[name]}".rstrip()
    return (
        f"{name} is a global option: give it before the command, "
        f"as in `dify {given} {command}`."
    )


def _print_help(ctx: click.Context) -> NoReturn:
    try:
        click.echo(ctx.get_help())
    except OSError as error:
        _output_failed(error)
    sys.exit(0)


def _fail(text: str, code: int) -> NoReturn:
    try:
        _say_error(text)
    finally:
        sys.exit(code)


def _writing_failed(error: OSError) -> bool:
    """Whether ``error`` is the output failing: a pipe closed, a disk full...

    Writing to a stream fails with one of these errors and names no file;
    opening or reading a file names it, and other failures are bugs.
    """
    import errno

    writing = {errno.EPIPE, errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EBADF}
    writing.add(getattr(errno, "EDQUOT", errno.ENOSPC))
    return error.errno in writing and error.filename is None


def _output_failed(error: OSError) -> NoReturn:
    import errno

    # A reader that went away (`dify ... | head`) is not worth a message.
    if error.errno == errno.EPIPE:
        sys.stdout = None
        sys.exit(1)
    _fail(f"Could not write the output: {error.strerror or error}.", 1)


def _unexpected(error: Exception) -> NoReturn:
    import logging

    from dify_cli.logs import redact

    # A bug's message or traceback may hold any value it was handling, a
    # token included: both pass through the same redaction as the logs.
    if logging.getLogger("dify_cli").isEnabledFor(logging.DEBUG):
        import traceback

        sys.stderr.write(redact("".join(traceback.format_exception(error))))
    name = type(error).__name__
    _fail(
        redact(
            f"unexpected {name}: {error}. This is a bug in dify; "
            "run again with --debug to see where it happened."
        ),
        1,
    )


def _configure(ctx: click.Context, _param: click.Parameter, debug: bool) -> bool:
    from dify_cli import logs

    logs.configure(debug)
    return debug


@click.group(
    cls=RootGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--profile",
    "-p",
    metavar="NAME",
    callback=reject_empty,
    help="Profile to use; else $DIFY_PROFILE, default_profile, or 'default'.",
)
@click.option(
    "--config-dir",
    type=NonEmptyPath(path_type=Path),
    envvar="DIFY_CONFIG_DIR",
    show_envvar=True,
    help="Folder holding profiles.toml and the sessions.",
)
@click.option("--json", "json_output", is_flag=True, help="Print results as JSON.")
@click.option(
    "--debug",
    is_flag=True,
    is_eager=True,
    callback=_configure,
    help="Log requests and decisions to stderr, secrets redacted.",
)
@click.version_option(__version__, "--version", prog_name="dify")
@click.pass_context
def cli(
    ctx: click.Context,
    profile: str | None,
    config_dir: Path | None,
    json_output: bool,
    debug: bool,
) -> None:
    """Work with Dify servers from the command line, one profile per environment.

    Start with `dify --profile NAME connect --server URL --email EMAIL`.
    """
    state = ctx.ensure_object(AppContext)
    state.profile = profile
    # A folder from DIFY_CONFIG_DIR is read from the environment by the core, which
    # then names the variable, not the option, in its messages.
    from_env = ctx.get_parameter_source("config_dir") is ParameterSource.ENVIRONMENT
    state.config_dir = None if from_env else config_dir
    state.json = state.json or json_output
    state.debug = debug


def main() -> None:
    """Entry point of the ``dify`` console script."""
    cli(prog_name="dify")
