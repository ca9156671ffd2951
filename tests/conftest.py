"""Shared fixtures: an isolated config folder and ways to run `dify`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from dify_cli.cli.main import cli

pytest_plugins = ["tests.fake_dify.fixtures"]

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    """What a user sees of one `dify` run."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Its own config folder, and none of the user's DIFY_* variables."""
    for name in list(os.environ):
        if name.startswith(("DIFY_", "PSDIFY_")):
            monkeypatch.delenv(name)
    config = tmp_path / "config"
    monkeypatch.setenv("DIFY_CONFIG_DIR", str(config))
    yield {"DIFY_CONFIG_DIR": str(config)}


@pytest.fixture
def config_dir(env: dict[str, str]) -> Path:
    return Path(env["DIFY_CONFIG_DIR"])


def config_files(config_dir: Path) -> dict[str, bytes]:
    """Every file dify keeps, byte for byte; lock files carry no data."""
    return {
        str(path.relative_to(config_dir)): path.read_bytes()
        for path in sorted(config_dir.rglob("*"))
        if path.is_file() and path.suffix != ".lock"
    }


DifyRunner = Callable[..., Result]


@pytest.fixture
def dify(env: dict[str, str]) -> DifyRunner:
    """Run `dify ARGS...` in-process through Click's runner."""

    def run(
        *args: str, input: str | None = None, extra_env: dict[str, str] | None = None
    ) -> Result:
        runner = CliRunner()
        result = runner.invoke(
            cli, list(args), input=input, env=extra_env, prog_name="dify"
        )
        return Result(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def dify_proc(env: dict[str, str]) -> DifyRunner:
    """Run `dify ARGS...` as a real subprocess, the way a shell or CI job would."""

    def run(
        *args: str,
        input: str | None = None,
        extra_env: dict[str, str] | None = None,
        timeout: float = 60,
        close_stdin: bool = False,
    ) -> Result:
        full_env = {**os.environ, **env, **(extra_env or {})}
        # Closing descriptor 0 in the child is `<&-` in a shell: sys.stdin is None.
        closer = (lambda: os.close(0)) if close_stdin else None
        proc = subprocess.run(
            [sys.executable, "-m", "dify_cli", *args],
            check=False,
            input=input,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            cwd=REPO,
            stdin=None if input is not None else subprocess.DEVNULL,
            preexec_fn=closer,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run
