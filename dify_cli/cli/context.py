"""The state every command shares: global options, and the stores built from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from pathlib import Path

    from dify_cli.profiles import ProfileStore
    from dify_cli.sessions import SessionStore


@dataclass
class AppContext:
    """Global options as given, plus the stores opened lazily from them."""

    profile: str | None = None
    config_dir: Path | None = None
    json: bool = False
    debug: bool = False

    def profile_store(self) -> ProfileStore:
        from dify_cli.paths import profiles_path
        from dify_cli.profiles import ProfileStore

        return ProfileStore(profiles_path(self.config_dir))

    def session_store(self) -> SessionStore:
        from dify_cli.paths import sessions_dir
        from dify_cli.sessions import SessionStore

        return SessionStore(sessions_dir(self.config_dir))


def app_context() -> AppContext:
    """The AppContext of the command being run."""
    return click.get_current_context().ensure_object(AppContext)
