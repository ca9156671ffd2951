"""`dify connect`: every built-in method against every server generation, reuse,
--force, what is saved, and how each bad input is reported."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
from typing import TYPE_CHECKING, Any

import pytest
import trustme

from dify_cli.client import ConsoleClient
from dify_cli.sessions import SessionStore
from tests.conftest import config_files
from tests.fake_dify import Fault
from tests.fake_dify.client import post_login
from tests.test_profile_cli import _make_read_only

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.conftest import DifyRunner, Result
    from tests.fake_dify import FakeDify
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"

SETUPS: dict[str, dict[str, Any]] = {
    "legacy": {"generation": "legacy"},
    "cookie": {"generation": "cookie"},
    "modern": {"generation": "modern"},
    "modern-https": {"generation": "modern", "https": True},
    "cloud": {"generation": "modern", "cloud": True},
}


@pytest.fixture(params=["in-process", "subprocess"])
def run(
    request: pytest.FixtureRequest, dify: DifyRunner, dify_proc: DifyRunner
) -> DifyRunner:
    """`dify` run in-process and as a real subprocess."""
    return dify if request.param == "in-process" else dify_proc


def server_args(fake: FakeDify) -> list[str]:
    args = ["--server", fake.url]
    if fake.https:
        args += ["--ca-bundle", str(fake.ca_bundle)]
    return args


def password_connect(
    run: DifyRunner, fake: FakeDify, *extra: str, **kwargs: Any
) -> Result:
    return run(
        "connect",
        *server_args(fake),
        "--email",
        EMAIL,
        "--password-stdin",
        *extra,
        input=PASSWORD + "\n",
        **kwargs,
    )


def sessions(config_dir: Path) -> SessionStore:
    return SessionStore(config_dir / "sessions")


def browser_tokens(fake: FakeDify) -> dict[str, str]:
    """Tokens as a user would copy them from a logged-in browser."""
    client = ConsoleClient(fake.url, ca_bundle=fake.ca_bundle)
    client.probe()
    creds = client.login_password(EMAIL, PASSWORD)
    tokens = {"DIFY_ACCESS_TOKEN": str(creds.access_token)}
    if creds.csrf_token:
        tokens["DIFY_CSRF_TOKEN"] = creds.csrf_token
    if creds.refresh_token:
        tokens["DIFY_REFRESH_TOKEN"] = creds.refresh_token
    return tokens


# -- every method, every generation, in-process and as a subprocess ----------


@pytest.mark.parametrize("setup", SETUPS)
def test_password_login(
    fake_dify: FakeDifyFactory, run: DifyRunner, config_dir: Path, setup: str
) -> None:
    fake = fake_dify(**SETUPS[setup])
    result = password_connect(run, fake)
    assert result.exit_code == 0, result.output
    assert f"Connected to {fake.url} (Dify {fake.version})" in result.stdout
    assert "Admin <admin@example.com>" in result.stdout
    assert fake.counts == {
        "GET /console/api/system-features": 1,
        "POST /console/api/login": 1,
        "GET /console/api/account/profile": 1,
    }
    session = sessions(config_dir).load("default")
    assert session is not None
    assert session.server == fake.url
    assert session.server_version == fake.version
    assert session.generation == fake.generation
    assert session.account["email"] == EMAIL
    assert session.access_expires_at is not None
    if fake.https:
        assert session.cookie_names["access_token"] == "__Host-access_token"

    fake.reset_counts()
    status = run("status")
    assert status.exit_code == 0, status.output
    assert fake.counts == {"GET /console/api/account/profile": 1}


@pytest.mark.parametrize("setup", SETUPS)
def test_email_code_login_in_two_steps(
    fake_dify: FakeDifyFactory, run: DifyRunner, config_dir: Path, setup: str
) -> None:
    fake = fake_dify(**SETUPS[setup])
    sent = run(
        "connect", *server_args(fake), "--method", "code", "--email", EMAIL,
        "--send-only",
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    assert "code was sent to admin@example.com" in sent.stderr
    assert "--code CODE" in sent.stderr
    assert fake.count("POST", "email-code-login") == 1
    pending = sessions(config_dir).load("default")
    assert pending is not None
    assert pending.pending["method"] == "code"
    assert pending.access_token is None

    done = run(
        "connect", *server_args(fake), "--method", "code", "--email", EMAIL,
        "--code", fake.last_code(EMAIL),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "Admin <admin@example.com>" in done.stdout
    assert fake.count("POST", "email-code-login") == 1
    assert fake.count("POST", "email-code-login/validity") == 1
    session = sessions(config_dir).load("default")
    assert session is not None
    assert session.access_token
    assert session.pending == {}
    assert session.auth_method == "code"


@pytest.mark.parametrize("setup", SETUPS)
def test_token_login(
    fake_dify: FakeDifyFactory, run: DifyRunner, config_dir: Path, setup: str
) -> None:
    fake = fake_dify(**SETUPS[setup])
    tokens = browser_tokens(fake)
    fake.reset_counts()
    result = run("connect", *server_args(fake), "--method", "token", extra_env=tokens)
    assert result.exit_code == 0, result.output
    assert "Admin <admin@example.com>" in result.stdout
    assert fake.counts == {
        "GET /console/api/system-features": 1,
        "GET /console/api/account/profile": 1,
    }
    session = sessions(config_dir).load("default")
    assert session is not None
    assert session.auth_method == "token"
    assert session.access_token == tokens["DIFY_ACCESS_TOKEN"]

    # The stored refresh token renews the pasted session.
    fake.expire_access_tokens()
    fake.reset_counts()
    status = run("status")
    assert status.exit_code == 0, status.output
    assert fake.count("POST", "refresh-token") == 1


def test_token_options_on_the_command_line(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("cookie")
    tokens = browser_tokens(fake)
    result = dify(
        "connect", "--server", fake.url, "--method", "token",
        "--access-token", tokens["DIFY_ACCESS_TOKEN"],
        "--csrf-token", tokens["DIFY_CSRF_TOKEN"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_token_without_csrf_on_a_cookie_server(
    fake_dify: FakeDifyFactory, dify_proc: DifyRunner
) -> None:
    fake = fake_dify("modern")
    tokens = browser_tokens(fake)
    del tokens["DIFY_CSRF_TOKEN"]
    result = dify_proc(
        "connect", "--server", fake.url, "--method", "token", extra_env=tokens
    )
    assert result.exit_code == 2
    assert "csrf" in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_token_the_server_rejects(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("legacy")
    result = dify(
        "connect", "--server", fake.url, "--method", "token",
        "--access-token", "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoieCJ9.bm9wZQ",
    )  # fmt: skip
    assert result.exit_code == 4
    assert "refused the new session" in result.stderr
    assert sessions(config_dir).load("default") is None


def test_expired_pasted_token_is_renewed_first(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern", access_ttl=2)
    tokens = browser_tokens(fake)
    import time

    time.sleep(2.1)
    result = dify(
        "connect", "--server", fake.url, "--method", "token", extra_env=tokens
    )
    assert result.exit_code == 0, result.output
    assert fake.count("POST", "refresh-token") == 1


# -- reuse, --force, what gets saved -----------------------------------------


def test_reuse_costs_one_request(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("modern")
    assert password_connect(dify, fake).exit_code == 0
    fake.reset_counts()
    again = dify("connect")
    assert again.exit_code == 0, again.output
    assert "Already connected" in again.stdout
    assert fake.counts == {"GET /console/api/account/profile": 1}


def test_force_logs_in_again(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("cookie")
    assert password_connect(dify, fake).exit_code == 0
    first = sessions(config_dir).load("default")
    fake.reset_counts()
    again = password_connect(dify, fake, "--force")
    assert again.exit_code == 0, again.output
    assert "Already" not in again.stdout
    assert fake.count("POST", "login") == 1
    second = sessions(config_dir).load("default")
    assert first is not None
    assert second is not None
    assert second.refresh_token != first.refresh_token


def test_another_account_or_method_is_a_new_login(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    fake.add_account("dev@example.com", "Passw0rd!Dev1", name="Dev")
    assert password_connect(dify, fake).exit_code == 0
    other = dify(
        "connect", "--email", "dev@example.com", "--password-stdin",
        input="Passw0rd!Dev1\n",
    )  # fmt: skip
    assert other.exit_code == 0, other.output
    assert "Connected to" in other.stdout
    assert "Dev <dev@example.com>" in other.stdout

    tokens = browser_tokens(fake)
    by_token = dify("connect", "--method", "token", extra_env=tokens)
    assert by_token.exit_code == 0, by_token.output
    assert "Connected to" in by_token.stdout
    assert "Admin <admin@example.com>" in by_token.stdout


def test_reuse_logs_in_when_the_session_is_dead(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("legacy")
    assert password_connect(dify, fake).exit_code == 0
    fake.refresh_tokens.revoke_latest(fake.account.id)
    fake.expire_access_tokens()
    fake.reset_counts()
    again = password_connect(dify, fake)
    assert again.exit_code == 0, again.output
    assert "Connected to" in again.stdout
    assert fake.count("POST", "login") == 1


def test_saves_server_method_and_email_into_the_profile(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern", https=True)
    result = password_connect(dify, fake, "--json")
    assert result.exit_code == 0, result.output
    text = (config_dir / "profiles.toml").read_text()
    assert f'server = "{fake.url}"' in text
    assert 'auth_method = "password"' in text
    assert f'email = "{EMAIL}"' in text
    assert "ca_bundle" in text
    assert PASSWORD not in text
    # The saved profile is enough for the next commands.
    assert dify("status").exit_code == 0


def test_json_output(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    import json

    fake = fake_dify("legacy")
    result = password_connect(dify, fake, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["server"] == fake.url
    assert data["server_version"] == "1.9.1"
    assert data["generation"] == "legacy"
    assert data["account"]["email"] == EMAIL
    assert data["reused"] is False


def test_no_save_leaves_profiles_alone(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    result = password_connect(dify, fake, "--no-save")
    assert result.exit_code == 0, result.output
    assert not (config_dir / "profiles.toml").exists()
    assert sessions(config_dir).load("default") is not None


def test_named_profile_is_created(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    result = dify(
        "--profile", "staging", "connect", "--server", fake.url,
        "--email", EMAIL, "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "[profiles.staging]" in (config_dir / "profiles.toml").read_text()
    assert sessions(config_dir).load("staging") is not None
    assert sessions(config_dir).load("default") is None


def test_environment_supplies_server_email_and_password(
    fake_dify: FakeDifyFactory, dify_proc: DifyRunner
) -> None:
    fake = fake_dify("cookie")
    result = dify_proc(
        "connect",
        extra_env={
            "PSDIFY_URL": fake.url,
            "DIFY_EMAIL": EMAIL,
            "PSDIFY_PASSWORD": PASSWORD,
        },
    )
    assert result.exit_code == 0, result.output
    assert "Connected to" in result.stdout


def test_dify_password_wins_over_psdify_password(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("legacy")
    result = dify(
        "connect", "--server", fake.url, "--email", EMAIL,
        extra_env={"DIFY_PASSWORD": PASSWORD, "PSDIFY_PASSWORD": "wrong-one1"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_password_option_works_with_a_warning(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    result = dify(
        "connect", "--server", fake.url, "--email", EMAIL, "--password", PASSWORD
    )
    assert result.exit_code == 0, result.output
    assert "visible to other local users" in result.stderr
    assert PASSWORD not in result.output


def test_workspace_by_name_is_switched_to(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    team = fake.add_workspace(fake.account, "Team B")
    result = password_connect(dify, fake, extra_env={"DIFY_WORKSPACE": "Team B"})
    assert result.exit_code == 0, result.output
    assert "Workspace: Team B" in result.stdout
    assert fake.count("GET", "workspaces") == 1
    assert fake.count("POST", "workspaces/switch") == 1
    assert fake.account.current_workspace_id == team["id"]


def test_workspace_by_id_is_switched_to(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("legacy")
    team = fake.add_workspace(fake.account, "Team C")
    result = password_connect(dify, fake, extra_env={"DIFY_WORKSPACE": team["id"]})
    assert result.exit_code == 0, result.output
    assert fake.count("GET", "workspaces") == 0
    assert fake.account.current_workspace_id == team["id"]


def test_unknown_workspace_keeps_the_login(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    result = password_connect(dify, fake, extra_env={"DIFY_WORKSPACE": "Nope"})
    assert result.exit_code == 3
    assert "No workspace named 'Nope'" in result.stderr
    assert sessions(config_dir).load("default") is not None
    assert (config_dir / "profiles.toml").exists()


def test_help_lists_methods_and_their_options(dify: DifyRunner) -> None:
    result = dify("connect", "--help")
    assert result.exit_code == 0
    for text in (
        "--password-stdin",
        "--code",
        "--send-only",
        "--access-token",
        "--csrf-token",
        "--refresh-token",
        "DIFY_PASSWORD",
        "password ",
        "A 6-digit code",
    ):
        assert text in result.stdout


# -- bad input: one line, the right exit code, nothing changed ---------------


def assert_one_clear_line(
    result: Result, code: int, text: str, secrets: tuple[str, ...] = ()
) -> None:
    """The exit code, and one line on stderr that says `text` and gives away
    neither the account's password nor any of `secrets`."""
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    assert text in lines[0], lines[0]
    assert "Traceback" not in result.output
    for secret in (PASSWORD, *secrets):
        assert secret not in result.output


