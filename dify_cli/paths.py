"""Where dify keeps its files: the config folder, profiles.toml and the sessions."""

from __future__ import annotations

import os
from pathlib import Path

from dify_cli.errors import ConfigError

APP_NAME = "dify"
PROFILES_FILE = "profiles.toml"
SESSIONS_FOLDER = "sessions"

# Only POSIX systems have permission bits worth setting; on Windows chmod can do no
# more than toggle the read-only flag, and the user's profile folder is private.
HAS_MODES = os.name == "posix"


def _from_env(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def config_dir(override: Path | None = None) -> Path:
    """The config folder: ``override``, else $DIFY_CONFIG_DIR, else the OS default."""
    if override is not None:
        return _folder(Path(override).expanduser(), "--config-dir")
    from_env = _from_env("DIFY_CONFIG_DIR")
    if from_env is not None:
        return _folder(from_env, "DIFY_CONFIG_DIR")

    import platformdirs

    # appauthor=False keeps Windows from nesting the folder as dify\dify.
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def _folder(path: Path, source: str) -> Path:
    if path.exists() and not path.is_dir():
        raise ConfigError(
            f"The config folder {path} (from {source}) is not a folder.",
            hint="Point it at a folder, or at a path that does not exist yet.",
        )
    return path


def profiles_path(override: Path | None = None) -> Path:
    """The profiles file inside the config folder."""
    return config_dir(override) / PROFILES_FILE


def sessions_dir(override: Path | None = None) -> Path:
    """The folder of stored sessions.

    $DIFY_DATA_DIR wins; a config folder chosen by flag or environment keeps its
    sessions beside it, so that one folder isolates an environment completely;
    otherwise the OS data folder is used.
    """
    data_dir = _from_env("DIFY_DATA_DIR")
    if data_dir is not None:
        return data_dir / SESSIONS_FOLDER
    if override is not None or _from_env("DIFY_CONFIG_DIR") is not None:
        return config_dir(override) / SESSIONS_FOLDER

    import platformdirs

    data_root = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    return data_root / SESSIONS_FOLDER


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents, each readable by the owner only."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent

    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            # mkdir's mode is filtered through the umask; set it exactly.
            if HAS_MODES:
                folder.chmod(0o700)
        except OSError as error:
            reason = error.strerror or str(error)
            raise ConfigError(
                f"Could not create the folder {folder}: {reason}."
            ) from error

    if not path.is_dir():
        raise ConfigError(f"{path} exists but is not a folder.")
    return path
