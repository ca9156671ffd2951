"""`dify plugins` and plugin commands: listing, broken plugins, name clashes.

Also that `dify --version` loads no plugin at all.
"""

from __future__ import annotations

import json
import textwrap
from typing import TYPE_CHECKING

import pytest

from tests.plugin_site import pythonpath, write_dist_info

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"

GREETER = """
import click

from dify_cli.auth import AuthMethod
from dify_cli.hookspecs import hookimpl


def login(ctx):
    raise NotImplementedError


@hookimpl
def register_auth_methods(register):
    register(AuthMethod("greeter", "Says hello; cannot log in.", login=login))


@hookimpl
def register_commands(cli):
    @cli.command("hello")
    @click.argument("name")
    def hello(name):
        \"\"\"Greet NAME from a plugin.\"\"\"
        click.echo(f"hello {name}")

    @cli.command("status")
    def status():
        \"\"\"A plugin's own status, which the built-in one hides.\"\"\"
        click.echo("plugin status")
"""

# Written to a file when imported, so a test can tell whether plugins loaded.
TRACER = """
import pathlib, os
pathlib.Path(os.environ["TRACE_FILE"]).write_text("imported")
"""

BROKEN_IMPORT = "raise ImportError('a dependency is missing')\n"

BROKEN_HOOKS = """
from dify_cli.hookspecs import hookimpl


@hookimpl
def register_auth_methods(register):
    raise RuntimeError("cannot register methods")


@hookimpl
def register_commands(cli):
    raise RuntimeError("cannot add commands")
"""

SSO = """
from dify_cli.auth import AuthMethod
from dify_cli.hookspecs import hookimpl


@hookimpl
def register_auth_methods(register):
    register(AuthMethod("sso", "Single sign-on.", login=print))
"""