def test_lockout(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("modern")
    for _ in range(6):
        bad = dify(
            "connect", "--server", fake.url, "--email", EMAIL, "--password-stdin",
            input="wrong-password1\n",
        )  # fmt: skip
        assert bad.exit_code == 4
    fake.reset_counts()
    result = password_connect(dify, fake)
    assert_one_clear_line(result, 7, "locks an email for 24 hours after 6 failures")
    assert fake.count("POST", "login") == 1


def test_email_code_send_limit(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("modern")
    args = ["connect", "--server", fake.url, "--method", "code", "--email", EMAIL]
    for _ in range(3):
        assert dify(*args, "--send-only").exit_code == 0
    assert_one_clear_line(dify(*args, "--send-only"), 7, "3 every 5 minutes")


def test_wrong_code_keeps_the_pending_code(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("cookie")
    args = ["connect", "--server", fake.url, "--method", "code", "--email", EMAIL]
    assert dify(*args, "--send-only").exit_code == 0
    right = fake.last_code(EMAIL)
    wrong = "000000" if right != "000000" else "111111"
    assert_one_clear_line(dify(*args, "--code", wrong), 4, "Wrong email code")
    assert dify(*args, "--code", right).exit_code == 0


def test_expired_code(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("modern", email_code_ttl=0.2)
    args = ["connect", "--server", fake.url, "--method", "code", "--email", EMAIL]
    assert dify(*args, "--send-only").exit_code == 0
    import time

    time.sleep(0.3)
    result = dify(*args, "--code", fake.last_code(EMAIL))
    assert_one_clear_line(result, 4, "expired")
    # The spent token is forgotten: the next try asks for a new code.
    again = dify(*args, "--code", fake.last_code(EMAIL))
    assert_one_clear_line(again, 2, "No code is waiting")


def test_a_used_code_cannot_log_in_again(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    args = ["connect", "--server", fake.url, "--method", "code", "--email", EMAIL]
    assert dify(*args, "--send-only").exit_code == 0
    code = fake.last_code(EMAIL)
    assert dify(*args, "--code", code).exit_code == 0
    before = config_files(config_dir)
    fake.reset_counts()

    again = dify(*args, "--force", "--code", code)
    assert_one_clear_line(again, 2, "No code is waiting", secrets=(code,))
    assert "--send-only" in again.stderr
    assert fake.count("POST", "email-code-login/validity") == 0
    assert config_files(config_dir) == before


def test_a_code_the_server_already_took_is_refused_and_forgotten(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("cookie")
    args = ["connect", "--server", fake.url, "--method", "code", "--email", EMAIL]
    assert dify(*args, "--send-only").exit_code == 0
    session_file = sessions(config_dir).path_for("default")
    waiting = session_file.read_bytes()
    code = fake.last_code(EMAIL)
    assert dify(*args, "--code", code).exit_code == 0

    # A copy of the session taken while the code was waiting (a restored
    # backup, a second machine) still holds the token the server has spent.
    session_file.write_bytes(waiting)
    reused = dify(*args, "--code", code)
    assert_one_clear_line(reused, 4, "was already used", secrets=(code,))
    assert "Send a new code with `dify --profile default connect" in reused.stderr
    assert fake.count("POST", "email-code-login/validity") == 2
    # The spent token is dropped: the next try asks for a new code.
    session = sessions(config_dir).load("default")
    assert session is None or session.pending == {}
    assert_one_clear_line(dify(*args, "--code", code), 2, "No code is waiting")


def test_code_without_a_pending_send(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    result = dify(
        "connect", "--server", fake.url, "--method", "code", "--email", EMAIL,
        "--code", "123456",
    )  # fmt: skip
    assert_one_clear_line(result, 2, "No code is waiting")
    assert fake.count("POST", "email-code-login/validity") == 0


def test_code_must_be_six_digits(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("modern")
    args = ["connect", "--server", fake.url, "--method", "code", "--email", EMAIL]
    assert dify(*args, "--send-only").exit_code == 0
    assert_one_clear_line(dify(*args, "--code", "12ab"), 2, "6 digits")


def test_email_code_for_a_new_cloud_account(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern", cloud=True)
    email = "newcomer@example.com"
    args = ["connect", "--server", fake.url, "--method", "code", "--email", email]
    assert dify(*args, "--send-only").exit_code == 0
    result = dify(*args, "--code", fake.last_code(email))
    assert result.exit_code == 0, result.output
    assert email in result.stdout


def test_password_login_disabled(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("modern")
    fake.features["enable_email_password_login"] = False
    result = password_connect(dify, fake)
    assert_one_clear_line(result, 4, "Password login is disabled")
    assert "--method code" in result.stderr


def test_server_not_set_up(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("cookie", setup_done=False)
    result = password_connect(dify, fake)
    assert_one_clear_line(result, 3, "has not been set up yet")
    assert "web console" in result.stderr


def test_account_without_workspace(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    fake.add_account("lonely@example.com", "Passw0rd!Lonely", workspaces=[])
    result = dify(
        "connect", "--server", fake.url, "--email", "lonely@example.com",
        "--password-stdin", input="Passw0rd!Lonely\n",
    )  # fmt: skip
    assert_one_clear_line(result, 1, "workspace not found")
    assert sessions(config_dir).load("default") is None
    assert not (config_dir / "profiles.toml").exists()


def test_banned_account(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("legacy")
    fake.add_account("gone@example.com", "Passw0rd!Gone1", banned=True)
    result = dify(
        "connect", "--server", fake.url, "--email", "gone@example.com",
        "--password-stdin", input="Passw0rd!Gone1\n",
    )  # fmt: skip
    assert_one_clear_line(result, 4, "banned")


def closed_port_url() -> str:
    """A local URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_unreachable_server(dify_proc: DifyRunner) -> None:
    result = dify_proc(
        "connect", "--server", closed_port_url(), "--email", EMAIL,
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert_one_clear_line(result, 5, "connection refused")


def test_unknown_host(dify_proc: DifyRunner, config_dir: Path) -> None:
    # .invalid is reserved: it never resolves, on any network.
    result = dify_proc(
        "connect", "--server", "http://no-such-host.invalid", "--email", EMAIL,
        "--password-stdin", input=PASSWORD + "\n", timeout=30,
    )  # fmt: skip
    assert_one_clear_line(
        result, 5, "Cannot resolve the host name no-such-host.invalid."
    )
    assert result.stdout == ""
    assert config_files(config_dir) == {}


def test_timeout(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("modern", timeout_hold=3)
    fake.fail_next(1, Fault.TIMEOUT)
    result = password_connect(dify, fake, extra_env={"DIFY_TIMEOUT": "0.3"})
    assert_one_clear_line(result, 5, "did not answer within 0.3 s")


def test_untrusted_certificate(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("modern", https=True)
    result = dify(
        "connect", "--server", fake.url, "--email", EMAIL, "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert_one_clear_line(result, 5, "certificate is not trusted")
    assert "--ca-bundle" in result.stderr
    assert "--insecure" in result.stderr


@pytest.mark.parametrize(
    "extra_env",
    [{}, {"DIFY_INSECURE": "1"}, {"PSDIFY_DISABLE_SSL_VERIFICATION": "true"}],
)
def test_insecure_turns_verification_off_with_one_warning(
    fake_dify: FakeDifyFactory, dify_proc: DifyRunner, extra_env: dict[str, str]
) -> None:
    fake = fake_dify("modern", https=True)
    args = ["--insecure"] if not extra_env else []
    result = dify_proc(
        "connect", "--server", fake.url, "--email", EMAIL, "--password-stdin",
        *args, input=PASSWORD + "\n", extra_env=extra_env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr.count("TLS certificate verification is off") == 1
    assert "InsecureRequestWarning" not in result.stderr
    assert ("--insecure is not saved" in result.stderr) == bool(args)


@pytest.mark.parametrize(
    "case",
    [
        (Fault.BAD_GATEWAY_HTML, 5, "is unavailable (502)"),
        (Fault.WEB_PAGE, 5, "does not look like a Dify API"),
        (Fault.SERVER_ERROR, 1, "internal error (500)"),
        (Fault.SERVER_ERROR_HTML, 1, "internal error (500)"),
        (Fault.TRUNCATED_JSON, 5, "incomplete or invalid JSON"),
        (Fault.RESET, 5, "closed the connection"),
    ],
    ids=lambda case: case[0].value,
)
def test_broken_answers(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    config_dir: Path,
    case: tuple[Fault, int, str],
) -> None:
    fault, code, text = case
    fake = fake_dify("modern")
    fake.fail_next(1, fault, path="login")
    result = password_connect(dify, fake)
    assert_one_clear_line(result, code, text)
    assert sessions(config_dir).load("default") is None


def test_no_terminal_for_the_password(
    fake_dify: FakeDifyFactory, dify_proc: DifyRunner
) -> None:
    fake = fake_dify("modern")
    result = dify_proc("connect", "--server", fake.url, "--email", EMAIL, timeout=20)
    assert_one_clear_line(result, 2, "No terminal to ask for the password")
    assert "--password-stdin" in result.stderr
    assert fake.count("POST", "login") == 0


def test_no_terminal_for_the_email(
    fake_dify: FakeDifyFactory, dify_proc: DifyRunner
) -> None:
    fake = fake_dify("modern")
    result = dify_proc("connect", "--server", fake.url, timeout=20)
    assert_one_clear_line(result, 2, "needs an email")


def test_unknown_method(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("modern")
    result = dify("connect", "--server", fake.url, "--method", "saml")
    assert_one_clear_line(result, 3, "Unknown auth method 'saml'")
    assert "dify plugins" in result.stderr
    assert fake.counts == {}


def test_option_of_another_method(dify: DifyRunner) -> None:
    result = dify("connect", "--server", "http://127.0.0.1:9", "--code", "123456")
    assert_one_clear_line(result, 2, "--code belongs to the code method")


def test_bad_server_url(dify: DifyRunner) -> None:
    result = dify("connect", "--server", "dify.example.com")
    assert_one_clear_line(result, 3, "has no scheme")


# -- a failed login leaves the session it would have replaced ----------------


def lock_out(fake: FakeDify, tmp_path: Path) -> tuple[str, ...]:
    for _ in range(6):
        post_login(fake, password="wrong-password1")
    return ()


def ban(fake: FakeDify, tmp_path: Path) -> tuple[str, ...]:
    fake.account.banned = True
    return ()


def undo_setup(fake: FakeDify, tmp_path: Path) -> tuple[str, ...]:
    fake.setup_done = False
    return ()


def turn_off_password_login(fake: FakeDify, tmp_path: Path) -> tuple[str, ...]:
    fake.features["enable_email_password_login"] = False
    return ()


def trust_another_ca(fake: FakeDify, tmp_path: Path) -> tuple[str, ...]:
    bundle = tmp_path / "another-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))
    return ("--ca-bundle", str(bundle))


def point_at_a_closed_port(fake: FakeDify, tmp_path: Path) -> tuple[str, ...]:
    return ("--server", closed_port_url())


def point_at_an_unknown_host(fake: FakeDify, tmp_path: Path) -> tuple[str, ...]:
    return ("--server", "https://no-such-host.invalid")


def hold_the_login(fake: FakeDify, tmp_path: Path) -> tuple[str, ...]:
    fake.fail_next(1, Fault.TIMEOUT, path="login")
    return ()


def another_email(fake: FakeDify, tmp_path: Path) -> tuple[str, ...]:
    # Given with a wrong password: neither may reach the profile or session.
    return ("--email", "other@example.com")


# How the second login is made to fail (returning the options that do it), and
# the exit code and words it fails with.
FAILED_LOGINS: dict[
    str, tuple[Callable[[FakeDify, Path], tuple[str, ...]], int, str]
] = {
    "wrong password": (another_email, 4, "Wrong email or password"),
    "locked out": (lock_out, 7, "locks an email for 24 hours"),
    "banned": (ban, 4, "is banned on this server"),
    "not set up": (undo_setup, 3, "has not been set up yet"),
    "password login off": (turn_off_password_login, 4, "Password login is disabled"),
    "untrusted certificate": (trust_another_ca, 5, "certificate is not trusted"),
    "connection refused": (point_at_a_closed_port, 5, "connection refused"),
    "unknown host": (point_at_an_unknown_host, 5, "Cannot resolve the host name"),
    "timeout": (hold_the_login, 5, "did not answer within 0.3 s"),
}


@pytest.mark.parametrize("failure", FAILED_LOGINS)
def test_a_failed_login_after_a_good_one_keeps_session_and_profile(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    config_dir: Path,
    tmp_path: Path,
    failure: str,
) -> None:
    fake = fake_dify("modern", https=True, timeout_hold=3)
    assert password_connect(dify, fake).exit_code == 0
    before = config_files(config_dir)
    assert set(before) == {"profiles.toml", "sessions/default.json"}

    breakage, code, text = FAILED_LOGINS[failure]
    args = breakage(fake, tmp_path)
    password = "wrong-password1" if failure == "wrong password" else PASSWORD
    timeout = {"DIFY_TIMEOUT": "0.3"} if failure == "timeout" else {}
    result = dify(
        "connect", "--force", "--password-stdin", *args,
        input=password + "\n", extra_env=timeout,
    )  # fmt: skip

    assert_one_clear_line(result, code, text, secrets=(password,))
    assert result.stdout == ""
    assert config_files(config_dir) == before


# -- hints name the profile, and following them works ------------------------


def hinted_command(text: str, lead: str) -> list[str]:
    """The arguments of the `dify ...` command a message tells the user to run."""
    import shlex

    start = text.index(lead) + len(lead)
    command = text[start : text.index("`", start)]
    words = shlex.split(command)
    assert words[0] == "dify"
    return words[1:]


def test_send_only_saves_the_profile_its_hint_names(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify()
    sent = dify(
        "-p", "new", "connect", "--server", fake.url, "--method", "code",
        "--email", EMAIL, "--send-only",
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    finish = hinted_command(sent.stderr, "Finish with `")
    assert finish == ["--profile", "new", "connect", "--method", "code", "--code",
                      "CODE"]  # fmt: skip
    profiles = (config_dir / "profiles.toml").read_text()
    assert fake.url in profiles
    assert EMAIL in profiles
    assert 'auth_method = "code"' in profiles

    code = fake.last_code(EMAIL)
    done = dify(*[code if word == "CODE" else word for word in finish])
    assert done.exit_code == 0, done.output
    assert f"Connected to {fake.url}" in done.stdout


def test_send_only_with_no_save_hints_server_and_email(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify()
    sent = dify(
        "-p", "once", "connect", "--server", fake.url, "--method", "code",
        "--email", EMAIL, "--send-only", "--no-save",
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    assert not (config_dir / "profiles.toml").exists()
    finish = hinted_command(sent.stderr, "Finish with `")
    assert finish[:2] == ["--profile", "once"]
    assert finish[3:5] == ["--server", fake.url]
    assert finish[5:7] == ["--email", EMAIL]

    code = fake.last_code(EMAIL)
    done = dify(*[code if word == "CODE" else word for word in finish], "--no-save")
    assert done.exit_code == 0, done.output
    assert f"Connected to {fake.url}" in done.stdout


def test_code_hints_without_a_terminal_name_the_profile(
    fake_dify: FakeDifyFactory, dify_proc: DifyRunner
) -> None:
    fake = fake_dify()
    asked = dify_proc(
        "-p", "m2", "connect", "--server", fake.url, "--method", "code",
        "--email", EMAIL,
    )  # fmt: skip
    assert asked.exit_code == 2, asked.output
    assert "`dify --profile m2 connect --method code --send-only`" in asked.stderr
    assert "`dify --profile m2 connect --method code --code CODE`" in asked.stderr

    early = dify_proc(
        "-p", "m2", "connect", "--server", fake.url, "--method", "code",
        "--email", EMAIL, "--code", "123456",
    )  # fmt: skip
    assert early.exit_code == 2, early.output
    assert "`dify --profile m2 connect --method code --send-only`" in early.stderr


# -- an email that cannot be an address is refused before anything is sent --

BAD_EMAILS = {
    "control character": "a\x01@b.c",
    "line break": "a@b.c\nX-Injected: 1",
    "space": "a b@example.com",
    "tab": "a\t@example.com",
    "zero-width space": "a\u200b@example.com",
    "no @": "admin.example.com",
    "nothing before @": "@example.com",
    "nothing after @": "admin@",
    "over 254 characters": "a" * 243 + "@example.com",
}


@pytest.mark.parametrize("email", BAD_EMAILS.values(), ids=BAD_EMAILS)
@pytest.mark.parametrize(
    "method", [("--password-stdin",), ("--method", "code", "--send-only")]
)
def test_a_bad_email_flag_is_a_usage_error(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    config_dir: Path,
    email: str,
    method: tuple[str, ...],
) -> None:
    fake = fake_dify("modern")
    result = dify(
        "-p", "b", "connect", "--server", fake.url, "--email", email, *method,
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert_one_clear_line(result, 2, "Invalid value for '--email': Email ")
    assert fake.counts == {}
    assert not config_dir.exists() or not any(config_dir.iterdir())


@pytest.mark.parametrize("email", BAD_EMAILS.values(), ids=BAD_EMAILS)
def test_a_bad_email_from_the_environment_or_profile_names_it(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path, email: str
) -> None:
    fake = fake_dify("modern")
    login = ("connect", "--server", fake.url, "--password-stdin")
    for name in ("DIFY_EMAIL", "PSDIFY_EMAIL"):
        result = dify(*login, input=PASSWORD + "\n", extra_env={name: email})
        assert_one_clear_line(result, 3, f"Error: ${name}: Email ")

    config_dir.mkdir(parents=True)
    profiles = config_dir / "profiles.toml"
    quoted = json.dumps(email)  # a TOML basic string, escapes and all
    profiles.write_text(f'[profiles.b]\nserver = "{fake.url}"\nemail = {quoted}\n')
    before = profiles.read_bytes()
    for method in ("password", "code", "token"):
        result = dify(
            "-p", "b", "connect", "--method", method, "--password-stdin"
            if method == "password" else "--force", input=PASSWORD + "\n",
        )  # fmt: skip
        assert_one_clear_line(result, 3, f"Error: {profiles}, profile 'b': Email ")
    assert fake.counts == {}
    assert profiles.read_bytes() == before
    assert not (config_dir / "sessions").exists()


def test_a_bad_email_is_not_saved_by_profile_commands(
    dify: DifyRunner, config_dir: Path
) -> None:
    added = dify("profile", "add", "b", "--email", "a b@example.com")
    assert added.exit_code == 2, added.output
    assert added.stderr.startswith("Error: Invalid value for '--email'")
    assert dify("profile", "add", "b").exit_code == 0
    before = (config_dir / "profiles.toml").read_bytes()
    put = dify("profile", "set", "b", "email", "a\x01@example.com")
    assert put.exit_code == 3, put.output
    assert put.stderr == (
        "Error: Email 'a\\x01@example.com' contains spaces or control characters.\n"
    )
    assert (config_dir / "profiles.toml").read_bytes() == before


def test_an_unusual_but_possible_email_is_sent_as_given(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    email = "o'brien+ops@xn--bcher-kva.example"
    result = dify(
        "connect", "--server", fake.url, "--email", email, "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 4, result.output
    assert "Wrong email or password" in result.stderr
    assert fake.count("POST", "login") == 1


# -- a session that could not be kept is never asked for ---------------------


@contextlib.contextmanager
def unwritable_sessions(config_dir: Path, how: str) -> Iterator[Path]:
    """The sessions folder made unusable; yields the folder the error names."""
    config_dir.mkdir(parents=True, exist_ok=True)
    folder = config_dir / "sessions"
    if how == "file in its place":
        # A file stops root too, where permission bits do not.
        folder.write_text("not a folder\n")
        yield folder
        return
    if os.name != "posix":
        pytest.skip("read-only folders are set up with POSIX tools")
    target = config_dir if how == "read-only config folder" else folder
    target.mkdir(exist_ok=True)
    for _ in _make_read_only(target):
        yield target


UNWRITABLE = [
    "file in its place",
    "read-only sessions folder",
    "read-only config folder",
]
CONNECTS = {
    "password": ("--email", EMAIL, "--password-stdin"),
    "password, --no-save": ("--email", EMAIL, "--password-stdin", "--no-save"),
    "code, --send-only": ("--method", "code", "--email", EMAIL, "--send-only"),
    "token": ("--method", "token"),
}


@pytest.mark.parametrize("how", UNWRITABLE)
@pytest.mark.parametrize("args", CONNECTS.values(), ids=CONNECTS)
def test_unwritable_sessions_folder_stops_connect_before_any_request(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    config_dir: Path,
    how: str,
    args: tuple[str, ...],
) -> None:
    fake = fake_dify("modern")
    tokens = browser_tokens(fake)
    fake.reset_counts()
    with unwritable_sessions(config_dir, how) as folder:
        result = dify(
            "-p", "b", "connect", "--server", fake.url, *args,
            input=PASSWORD + "\n", extra_env=tokens,
        )  # fmt: skip
        shown = "is not a folder" if how == "file in its place" else "is not writable"
        assert_one_clear_line(
            result,
            3,
            f"Error: Cannot save sessions in {config_dir / 'sessions'}: "
            f"{folder} {shown}.",
        )
    assert fake.counts == {}
    assert not (config_dir / "profiles.toml").exists()


# -- CA bundles and option values are checked before anything is sent ---------


def test_a_ca_bundle_without_certificates_is_refused(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("modern", https=True)
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate\n")
    result = dify(
        "connect", "--server", fake.url, "--email", EMAIL, "--password-stdin",
        "--ca-bundle", str(bundle), input=PASSWORD + "\n",
    )  # fmt: skip
    assert_one_clear_line(result, 3, f"CA bundle {bundle} holds no PEM certificate")
    assert fake.counts == {}


def test_a_folder_of_hashed_certificates_is_a_ca_bundle(
    fake_dify: FakeDifyFactory, dify_proc: DifyRunner, tmp_path: Path
) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl makes the certificate hash")
    fake = fake_dify("modern", https=True)
    assert fake.ca_bundle is not None
    subject_hash = subprocess.run(
        [openssl, "x509", "-hash", "-noout", "-in", str(fake.ca_bundle)],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    folder = tmp_path / "certs"
    folder.mkdir()
    shutil.copy(fake.ca_bundle, folder / f"{subject_hash}.0")
    result = dify_proc(
        "connect", "--server", fake.url, "--email", EMAIL, "--password-stdin",
        "--ca-bundle", str(folder), input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_missing_ca_bundle_from_requests_variables_is_named(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    fake = fake_dify("modern", https=True)
    missing = tmp_path / "gone.pem"
    result = dify(
        "connect", "--server", fake.url, "--email", EMAIL, "--password-stdin",
        input=PASSWORD + "\n", extra_env={variable: str(missing)},
    )  # fmt: skip
    assert_one_clear_line(
        result, 3, f"CA bundle not found: {missing} (from {variable})."
    )
    assert fake.counts == {}


@pytest.mark.parametrize("value", ["abc\ndef", "abc\rX-Injected: 1", "abc\x1b[2J"])
def test_a_token_that_is_not_one_line_is_refused(
    fake_dify: FakeDifyFactory, dify: DifyRunner, value: str
) -> None:
    fake = fake_dify("modern")
    result = dify(
        "connect", "--server", fake.url, "--method", "token",
        extra_env={"DIFY_ACCESS_TOKEN": value, "DIFY_CSRF_TOKEN": "csrf"},
    )  # fmt: skip
    assert_one_clear_line(
        result,
        2,
        "DIFY_ACCESS_TOKEN cannot be used: it contains a line break or another "
        "control character.",
    )
    assert value not in result.output
    assert fake.counts == {}


def test_secrets_given_as_flags_to_a_working_session_are_said_to_go_unused(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    assert password_connect(dify, fake).exit_code == 0
    fake.reset_counts()

    flagged = dify("connect", "--password", "another-password")
    assert flagged.exit_code == 0, flagged.output
    assert (
        "warning: the stored session still works, so --password went unused; "
        "pass --force to log in with them."
    ) in flagged.stderr
    assert "another-password" not in flagged.output

    from_env = dify("connect", extra_env={"DIFY_PASSWORD": "another-password"})
    assert from_env.exit_code == 0, from_env.output
    assert "went unused" not in from_env.stderr
    assert fake.count("POST", "login") == 0
