"""Server faults during authenticated commands and connect: one clear line on
stderr, the exit code of the fault's kind, and no file touched."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.conftest import config_files
from tests.fake_dify import Fault

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner, Result
    from tests.fake_dify import FakeDify
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"

# What each fault says, and its exit code: an error Dify reports itself is the
# server refusing (1), and so is a crash page; no answer, a cut-off one, a
# proxy's 502 or a page that is not the API is 5.
FAULTS = {
    Fault.SERVER_ERROR: (1, "internal error (500)"),
    Fault.SERVER_ERROR_HTML: (1, "internal error (500)"),
    Fault.BAD_GATEWAY_HTML: (5, "is unavailable (502)"),
    Fault.WEB_PAGE: (5, "does not look like a Dify API"),
    Fault.RESET: (5, "closed the connection without answering"),
    Fault.TIMEOUT: (5, "did not answer within 1 s"),
    Fault.TRUNCATED_JSON: (5, "incomplete or invalid JSON"),
}

# A command, the request the fault hits, and whether the session has to be
# renewed first (so the fault may hit the refresh).
COMMANDS = {
    "status": (["status"], "account/profile", False),
    "status, renewing": (["status"], "refresh-token", True),
    "workspace list": (["workspace", "list"], "workspaces", False),
    "workspace list, renewing": (["workspace", "list"], "refresh-token", True),
    "app list": (["app", "list"], "apps", False),
    "connect, session re-used": (["connect"], "account/profile", False),
    "connect --force, probe": (
        ["connect", "--force", "--password-stdin"],
        "system-features",
        False,
    ),
    "connect --force, login": (
        ["connect", "--force", "--password-stdin"],
        "login",
        False,
    ),
}


@pytest.fixture
def connected(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> FakeDify:
    """A modern server, and a profile connected to it with a 1 s timeout."""
    fake = fake_dify("modern", timeout_hold=5)
    result = dify(
        "connect", "--server", fake.url, "--email", EMAIL, "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert dify("profile", "set", "default", "timeout", "1").exit_code == 0
    assert "sessions/default.json" in config_files(config_dir)
    fake.reset_counts()
    return fake


def assert_one_clear_line(result: Result, code: int, text: str) -> None:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    assert text in lines[0], lines[0]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda fault: fault.value)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_fault_is_one_line_and_writes_nothing(
    connected: FakeDify,
    dify_proc: DifyRunner,
    config_dir: Path,
    command: str,
    fault: Fault,
) -> None:
    args, path, renewing = COMMANDS[command]
    code, text = FAULTS[fault]
    if renewing:
        connected.expire_access_tokens()
    before = config_files(config_dir)
    connected.fail_next(1, fault, path=path)

    stdin = PASSWORD + "\n" if "--password-stdin" in args else None
    result = dify_proc(*args, input=stdin, timeout=30)

    method = "POST" if path in ("login", "refresh-token") else "GET"
    assert connected.count(method, path), "the fault was never served"
    assert_one_clear_line(result, code, text)
    if args[0] == "status":
        # The report still says what is known, and what went wrong.
        assert "Status:     error: " in result.stdout
    else:
        assert result.stdout == ""
    assert config_files(config_dir) == before
