"""The admin-key auth method against the fake server: connect, use, bad input."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from dify_cli.sessions import SessionStore

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner
    from tests.fake_dify import FakeDify
    from tests.fake_dify.fixtures import FakeDifyFactory

KEY = "dify-admin-key-0123456789abcdef"


def key_env(fake: FakeDify, **extra: str) -> dict[str, str]:
    workspace = fake.account.workspaces[0]["id"]
    return {"DIFY_ADMIN_API_KEY": KEY, "DIFY_WORKSPACE_ID": workspace, **extra}


@pytest.mark.usefixtures("plugin")
@pytest.mark.parametrize(
    ("generation", "version"), [("legacy", None), ("cookie", None), ("modern", None)]
)
def test_connects_without_a_login_call(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    config_dir: Path,
    generation: str,
    version: str | None,
) -> None:
    fake = fake_dify(generation, version=version, admin_api_key=KEY)
    args = ("connect", "--server", fake.url, "--method", "admin-key")

    result = dify(*args, extra_env=key_env(fake))

    assert result.exit_code == 0, result.output
    assert f"as Admin <{fake.account.email}>" in result.stdout
    assert fake.count("POST", "login") == 0
    checked = [r for r in fake.requests if r.path.endswith("/account/profile")]
    assert checked, "connect checks the key with one request"
    for request in checked:
        assert request.header("Authorization") == f"Bearer {KEY}"
        assert request.header("X-WORKSPACE-ID") == fake.account.workspaces[0]["id"]
        assert request.header("Cookie") is None
        assert request.header("X-CSRF-Token") is None

    session = SessionStore(config_dir / "sessions").load("default")
    assert session is not None
    assert session.extra == {"admin_api_key": KEY}
    assert session.access_token is None
    profiles = (config_dir / "profiles.toml").read_text()
    assert 'auth_method = "admin-key"' in profiles
    assert KEY not in profiles


@pytest.mark.usefixtures("plugin")
def test_the_session_serves_later_commands(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern", admin_api_key=KEY)
    env = key_env(fake)
    connect = dify(
        "connect", "--server", fake.url, "--method", "admin-key", extra_env=env
    )
    assert connect.exit_code == 0, connect.output
    # Later commands need only the workspace id: the key is in the session.
    later = {"DIFY_WORKSPACE_ID": env["DIFY_WORKSPACE_ID"]}

    status = dify("status", "--json", extra_env=later)
    assert status.exit_code == 0, status.output
    data = json.loads(status.stdout)
    assert data["connected"] is True
    assert data["auth_method"] == "admin-key"
    assert data["account"]["email"] == fake.account.email

    again = dify("connect", extra_env=later)
    assert again.exit_code == 0, again.output
    assert "Already connected" in again.stdout

    token = dify("token", extra_env=later)
    assert token.exit_code == 2
    assert "has no access token" in token.stderr
    assert KEY not in token.output

    fake.reset_counts()
    gone = dify("disconnect", extra_env=later)
    assert gone.exit_code == 0, gone.output
    # Logging out with the key would end the workspace owner's own session.
    assert fake.count("POST", "logout") == 0
    assert dify("status", extra_env=later).exit_code == 4


@pytest.mark.usefixtures("plugin")
def test_the_workspace_id_is_a_profile_key(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern", admin_api_key=KEY)
    second = fake.add_workspace(fake.account, "Second")
    assert dify("profile", "add", "ops", "--server", fake.url).exit_code == 0

    set_key = dify("profile", "set", "ops", "workspace_id", second["id"])

    assert set_key.exit_code == 0, set_key.output
    assert (
        f'workspace_id = "{second["id"]}"' in (config_dir / "profiles.toml").read_text()
    )
    result = dify(
        "--profile", "ops", "connect", "--method", "admin-key",
        extra_env={"DIFY_ADMIN_API_KEY": KEY},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert fake.requests[-1].header("X-WORKSPACE-ID") == second["id"]

    workspaces = dify("--profile", "ops", "status", "--json")
    assert json.loads(workspaces.stdout)["connected"] is True


@pytest.mark.usefixtures("plugin")
def test_a_missing_workspace_id_is_a_usage_error(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern", admin_api_key=KEY)

    result = dify(
        "connect", "--server", fake.url, "--method", "admin-key",
        extra_env={"DIFY_ADMIN_API_KEY": KEY},
    )  # fmt: skip

    assert result.exit_code == 2
    assert "needs the id of the workspace" in result.stderr
    assert "workspace_id" in result.stderr


@pytest.mark.usefixtures("plugin")
def test_a_wrong_key_is_refused_and_nothing_is_stored(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern", admin_api_key=KEY)

    result = dify(
        "connect", "--server", fake.url, "--method", "admin-key",
        extra_env=key_env(fake, DIFY_ADMIN_API_KEY="not-the-key-at-all"),
    )  # fmt: skip

    assert result.exit_code == 4
    assert "refused the new session" in result.stderr
    assert "not-the-key-at-all" not in result.output
    assert SessionStore(config_dir / "sessions").load("default") is None


@pytest.mark.usefixtures("plugin")
def test_servers_before_1_11_are_refused_up_front(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("cookie", version="1.10.1", admin_api_key=KEY)

    result = dify(
        "connect", "--server", fake.url, "--method", "admin-key",
        extra_env=key_env(fake),
    )  # fmt: skip

    assert result.exit_code == 4
    assert "Dify 1.10.1 checks the CSRF token" in result.stderr
    assert fake.count("GET", "account/profile") == 0


@pytest.mark.usefixtures("plugin")
def test_without_a_terminal_the_key_must_come_from_the_environment(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern", admin_api_key=KEY)
    env = key_env(fake)
    del env["DIFY_ADMIN_API_KEY"]

    result = dify(
        "connect", "--server", fake.url, "--method", "admin-key", extra_env=env
    )

    assert result.exit_code == 2
    assert "No terminal to ask for the admin api key" in result.stderr
    assert "DIFY_ADMIN_API_KEY" in result.stderr


def test_installed_it_adds_options_and_logs_in_from_flags(
    fake_dify: FakeDifyFactory,
    dify_proc: DifyRunner,
    installed: dict[str, str],
    config_dir: Path,
) -> None:
    fake = fake_dify("modern", admin_api_key=KEY)
    workspace = fake.account.workspaces[0]["id"]

    helped = dify_proc("connect", "--help", extra_env=installed)
    assert "--workspace-id ID" in helped.stdout
    assert "DIFY_ADMIN_API_KEY" in helped.stdout
    assert "admin-key" in helped.stdout

    result = dify_proc(
        "connect", "--server", fake.url, "--method", "admin-key",
        "--workspace-id", workspace,
        extra_env={**installed, "DIFY_ADMIN_API_KEY": KEY},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "visible to other local users" not in result.stderr
    profiles = (config_dir / "profiles.toml").read_text()
    assert f'workspace_id = "{workspace}"' in profiles
    assert KEY not in profiles

    status = dify_proc("status", extra_env=installed)
    assert status.exit_code == 0, status.output

    # Without the plugin the session cannot be used, and the error says why.
    without = dify_proc("status", extra_env={"DIFY_CLI_PLUGINS": ""})
    assert without.exit_code == 3
    assert "auth method 'admin-key', which is not installed" in without.stdout
    assert "dify plugins" in without.stdout


def test_installed_the_key_as_a_flag_works_with_a_warning(
    fake_dify: FakeDifyFactory,
    dify_proc: DifyRunner,
    installed: dict[str, str],
    config_dir: Path,
) -> None:
    fake = fake_dify("modern", admin_api_key=KEY)
    workspace = fake.account.workspaces[0]["id"]

    result = dify_proc(
        "connect", "--server", fake.url, "--method", "admin-key",
        "--workspace-id", workspace, "--admin-api-key", KEY,
        extra_env=installed,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert (
        "warning: --admin-api-key is visible to other local users; "
        "prefer DIFY_ADMIN_API_KEY." in result.stderr
    )
    assert KEY not in result.output
    session = SessionStore(config_dir / "sessions").load("default")
    assert session is not None
    assert session.extra == {"admin_api_key": KEY}
