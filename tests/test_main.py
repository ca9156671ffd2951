"""The root command: every failure ends as one line on stderr with its exit code."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO
from tests.plugin_site import pythonpath, write_dist_info

if TYPE_CHECKING:
    from tests.conftest import DifyRunner

CRASHER = """
import click

from dify_cli.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command("crash")
    def crash():
        \"\"\"Fail the way a bug would.\"\"\"
        raise ZeroDivisionError("division by zero")

    @cli.command("leak")
    def leak():
        \"\"\"Fail the way a bug holding a token would.\"\"\"
        raise ValueError("refused eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
"""

LEAKED_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_a_usage_error_is_one_line_naming_the_help(dify: DifyRunner) -> None:
    result = dify("app", "list", "--mode", "bogus")
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert line.startswith("Error: Invalid value for '--mode'")
    assert "dify app list --help" in line


def test_an_unknown_command_is_one_line(dify: DifyRunner) -> None:
    result = dify("conect")
    assert result.exit_code == 2
    assert "No such command 'conect'" in one_line(result.stderr)


@pytest.mark.parametrize("via_env", [False, True])
def test_a_config_folder_that_is_a_file_is_a_configuration_error(
    dify_proc: DifyRunner, tmp_path: Path, via_env: bool
) -> None:
    file = tmp_path / "not-a-folder"
    file.write_text("")
    if via_env:
        result = dify_proc("profile", "list", extra_env={"DIFY_CONFIG_DIR": str(file)})
    else:
        result = dify_proc("--config-dir", str(file), "profile", "list")
    assert result.exit_code == 3
    source = "DIFY_CONFIG_DIR" if via_env else "--config-dir"
    assert f"(from {source}) is not a folder" in one_line(result.stderr)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["--help"], ["profile", "list", "--json"]])
def test_output_that_cannot_be_written_fails_with_one_line(
    env: dict[str, str], args: list[str]
) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "dify_cli", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
            cwd=REPO,
            check=False,
        )
    assert proc.returncode == 1
    assert "Could not write the output" in one_line(proc.stderr)


@pytest.mark.skipif(os.name != "posix", reason="closes a file descriptor")
def test_a_closed_standard_output_is_an_error_not_silence(
    env: dict[str, str],
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dify_cli", "profile", "list", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
        cwd=REPO,
        check=False,
        preexec_fn=lambda: os.close(1),
    )
    assert proc.returncode == 1
    assert "standard output is closed" in one_line(proc.stderr)


def test_a_closed_pipe_ends_quietly(env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dify_cli", "--help"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
        cwd=REPO,
    )
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=30)
    assert b"Traceback" not in err


@pytest.fixture
def crasher(tmp_path: Path) -> dict[str, str]:
    """Environment for a `dify` that has the crashing plugin's commands."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "crasher.py").write_text(textwrap.dedent(CRASHER), encoding="utf-8")
    write_dist_info(site, "dify-crasher", "1.0", {"crasher": "crasher"})
    return pythonpath(site)


def test_an_unexpected_exception_is_one_line_and_a_traceback_only_with_debug(
    dify_proc: DifyRunner, crasher: dict[str, str]
) -> None:
    extra = crasher
    plain = dify_proc("crash", extra_env=extra)
    assert plain.exit_code == 1
    line = one_line(plain.stderr)
    assert "unexpected ZeroDivisionError: division by zero" in line
    assert "--debug" in line

    debug = dify_proc("--debug", "crash", extra_env=extra)
    assert debug.exit_code == 1
    assert "Traceback" in debug.stderr
    assert "ZeroDivisionError" in debug.stderr


def test_an_unexpected_exception_never_shows_a_token(
    dify_proc: DifyRunner, crasher: dict[str, str]
) -> None:
    extra = crasher
    for args in (["leak"], ["--debug", "leak"]):
        result = dify_proc(*args, extra_env=extra)
        assert result.exit_code == 1
        assert "unexpected ValueError: refused ***" in result.stderr
        assert LEAKED_TOKEN not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--config-dir", "", "profile", "list"],
        ["-p", "", "status"],
        ["--profile", " ", "status"],
        ["connect", "--ca-bundle", "", "--server", "http://127.0.0.1:9"],
        ["connect", "--server", "", "--method", "token"],
        ["connect", "--method", ""],
        ["profile", "add", "x", "--ca-bundle", ""],
        ["profile", "add", "x", "--workspace", ""],
    ],
)
def test_an_empty_name_or_path_is_a_usage_error(
    dify: DifyRunner,
    config_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    result = dify(*args)
    assert result.exit_code == 2, result.output
    assert "must not be empty" in result.stderr
    assert result.stderr.count("\n") == 1
    assert list(cwd.iterdir()) == []
    assert not config_dir.exists()


@pytest.mark.parametrize("how", ["python -m dify_cli", "console script"])
def test_ctrl_c_while_starting_up_exits_130(
    dify_proc: DifyRunner, tmp_path: Path, how: str
) -> None:
    # A Click that raises KeyboardInterrupt on import stands in for a Ctrl-C
    # pressed while the command line is still being imported.
    fake = tmp_path / "site" / "click"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise KeyboardInterrupt\n", encoding="utf-8")
    extra = pythonpath(tmp_path / "site")

    if how == "console script":
        script = Path(sys.executable).with_name("dify")
        proc = subprocess.run(
            [str(script), "status"],
            capture_output=True,
            text=True,
            env={**os.environ, **extra},
            timeout=30,
            check=False,
        )
        code, stderr = proc.returncode, proc.stderr
    else:
        result = dify_proc("status", extra_env=extra)
        code, stderr = result.exit_code, result.stderr

    assert code == 130, stderr
    assert stderr.strip() == "Interrupted."


@pytest.mark.parametrize("group", [[], ["profile"], ["app"], ["workspace"]])
def test_a_bare_group_prints_its_help(dify_proc: DifyRunner, group: list[str]) -> None:
    result = dify_proc(*group)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.startswith(f"Usage: {' '.join(['dify', *group])} [OPTIONS]")
    assert "Commands:" in result.stdout
    assert "Error" not in result.stdout


@pytest.mark.parametrize(
    ("args", "given"),
    [
        (["status", "-p", "dev"], "dify -p NAME status"),
        (["status", "--profile=dev"], "dify --profile NAME status"),
        (
            ["profile", "list", "--config-dir", "x"],
            "dify --config-dir DIR profile list",
        ),
        (["workspace", "list", "--debug"], "dify --debug workspace list"),
    ],
)
def test_a_global_option_after_the_command_says_where_it_goes(
    dify: DifyRunner, args: list[str], given: str
) -> None:
    result = dify(*args)
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert "is a global option: give it before the command" in line
    assert f"`{given}`" in line


def test_an_unknown_option_still_names_the_help(dify: DifyRunner) -> None:
    line = one_line(dify("status", "--bogus").stderr)
    # Click's own words for it vary between its releases.
    assert line.startswith("Error: No such option")
    assert "--bogus" in line
    assert line.endswith(" (see 'dify status --help')")
