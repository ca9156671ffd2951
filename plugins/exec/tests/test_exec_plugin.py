"""The exec auth method: its command, its JSON, login and renewal.

Running the command, reading what it prints, logging in and renewing against
the fake server, and each way the command can fail.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import TYPE_CHECKING

import pytest
from dify_auth_exec import expiry_of, run_command, split_command

from dify_cli.errors import AuthError, ConfigError
from dify_cli.sessions import SessionStore

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import Helper

    from tests.conftest import DifyRunner
    from tests.fake_dify.fixtures import FakeDifyFactory

posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX command splitting")


def python_command(code: str) -> str:
    return f"{sys.executable} -c '{code}'"


# Running the command


@posix_only
def test_the_command_is_split_like_a_shell_but_not_run_by_one() -> None:
    assert split_command("sso-helper 'my org' --flag=\"a b\" $HOME") == [
        "sso-helper",
        "my org",
        "--flag=a b",
        "$HOME",
    ]
    with pytest.raises(ConfigError, match="Cannot split"):
        split_command("sso-helper 'unclosed")
    with pytest.raises(ConfigError, match="empty"):
        split_command("   ")


@posix_only
def test_the_json_object_is_returned() -> None:
    data = run_command(python_command('print("{\\"access_token\\": \\"abc\\"}")'))
    assert data == {"access_token": "abc"}


@posix_only
@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("import sys; sys.exit(3)", "failed with exit status 3"),
        ('print("{\\"access_token\\": \\"secret-value")', "did not print JSON"),
        (
            'print("{\\"access_token\\": \\"secret\\tvalue\\"}")',
            r"\(Invalid control character at line 1, column \d+\)",
        ),
        ('print("[1, 2]")', "JSON that is not an object"),
        ('print("{}")', "printed no access_token"),
        ('print("{\\"access_token\\": 5}")', "access_token is not a non-empty string"),
        ('print("{\\"version\\": 2, \\"access_token\\": \\"a\\"}")', "version 2"),
    ],
)
def test_failures_are_auth_errors_that_show_no_output(code: str, message: str) -> None:
    with pytest.raises(AuthError, match=message) as caught:
        run_command(python_command(code))
    assert "secret-value" not in str(caught.value.message)


@posix_only
def test_a_command_that_hangs_is_stopped_at_the_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(AuthError, match=r"within 0\.5 s"):
        run_command(python_command("import time; time.sleep(30)"), timeout=0.5)
    assert time.monotonic() - started < 10


def test_a_missing_program_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="'no-such-sso-helper-x' was not found"):
        run_command("no-such-sso-helper-x --login")


@posix_only
def test_the_command_is_told_why_it_runs(tmp_path: Path) -> None:
    code = (
        "import json, os; print(json.dumps({'access_token': "
        "os.environ['DIFY_EXEC_REASON'] + os.environ['DIFY_EXEC_PROFILE']}))"
    )
    script = tmp_path / "reason.py"
    script.write_text(code)
    data = run_command(
        f"{sys.executable} {script}",
        env={"DIFY_EXEC_REASON": "renew", "DIFY_EXEC_PROFILE": "ops"},
    )
    assert data["access_token"] == "renewops"


def test_expiry_reads_iso_8601_and_seconds() -> None:
    assert expiry_of({}) is None
    assert expiry_of({"expires_at": 1700000000}) == 1700000000.0
    assert expiry_of({"expires_at": "2023-11-14T22:13:20Z"}) == 1700000000.0
    assert expiry_of({"expires_at": "2023-11-14T22:13:20"}) == 1700000000.0
    with pytest.raises(AuthError, match="expires_at"):
        expiry_of({"expires_at": "next tuesday"})


# Logging in and renewing


def sessions(config_dir: Path) -> SessionStore:
    return SessionStore(config_dir / "sessions")


@pytest.mark.usefixtures("plugin")
@pytest.mark.parametrize("generation", ["legacy", "cookie", "modern"])
def test_connects_with_the_printed_tokens(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    helper: Helper,
    config_dir: Path,
    generation: str,
) -> None:
    fake = fake_dify(generation)

    result = dify(
        "connect", "--server", fake.url, "--method", "exec",
        extra_env={"DIFY_AUTH_COMMAND": helper.command(fake)},
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert f"as Admin <{fake.account.email}>" in result.stdout
    assert helper.runs == ["login"]
    session = sessions(config_dir).load("default")
    assert session is not None
    assert session.auth_method == "exec"
    assert session.refresh_token
    assert (session.csrf_token is None) == (generation == "legacy")


@pytest.mark.usefixtures("plugin")
def test_the_command_is_a_profile_key(
    fake_dify: FakeDifyFactory, dify: DifyRunner, helper: Helper, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    assert dify("profile", "add", "sso", "--server", fake.url).exit_code == 0
    command = helper.command(fake)

    assert dify("profile", "set", "sso", "auth_command", command).exit_code == 0
    assert dify("profile", "set", "sso", "auth_method", "exec").exit_code == 0
    result = dify("--profile", "sso", "connect")

    assert result.exit_code == 0, result.output
    assert "auth_command" in (config_dir / "profiles.toml").read_text()


@pytest.mark.usefixtures("plugin")
def test_an_expired_session_without_refresh_token_runs_the_command_again(
    fake_dify: FakeDifyFactory, dify: DifyRunner, helper: Helper, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    env = {"DIFY_AUTH_COMMAND": helper.command(fake, "--no-refresh")}
    connect = dify("connect", "--server", fake.url, "--method", "exec", extra_env=env)
    assert connect.exit_code == 0, connect.output
    first = sessions(config_dir).load("default")
    assert first is not None
    assert first.refresh_token is None
    time.sleep(1.1)  # a token issued in another second is another token
    fake.expire_access_tokens()

    status = dify("status", "--json", extra_env=env)

    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["renewed"] is True
    assert helper.runs == ["login", "renew"]
    second = sessions(config_dir).load("default")
    assert second is not None
    assert second.access_token != first.access_token
    assert second.account == first.account


@pytest.mark.usefixtures("plugin")
def test_a_session_near_its_printed_expiry_is_renewed_before_use(
    fake_dify: FakeDifyFactory, dify: DifyRunner, helper: Helper
) -> None:
    fake = fake_dify("modern")
    # Inside the renewal margin: renewed ahead of the first request.
    env = {
        "DIFY_AUTH_COMMAND": helper.command(fake, "--no-refresh", "--expires-in", "30")
    }
    assert (
        dify(
            "connect", "--server", fake.url, "--method", "exec", extra_env=env
        ).exit_code
        == 0
    )
    fake.reset_counts()

    assert dify("status", extra_env=env).exit_code == 0

    assert helper.runs == ["login", "renew"]
    assert fake.count("GET", "account/profile") == 1


@pytest.mark.usefixtures("plugin")
def test_a_refresh_token_is_used_before_the_command(
    fake_dify: FakeDifyFactory, dify: DifyRunner, helper: Helper
) -> None:
    fake = fake_dify("modern")
    env = {"DIFY_AUTH_COMMAND": helper.command(fake)}
    assert (
        dify(
            "connect", "--server", fake.url, "--method", "exec", extra_env=env
        ).exit_code
        == 0
    )
    fake.expire_access_tokens()

    assert dify("status", extra_env=env).exit_code == 0
    assert helper.runs == ["login"]
    assert fake.count("POST", "refresh-token") == 1

    # Once the server refuses the refresh token, the command runs again.
    time.sleep(1.1)
    fake.expire_access_tokens()
    fake.refresh_tokens.revoke_latest(fake.account.id)
    assert dify("status", extra_env=env).exit_code == 0
    assert helper.runs == ["login", "renew"]


@pytest.mark.usefixtures("plugin")
def test_a_failing_renewal_ends_the_session_with_the_commands_error(
    fake_dify: FakeDifyFactory, dify: DifyRunner, helper: Helper
) -> None:
    fake = fake_dify("modern")
    env = {"DIFY_AUTH_COMMAND": helper.command(fake, "--no-refresh")}
    assert (
        dify(
            "connect", "--server", fake.url, "--method", "exec", extra_env=env
        ).exit_code
        == 0
    )
    fake.expire_access_tokens()

    broken = {"DIFY_AUTH_COMMAND": helper.command(fake, "--exit", "7")}
    status = dify("status", extra_env=broken)

    assert status.exit_code == 4
    assert "failed with exit status 7" in status.stdout


@pytest.mark.usefixtures("plugin")
def test_a_command_without_csrf_token_is_refused_on_cookie_servers(
    fake_dify: FakeDifyFactory, dify: DifyRunner, helper: Helper, config_dir: Path
) -> None:
    fake = fake_dify("cookie")
    env = {"DIFY_AUTH_COMMAND": helper.command(fake, "--no-csrf")}

    result = dify("connect", "--server", fake.url, "--method", "exec", extra_env=env)

    assert result.exit_code == 4
    assert "printed no csrf_token" in result.stderr
    assert sessions(config_dir).load("default") is None


@pytest.mark.usefixtures("plugin")
def test_no_command_is_a_usage_error(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")

    result = dify("-p", "work", "connect", "--server", fake.url, "--method", "exec")

    assert result.exit_code == 2
    assert "Run `dify profile set work auth_command 'COMMAND ARGS'`" in result.stderr


def test_installed_it_adds_options_and_passes_the_commands_stderr_on(
    fake_dify: FakeDifyFactory,
    dify_proc: DifyRunner,
    helper: Helper,
    installed: dict[str, str],
) -> None:
    fake = fake_dify("modern")

    helped = dify_proc("connect", "--help", extra_env=installed)
    assert "--auth-command COMMAND" in helped.stdout
    assert "--auth-command-timeout SECONDS" in helped.stdout

    command = helper.command(fake, "--say", "Open https://sso.example.com/device")
    result = dify_proc(
        "connect", "--server", fake.url, "--method", "exec", "--auth-command", command,
        extra_env=installed,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Open https://sso.example.com/device" in result.stderr

    failing = helper.command(
        fake, "--say", "sso: your badge has expired", "--exit", "2"
    )
    again = dify_proc(
        "connect", "--force", "--auth-command", failing, extra_env=installed
    )
    assert again.exit_code == 4
    assert "sso: your badge has expired" in again.stderr
    assert "failed with exit status 2" in again.stderr


@pytest.mark.usefixtures("plugin")
def test_offline_status_knows_the_command_renews_the_session(
    fake_dify: FakeDifyFactory, dify: DifyRunner, helper: Helper
) -> None:
    fake = fake_dify("modern")
    past = helper.command(fake, "--no-refresh", "--expires-in", "-10")
    env = {"DIFY_AUTH_COMMAND": past}
    connect = dify("connect", "--server", fake.url, "--method", "exec", extra_env=env)
    assert connect.exit_code == 0, connect.output

    status = dify("status", "--offline", "--json")

    assert status.exit_code == 0, status.output
    assert (
        json.loads(status.stdout)["state"] == "access token expired; renews on next use"
    )
