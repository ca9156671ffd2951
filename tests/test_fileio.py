"""Config paths, atomic writes and inter-process locks."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dify_cli.errors import ConfigError
from dify_cli.fileio import atomic_write_text, file_lock, read_text
from dify_cli.paths import config_dir, ensure_private_dir, profiles_path, sessions_dir


def test_config_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIFY_CONFIG_DIR", str(tmp_path / "env"))
    assert config_dir(tmp_path / "flag") == tmp_path / "flag"
    assert config_dir() == tmp_path / "env"
    assert profiles_path() == tmp_path / "env" / "profiles.toml"
    monkeypatch.delenv("DIFY_CONFIG_DIR")
    assert config_dir().name == "dify"


def test_sessions_dir_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIFY_CONFIG_DIR", raising=False)
    monkeypatch.delenv("DIFY_DATA_DIR", raising=False)
    assert sessions_dir().parent.name == "dify"
    assert sessions_dir(tmp_path / "cfg") == tmp_path / "cfg" / "sessions"
    monkeypatch.setenv("DIFY_DATA_DIR", str(tmp_path / "data"))
    assert sessions_dir(tmp_path / "cfg") == tmp_path / "data" / "sessions"


def test_private_dirs(tmp_path: Path) -> None:
    folder = ensure_private_dir(tmp_path / "a" / "b")
    assert folder.is_dir()
    if os.name == "posix":
        for path in (tmp_path / "a", folder):
            assert stat.S_IMODE(path.stat().st_mode) == 0o700
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        ensure_private_dir(tmp_path / "file")
    with pytest.raises(ConfigError, match="Could not create the folder"):
        ensure_private_dir(tmp_path / "file" / "below")


def test_atomic_write_replaces_and_keeps_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "f.toml"
    atomic_write_text(path, "a\r\nb\n")
    assert path.read_bytes() == b"a\r\nb\n"
    assert read_text(path) == "a\r\nb\n"
    assert read_text(tmp_path / "missing") is None
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failed_write_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gone" / "f.toml"
    with pytest.raises(ConfigError) as caught:
        atomic_write_text(path, "x")
    assert str(path) in caught.value.message
    assert caught.value.exit_code == 3


HOLDER = """
import sys, time
from pathlib import Path
from dify_cli.fileio import file_lock
with file_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(30)
"""


def test_waiting_too_long_for_a_lock_is_an_error(tmp_path: Path) -> None:
    lock_path = tmp_path / "x.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(ConfigError, match="Timed out"), file_lock(lock_path, 0.2):
            pass
    finally:
        holder.kill()
        holder.wait()
    with file_lock(lock_path, 5):
        pass
