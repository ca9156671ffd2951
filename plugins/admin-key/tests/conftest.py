"""Fixtures for the admin-key plugin's tests: dify's own, and the plugin loaded."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dify_auth_admin_key
import pytest

from dify_cli import plugin_manager
from tests.conftest import config_dir, dify, dify_proc, env
from tests.fake_dify.fixtures import fake_dify
from tests.plugin_site import PLUGINS, add_project, pythonpath

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["config_dir", "dify", "dify_proc", "env", "fake_dify"]


@pytest.fixture
def plugin(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The plugin loaded in this process, whatever else is installed."""
    monkeypatch.setenv("DIFY_CLI_PLUGINS", "")
    plugin_manager.reset()
    plugin_manager.load_plugin(dify_auth_admin_key, "admin-key")
    yield
    plugin_manager.reset()


@pytest.fixture
def installed(tmp_path: Path) -> dict[str, str]:
    """Environment for a `dify` subprocess that finds the plugin installed."""
    site = tmp_path / "site"
    source = add_project(site, PLUGINS / "admin-key")
    return pythonpath(site, source)
