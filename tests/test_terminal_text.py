"""Text from the server or the user reaches the terminal with controls escaped."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from dify_cli.terminal_text import printable

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"
NASTY = "Eve\x1b[2J\nInjected: line\r\x07\u202e"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text, ünïcode and emoji \U0001f468\u200d\U0001f469", None),
        ("a\nb", "a\\nb"),
        ("\x1b[2J", "\\x1b[2J"),
        ("tab\there\r", "tab\\there\\r"),
        ("\x9b2J", "\\x9b2J"),
        ("\u202egnp.exe", "\\u202egnp.exe"),
        ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
    ],
)
def test_printable(raw: str, shown: str | None) -> None:
    assert printable(raw) == (raw if shown is None else shown)


def _no_controls(text: str) -> None:
    assert "\x1b" not in text
    assert "\r" not in text
    assert "\x07" not in text
    assert "\u202e" not in text
    assert not [line for line in text.splitlines() if line.startswith("Injected")]


def test_server_names_are_escaped_in_connect_and_status(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    fake.account.name = NASTY
    fake.account.workspaces[0]["name"] = NASTY

    connected = dify(
        "connect", "--server", fake.url, "--email", EMAIL, "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert connected.exit_code == 0, connected.output
    status = dify("status")

    for result in (connected, status):
        _no_controls(result.output)
        assert "Eve\\x1b[2J\\nInjected: line" in result.stdout
    assert len(connected.stdout.splitlines()) == 1

    as_json = dify("status", "--json")
    assert json.loads(as_json.stdout)["account"]["name"] == NASTY


def test_an_error_quoting_user_input_is_one_line(dify: DifyRunner) -> None:
    result = dify("api", "apps\r\nX: y\x1b[2J")
    assert result.exit_code != 0
    assert result.stderr.startswith("Error: ")
    assert result.stderr.count("\n") == 1
    assert "\x1b" not in result.stderr
    assert "\r" not in result.stderr


def test_profile_values_written_by_hand_are_escaped(
    dify: DifyRunner, config_dir: Path
) -> None:
    config_dir.mkdir(parents=True)
    (config_dir / "profiles.toml").write_text(
        '[profiles.x]\nserver = "https://x.example"\n'
        'workspace = "Team\\u001b[2J\\u009b2J\\u202e"\n'
    )
    for args in (
        ["profile", "show", "x"],
        ["-p", "x", "profile", "show", "--resolved"],
    ):
        result = dify(*args)
        assert result.exit_code == 0, result.output
        _no_controls(result.stdout)
        assert "\x9b" not in result.stdout
        assert "Team" in result.stdout
