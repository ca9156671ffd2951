"""Auth methods from installed plugins: discovery, options, failures, and limits."""

from __future__ import annotations

import sys
import textwrap
from typing import TYPE_CHECKING

import click
import pytest

from dify_cli import plugin_manager
from dify_cli.auth import AuthMethod, AuthOption
from dify_cli.client import ConsoleClient
from dify_cli.sessions import SessionStore

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.conftest import DifyRunner
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"

DEMO = '''
"""A demo auth method: a gateway key that is the account's password."""

from dify_cli.auth import AuthMethod, AuthOption
from dify_cli.hookspecs import hookimpl


def login(ctx):
    key = ctx.options["gateway_key"] or ctx.prompt(
        "Gateway key", hidden=True, alternative="set DEMO_GATEWAY_KEY"
    )
    if ctx.options["tenant"]:
        ctx.say(f"tenant {ctx.options['tenant']}")
    ctx.client.login_password(ctx.email, key)
    return ctx.new_session(extra={"gateway_key": key})


@hookimpl
def register_auth_methods(register):
    register(
        AuthMethod(
            name="demo",
            description="A gateway key, for testing plugins.",
            login=login,
            options=(
                AuthOption("gateway_key", "The gateway key.", secret=True,
                           env=("DEMO_GATEWAY_KEY",), warn_on_command_line=True),
                AuthOption("gateway_pin", "The gateway pin.", secret=True,
                           warn_on_command_line=True),
                AuthOption("tenant", "The gateway tenant.", profile_key=True,
                           env=("DEMO_TENANT",)),
            ),
        )
    )


@hookimpl
def register_commands(cli):
    import click

    @cli.command("demo-hello")
    def hello():
        """Say hello from the demo plugin."""
        click.echo("hello from demo")
'''

BROKEN_IMPORT = "raise ImportError('this plugin is broken')\n"

BROKEN_REGISTER = """
from dify_cli.hookspecs import hookimpl


@hookimpl
def register_auth_methods(register):
    raise RuntimeError("cannot register")
"""

RESERVED = """
from dify_cli.auth import AuthMethod, AuthOption
from dify_cli.hookspecs import hookimpl


@hookimpl
def register_auth_methods(register):
    register(AuthMethod("clash", "Clashes.", login=print,
                        options=(AuthOption("server", "Mine."),)))
    register(AuthMethod("password", "Takes the built-in name.", login=print))
"""


def install(site: Path, name: str, source: str) -> None:
    """A plugin installed the way pip would: a module plus its dist-info."""
    (site / f"{name}.py").write_text(textwrap.dedent(source))
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(f"[dify_cli]\n{name} = {name}\n")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    return folder


