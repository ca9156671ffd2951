"""Commands that need no server, or no edit, leave the costly libraries unimported."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO

if TYPE_CHECKING:
    from tests.conftest import DifyRunner
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"

# Runs the command in a fresh interpreter, then prints every module loaded.
RUN = """
import sys
MARK = sys.argv.pop(1)
from dify_cli.cli.main import cli
code = 0
try:
    cli(sys.argv[1:], prog_name="dify")
except SystemExit as exit:
    code = exit.code or 0
print(MARK, code, *sorted(sys.modules))
"""
MARK = "--- modules loaded:"

COSTLY = {"requests", "urllib3", "tomlkit", "pluggy", "filelock", "platformdirs"}


def loaded(env: dict[str, str], *args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", RUN, MARK, *args],
        env={**os.environ, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    code, *modules = done.stdout.rpartition(MARK)[2].split()
    assert code == "0", done.stdout + done.stderr
    return {name.partition(".")[0] for name in modules} & COSTLY


@pytest.fixture
def connected(
    fake_dify: FakeDifyFactory, dify: DifyRunner, env: dict[str, str]
) -> dict[str, str]:
    fake = fake_dify("modern")
    result = dify(
        "connect", "--server", fake.url, "--email", EMAIL, "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return env


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (["--version"], set()),
        (["--help"], {"pluggy"}),
        (["profile", "list"], set()),
        (["profile", "show", "default"], set()),
        (["status", "--offline"], {"pluggy"}),
        (["token"], {"pluggy"}),
    ],
    ids=" ".join,
)
def test_only_what_the_command_needs_is_imported(
    connected: dict[str, str], args: list[str], allowed: set[str]
) -> None:
    assert loaded(connected, *args) <= allowed


def test_a_command_that_talks_to_the_server_imports_requests(
    connected: dict[str, str],
) -> None:
    assert "requests" in loaded(connected, "status")
