"""Number options of auth methods: finite, above 0 and at most a day, wherever
they come from (a flag, the environment, a profile)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner, Result

BAD = ["1e300", "inf", "nan", "0", "-1", "86401"]
EXEC = ["--method", "exec", "--auth-command", "true"]


def assert_refused(result: Result, code: int, named: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == code, result.output
    assert len(lines) == 1, result.stderr
    assert "unexpected" not in lines[0]
    assert named in lines[0]
    assert "at most 86400" in lines[0]


@pytest.mark.parametrize("value", BAD)
def test_a_flag_out_of_range_is_refused(dify: DifyRunner, value: str) -> None:
    result = dify(
        "connect", "--server", "http://127.0.0.1:9", *EXEC,
        "--auth-command-timeout", value,
    )  # fmt: skip
    assert_refused(result, 3, "--auth-command-timeout")


@pytest.mark.parametrize("value", BAD)
def test_an_environment_value_out_of_range_is_refused(
    dify: DifyRunner, value: str
) -> None:
    result = dify(
        "connect", "--server", "http://127.0.0.1:9", *EXEC,
        extra_env={"DIFY_AUTH_COMMAND_TIMEOUT": value},
    )  # fmt: skip
    assert_refused(result, 3, "DIFY_AUTH_COMMAND_TIMEOUT")


@pytest.mark.parametrize("value", ["1e300", "inf", "0", "86401"])
def test_profile_set_refuses_a_value_out_of_range(dify: DifyRunner, value: str) -> None:
    assert dify("profile", "add", "x", "--server", "http://127.0.0.1:9").exit_code == 0
    result = dify("profile", "set", "x", "auth_command_timeout", value)
    assert_refused(result, 3, "auth_command_timeout")


@pytest.mark.parametrize("value", ["1e300", "inf", "0", "-1", "86401"])
def test_a_stored_value_out_of_range_is_refused(
    dify: DifyRunner, config_dir: Path, value: str
) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "profiles.toml").write_text(
        '[profiles.y]\nserver = "http://127.0.0.1:9"\nauth_method = "exec"\n'
        f'auth_command = "true"\nauth_command_timeout = {value}\n'
    )
    result = dify("-p", "y", "connect")
    assert_refused(result, 3, "profile 'y'")
