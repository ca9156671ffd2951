"""Settings of the wrong TOML type, written into profiles.toml by hand."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner

# TOML spellings of values that are not text, and how profile list shows them.
WRONG = {
    "an integer": ("5", "5"),
    "a date": ("1979-05-27", "1979-05-27"),
    "an array": ("[1, 2]", "[1, 2]"),
    "a table": ("{ host = 'x' }", "host"),
}


@pytest.fixture(params=list(WRONG), ids=list(WRONG))
def wrong(request: pytest.FixtureRequest, config_dir: Path) -> str:
    toml, shown = WRONG[request.param]
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "profiles.toml").write_text(
        f'default_profile = "good"\n\n[profiles.bad]\nserver = {toml}\n\n'
        '[profiles.good]\nserver = "https://dify.example.com"\n'
    )
    return shown


def test_profile_list_shows_a_wrongly_typed_server(
    dify: DifyRunner, wrong: str
) -> None:
    result = dify("profile", "list")
    assert result.exit_code == 0, result.output
    assert "bad" in result.stdout
    assert wrong in result.stdout
    assert "https://dify.example.com" in result.stdout
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["-p", "bad", "status"],
        ["-p", "bad", "connect", "--method", "token"],
        ["-p", "bad", "profile", "show", "--resolved"],
        ["-p", "bad", "app", "list"],
        ["status", "--all"],
    ],
)
def test_commands_using_it_name_the_file_profile_and_key(
    dify: DifyRunner, config_dir: Path, wrong: str, args: list[str]
) -> None:
    result = dify(*args, input="")
    assert result.exit_code == 3, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(config_dir / "profiles.toml") in lines[0]
    assert "'bad'" in lines[0]
    assert "server" in lines[0]
