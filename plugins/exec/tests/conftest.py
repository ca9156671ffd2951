"""Fixtures for the exec plugin's tests: dify's own, the plugin, and a helper."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import dify_auth_exec
import pytest

from dify_cli import plugin_manager
from tests.conftest import config_dir, dify, dify_proc, env
from tests.fake_dify.fixtures import fake_dify
from tests.plugin_site import PLUGINS, add_project, pythonpath

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fake_dify import FakeDify

__all__ = ["config_dir", "dify", "dify_proc", "env", "fake_dify"]

HELPER = Path(__file__).resolve().parent / "sso_helper.py"


@pytest.fixture
def plugin(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The plugin loaded in this process, whatever else is installed."""
    monkeypatch.setenv("DIFY_CLI_PLUGINS", "")
    plugin_manager.reset()
    plugin_manager.load_plugin(dify_auth_exec, "exec")
    yield
    plugin_manager.reset()


@pytest.fixture
def installed(tmp_path: Path) -> dict[str, str]:
    """Environment for a `dify` subprocess that finds the plugin installed."""
    site = tmp_path / "site"
    source = add_project(site, PLUGINS / "exec")
    return pythonpath(site, source)


class Helper:
    """Builds auth commands that run sso_helper.py, and counts its runs."""

    def __init__(self, folder: Path) -> None:
        self.log = folder / "helper-runs.txt"

    def command(self, fake: FakeDify | None, *args: str) -> str:
        parts = [sys.executable, str(HELPER), "--count", str(self.log)]
        if fake is not None and fake.behaviour.encoded_secrets:
            parts.append("--encode")
        # The plugin hands Windows the text as it is, split by Windows' rules.
        join = subprocess.list2cmdline if os.name == "nt" else shlex.join
        return join([*parts, *args])

    @property
    def runs(self) -> list[str]:
        if not self.log.exists():
            return []
        return self.log.read_text(encoding="utf-8").split()


@pytest.fixture
def helper(tmp_path: Path) -> Helper:
    return Helper(tmp_path)