@pytest.fixture
def in_process(
    site: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Plugins in `site` visible to this process; the manager reloads them.

    Plugins installed in the environment running the tests stay out.
    """
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("DIFY_CLI_PLUGINS", "demo_gateway,broken_clash")
    plugin_manager.reset()
    yield site
    for name in list(sys.modules):
        if name.startswith("demo_") or name.startswith("broken_"):
            del sys.modules[name]
    plugin_manager.reset()


def proc_env(site: Path, **extra: str) -> dict[str, str]:
    return {"PYTHONPATH": str(site), **extra}


def test_plugin_method_gets_options_help_and_logs_in(
    fake_dify: FakeDifyFactory, dify_proc: DifyRunner, site: Path, config_dir: Path
) -> None:
    install(site, "demo_gateway", DEMO)
    env = proc_env(site)
    helped = dify_proc("connect", "--help", extra_env=env)
    assert "--gateway-key" in helped.stdout
    assert "[method: demo; env: DEMO_GATEWAY_KEY]" in " ".join(helped.stdout.split())
    assert "A gateway key, for testing plugins." in helped.stdout

    fake = fake_dify("modern")
    result = dify_proc(
        "connect", "--server", fake.url, "--method", "demo", "--email", EMAIL,
        "--tenant", "acme", extra_env={**env, "DEMO_GATEWAY_KEY": PASSWORD},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "tenant acme" in result.stderr
    assert "visible to other local users" not in result.stderr
    session = SessionStore(config_dir / "sessions").load("default")
    assert session is not None
    assert session.auth_method == "demo"
    assert session.extra == {"gateway_key": PASSWORD}
    profiles = (config_dir / "profiles.toml").read_text()
    assert 'auth_method = "demo"' in profiles
    assert 'tenant = "acme"' in profiles
    assert PASSWORD not in profiles

    # The stored tenant is read back from the profile next time.
    again = dify_proc(
        "connect", "--force", extra_env={**env, "DEMO_GATEWAY_KEY": PASSWORD}
    )
    assert again.exit_code == 0, again.output
    assert "tenant acme" in again.stderr

    hello = dify_proc("demo-hello", extra_env=env)
    assert hello.exit_code == 0, hello.output
    assert hello.stdout == "hello from demo\n"


def test_a_plugin_secret_given_as_a_flag_warns(
    fake_dify: FakeDifyFactory, dify_proc: DifyRunner, site: Path
) -> None:
    install(site, "demo_gateway", DEMO)
    fake = fake_dify("modern")

    result = dify_proc(
        "connect", "--server", fake.url, "--method", "demo", "--email", EMAIL,
        "--gateway-key", PASSWORD, "--gateway-pin", "4711", "--tenant", "acme",
        extra_env=proc_env(site),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "visible" in line]
    assert warnings == [
        "warning: --gateway-key is visible to other local users; "
        "prefer DEMO_GATEWAY_KEY.",
        "warning: --gateway-pin is visible to other local users.",
    ]
    assert PASSWORD not in result.output


def test_secrets_from_elsewhere_do_not_warn(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    args = ("connect", "--server", fake.url, "--email", EMAIL, "--force")

    from_env = dify(*args, extra_env={"DIFY_PASSWORD": PASSWORD})
    from_stdin = dify(*args, "--password-stdin", input=PASSWORD + "\n")

    for result in (from_env, from_stdin):
        assert result.exit_code == 0, result.output
        assert "visible to other local users" not in result.stderr


def test_the_password_flag_suggests_standard_input(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("legacy")

    result = dify(
        "connect", "--server", fake.url, "--email", EMAIL, "--password", PASSWORD
    )

    assert result.exit_code == 0, result.output
    assert (
        "--password is visible to other local users; prefer --password-stdin."
        in result.stderr
    )
    assert result.stderr.count("visible to other local users") == 1


def test_console_tokens_given_as_flags_warn(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    client = ConsoleClient(fake.url)
    client.probe()
    tokens = client.login_password(EMAIL, PASSWORD)
    assert tokens.csrf_token and tokens.refresh_token

    result = dify(
        "connect", "--server", fake.url, "--method", "token",
        "--access-token", str(tokens.access_token),
        "--csrf-token", tokens.csrf_token,
        "--refresh-token", tokens.refresh_token,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    for flag, env in (
        ("--access-token", "DIFY_ACCESS_TOKEN"),
        ("--csrf-token", "DIFY_CSRF_TOKEN"),
        ("--refresh-token", "DIFY_REFRESH_TOKEN"),
    ):
        assert f"{flag} is visible to other local users; prefer {env}." in (
            result.stderr
        )
    assert str(tokens.access_token) not in result.output


def test_broken_plugins_are_reported_once_and_skipped(
    fake_dify: FakeDifyFactory, dify_proc: DifyRunner, site: Path
) -> None:
    install(site, "broken_import", BROKEN_IMPORT)
    install(site, "broken_register", BROKEN_REGISTER)
    install(site, "demo_gateway", DEMO)
    fake = fake_dify("legacy")
    result = dify_proc(
        "connect", "--server", fake.url, "--email", EMAIL, "--password-stdin",
        input=PASSWORD + "\n", extra_env=proc_env(site),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr.count("plugin 'broken_import'") == 1
    assert "could not be loaded (ImportError: this plugin is broken)" in result.stderr
    assert result.stderr.count("plugin 'broken_register'") == 1
    assert "Traceback" not in result.stderr


def test_clashing_methods_are_refused(in_process: Path) -> None:
    install(in_process, "broken_clash", RESERVED)
    methods = plugin_manager.auth_methods()
    assert "clash" not in methods
    assert methods["password"].description.startswith("Email and password")
    info = {p.name: p for p in plugin_manager.plugins()}["broken_clash"]
    assert info.error is not None
    assert "reserved" in info.error


def test_dify_cli_plugins_limits_what_loads(
    site: Path, dify_proc: DifyRunner, fake_dify: FakeDifyFactory
) -> None:
    install(site, "demo_gateway", DEMO)
    fake = fake_dify("modern")
    args = ("connect", "--server", fake.url, "--method", "demo", "--email", EMAIL)
    key = {"DEMO_GATEWAY_KEY": PASSWORD}

    none = dify_proc(*args, extra_env=proc_env(site, DIFY_CLI_PLUGINS="", **key))
    assert none.exit_code == 3
    assert "Unknown auth method 'demo'" in none.stderr
    assert "dify plugins" in none.stderr

    other = dify_proc(*args, extra_env=proc_env(site, DIFY_CLI_PLUGINS="x", **key))
    assert other.exit_code == 3

    chosen = proc_env(site, DIFY_CLI_PLUGINS="demo_gateway", **key)
    assert dify_proc(*args, extra_env=chosen).exit_code == 0
    by_dist = proc_env(site, DIFY_CLI_PLUGINS=" demo-gateway , y", **key)
    assert dify_proc(*args, "--force", extra_env=by_dist).exit_code == 0


@pytest.mark.usefixtures("in_process")
def test_unknown_method_in_the_environment(
    dify: DifyRunner, fake_dify: FakeDifyFactory
) -> None:
    fake = fake_dify("modern")
    result = dify(
        "connect", "--server", fake.url, extra_env={"DIFY_AUTH_METHOD": "oidc"}
    )
    assert result.exit_code == 3
    assert "Unknown auth method 'oidc' (available: code, password, token)" in (
        result.stderr
    )


def test_profile_keys_and_plugin_listing(in_process: Path) -> None:
    install(in_process, "demo_gateway", DEMO)
    keys = plugin_manager.auth_option_keys()
    assert set(keys) == {"tenant"}
    assert keys["tenant"].kind == "str"
    assert keys["tenant"].env == ("DEMO_TENANT",)

    listed = {p.name: p for p in plugin_manager.plugins()}
    assert listed["dify_cli.auth.password"].builtin
    assert listed["dify_cli.auth.password"].auth_methods == ["password"]
    demo = listed["demo_gateway"]
    assert not demo.builtin
    assert demo.distribution == "demo-gateway"
    assert demo.version == "0.1"
    assert demo.hooks == ["register_auth_methods", "register_commands"]
    assert demo.auth_methods == ["demo"]

    group = click.Group("dify")
    plugin_manager.register_commands(group)
    assert "demo-hello" in group.commands


@pytest.mark.usefixtures("in_process")
def test_built_in_methods_are_plain_plugins() -> None:
    plugin_manager.reset()
    methods = plugin_manager.auth_methods()
    assert list(methods) == ["password", "code", "token"]
    for method in methods.values():
        assert isinstance(method, AuthMethod)
        assert method.problems() == []
    assert not methods["token"].needs_email
    secret = [o.name for m in methods.values() for o in m.options if o.secret]
    assert secret == ["password", "code", "access_token", "csrf_token", "refresh_token"]
    # A one-time code lapses too soon to be worth a warning.
    warned = [
        o.name for m in methods.values() for o in m.options if o.warn_on_command_line
    ]
    assert warned == ["password", "access_token", "csrf_token", "refresh_token"]
    assert plugin_manager.auth_option_keys() == {}


def test_declarations_are_checked() -> None:
    assert AuthOption("api_key", "x", secret=True, profile_key=True).problems()
    assert AuthOption("Bad-Name", "x").problems()
    assert AuthOption("email", "x").problems()
    assert AuthMethod("Bad Name", "x", login=print).problems()
    assert AuthMethod(
        "dup", "x", login=print, options=(AuthOption("a", "x"), AuthOption("a", "y"))
    ).problems()
    assert AuthOption("zone", "x", warn_on_command_line=True).problems()
    assert AuthOption("key", "x", secret=True, prefer="KEY").problems()
    warned = AuthOption(
        "key", "x", secret=True, warn_on_command_line=True, prefer="--key-stdin"
    )
    assert warned.problems() == []