def install(site: Path, module: str, source: str, dist: str, version: str) -> None:
    (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    write_dist_info(site, dist, version, {module: module})


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    return folder


@pytest.fixture
def broken_site(site: Path) -> dict[str, str]:
    install(site, "greeter", GREETER, "dify-greeter", "1.2.0")
    install(site, "broken_import", BROKEN_IMPORT, "dify-broken-import", "0.1")
    install(site, "broken_hooks", BROKEN_HOOKS, "dify-broken-hooks", "0.2")
    return pythonpath(site)


def test_plugins_lists_packages_methods_commands_and_errors(
    dify_proc: DifyRunner, broken_site: dict[str, str]
) -> None:
    result = dify_proc("plugins", "--json", extra_env=broken_site)

    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["dify_cli.auth.password"]["builtin"] is True
    assert rows["dify_cli.auth.password"]["auth_methods"] == ["password"]
    greeter = rows["greeter"]
    assert greeter["package"] == "dify-greeter"
    assert greeter["version"] == "1.2.0"
    assert greeter["auth_methods"] == ["greeter"]
    assert sorted(greeter["commands"]) == ["hello", "status"]
    assert greeter["error"] == "command 'status' is built in; the plugin's is not used"
    assert "ImportError: a dependency is missing" in rows["broken_import"]["error"]
    assert rows["broken_import"]["auth_methods"] == []
    hooks_error = rows["broken_hooks"]["error"]
    assert "failed while registering auth methods" in hooks_error
    assert "failed while adding commands" in hooks_error

    text = dify_proc("plugins", extra_env=broken_site)
    assert "greeter (dify-greeter 1.2.0)" in text.stdout
    assert "  auth methods: greeter" in text.stdout
    assert "  error: could not be loaded (ImportError" in text.stdout


def test_broken_plugins_are_reported_once_and_everything_else_works(
    dify_proc: DifyRunner, broken_site: dict[str, str], fake_dify: FakeDifyFactory
) -> None:
    fake = fake_dify("modern")

    connect = dify_proc(
        "connect", "--server", fake.url, "--email", EMAIL, "--password-stdin",
        input=PASSWORD + "\n", extra_env=broken_site,
    )  # fmt: skip

    assert connect.exit_code == 0, connect.output
    assert connect.stderr.count("plugin 'broken_import'") == 1
    assert connect.stderr.count("plugin 'broken_hooks'") == 1
    assert "Traceback" not in connect.stderr
    for args in (["status"], ["profile", "list"], ["token"], ["hello", "you"]):
        result = dify_proc(*args, extra_env=broken_site)
        assert result.exit_code == 0, (args, result.output)
        assert "Traceback" not in result.stderr
    assert dify_proc("hello", "you", extra_env=broken_site).stdout == "hello you\n"


def test_plugin_commands_run_and_show_in_help_but_built_ins_win(
    dify_proc: DifyRunner, broken_site: dict[str, str]
) -> None:
    helped = dify_proc("--help", extra_env=broken_site)
    assert helped.exit_code == 0
    assert "hello       Greet NAME from a plugin." in helped.stdout
    assert "plugin status" not in helped.stdout
    assert helped.stdout.count("\n  status") == 1

    status = dify_proc("status", "--offline", extra_env=broken_site)
    assert "plugin status" not in status.stdout
    assert "Profile default" in status.stdout

    unknown = dify_proc("helo", extra_env=broken_site)
    assert unknown.exit_code == 2
    assert "No such command 'helo'" in unknown.stderr


def test_version_loads_no_plugin(
    dify_proc: DifyRunner, site: Path, tmp_path: Path
) -> None:
    trace = tmp_path / "trace"
    install(site, "tracer", TRACER, "dify-tracer", "1.0")
    install(site, "broken_import", BROKEN_IMPORT, "dify-broken-import", "0.1")
    env = {**pythonpath(site), "TRACE_FILE": str(trace)}

    version = dify_proc("--version", extra_env=env)
    assert version.exit_code == 0
    assert version.stderr == ""
    assert not trace.exists()

    # A built-in command that needs no auth method loads none either.
    listed = dify_proc("profile", "list", extra_env=env)
    assert listed.exit_code == 0
    assert not trace.exists()

    helped = dify_proc("--help", extra_env=env)
    assert helped.exit_code == 0
    assert trace.exists()


def test_two_packages_claiming_one_method_name_both_packages(
    dify_proc: DifyRunner, site: Path, fake_dify: FakeDifyFactory
) -> None:
    install(site, "sso_a", SSO, "dify-auth-sso-a", "1.0")
    install(site, "sso_b", SSO, "dify-auth-sso-b", "2.0")
    env = pythonpath(site)
    fake = fake_dify("modern")

    result = dify_proc(
        "connect", "--server", fake.url, "--method", "sso", extra_env=env
    )

    assert result.exit_code == 3
    assert (
        "Auth method 'sso' is registered by both dify-auth-sso-a 1.0 (plugin "
        "'sso_a') and dify-auth-sso-b 2.0 (plugin 'sso_b')."
    ) in result.stderr
    assert "DIFY_CLI_PLUGINS" in result.stderr
    assert result.stderr.count("clashes") == 1

    rows = {
        r["name"]: r
        for r in json.loads(dify_proc("plugins", "--json", extra_env=env).stdout)
    }
    assert "dify-auth-sso-b" in rows["sso_a"]["error"]
    assert "sso" not in rows["sso_a"]["auth_methods"]
    assert "sso" not in rows["sso_b"]["auth_methods"]

    # Choosing one of them settles it.
    chosen = dify_proc(
        "plugins", "--json", extra_env={**env, "DIFY_CLI_PLUGINS": "dify-auth-sso-b"}
    )
    rows = {r["name"]: r for r in json.loads(chosen.stdout)}
    assert rows["sso_b"]["auth_methods"] == ["sso"]
    assert "sso_a" not in rows


def test_a_plugin_may_not_take_a_built_in_method_name(
    dify_proc: DifyRunner, site: Path
) -> None:
    install(site, "impostor", SSO.replace('"sso"', '"password"'), "impostor", "1.0")

    result = dify_proc("plugins", "--json", extra_env=pythonpath(site))

    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert "auth method 'password' is built in" in rows["impostor"]["error"]
    assert rows["dify_cli.auth.password"]["auth_methods"] == ["password"]


def test_a_profile_naming_a_missing_method_points_to_dify_plugins(
    dify: DifyRunner, fake_dify: FakeDifyFactory
) -> None:
    fake = fake_dify("modern")
    assert dify("profile", "add", "corp", "--server", fake.url).exit_code == 0
    assert dify("profile", "set", "corp", "auth_method", "oidc").exit_code == 0

    result = dify("--profile", "corp", "connect", extra_env={"DIFY_CLI_PLUGINS": ""})

    assert result.exit_code == 3
    assert "Unknown auth method 'oidc'" in result.stderr
    assert "`dify plugins` lists the installed plugins" in result.stderr


# Plugins that try to end the process while loading, and where they do it.
QUITTERS = {
    "exit at import": ("import sys\nsys.exit()\n", "SystemExit"),
    "exit code at import": ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
    "exit while adding commands": (
        "import sys\nfrom dify_cli.hookspecs import hookimpl\n\n"
        "@hookimpl\ndef register_commands(cli):\n    sys.exit(0)\n",
        "failed while adding commands (SystemExit: 0)",
    ),
    "BaseException while registering methods": (
        "from dify_cli.hookspecs import hookimpl\n\n"
        "@hookimpl\ndef register_auth_methods(register):\n"
        "    raise BaseException('no')\n",
        "failed while registering auth methods (BaseException: no)",
    ),
}


@pytest.mark.parametrize("case", QUITTERS)
def test_a_plugin_ending_the_process_is_reported_and_left_out(
    dify_proc: DifyRunner, tmp_path: Path, case: str
) -> None:
    source, said = QUITTERS[case]
    site = tmp_path / "site"
    site.mkdir()
    (site / "quitter.py").write_text(source, encoding="utf-8")
    write_dist_info(site, "dify-quitter", "1.0", {"quitter": "quitter"})

    result = dify_proc("plugins", extra_env=pythonpath(site))

    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "quitter" in line]
    assert len(warnings) == 1, result.stderr
    assert said in warnings[0]
    assert "skipped" in warnings[0]
    assert "dify_cli.auth.password" in result.stdout


def test_ctrl_c_while_a_plugin_loads_still_interrupts(
    dify_proc: DifyRunner, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "slow.py").write_text("raise KeyboardInterrupt\n", encoding="utf-8")
    write_dist_info(site, "dify-slow", "1.0", {"slow": "slow"})

    result = dify_proc("plugins", extra_env=pythonpath(site))

    assert result.exit_code == 130, result.output
    assert "Interrupted." in result.stderr
    assert "Traceback" not in result.output


def test_plugin_names_matching_nothing_are_warned_about_once(
    dify_proc: DifyRunner,
) -> None:
    result = dify_proc("plugins", extra_env={"DIFY_CLI_PLUGINS": "nonexistent,exec"})
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "warning: DIFY_CLI_PLUGINS names no installed plugin: nonexistent.\n"
    )

    quiet = dify_proc("plugins", extra_env={"DIFY_CLI_PLUGINS": "exec"})
    assert quiet.stderr == ""
