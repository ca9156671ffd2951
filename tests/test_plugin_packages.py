"""The example plugins as real packages, installed and uninstalled with pip.

They are pip-installed into a throwaway virtual environment, found by the real
`dify` command there, and gone once uninstalled.

The throwaway environment borrows the running one's packages through links to
its site-packages entries, so no index or network is needed; it leaves out
dify-cli and every dify plugin (which it installs itself), so whatever this
environment has installed cannot show through, and pip in the throwaway
environment never touches a linked package.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.plugin_site import PLUGINS, REPO

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fake_dify.fixtures import FakeDifyFactory

KEY = "dify-admin-key-for-the-venv-test"
# Names (lower case, dashes as underscores) the throwaway environment must not
# borrow: it installs its own dify-cli and plugins.
OWN = ("dify_cli", "_dify_cli", "dify_auth", "_dify_auth", "__editable__")


@dataclass
class Venv:
    root: Path
    python: Path
    dify: Path

    def pip(self, *args: str) -> None:
        subprocess.run(
            [str(self.python), "-m", "pip", *args, "--quiet", "--no-input"],
            check=True,
            env=clean_env(),
            timeout=300,
        )

    def run(
        self, *args: str, env: dict[str, str], input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.dify), *args],
            capture_output=True,
            text=True,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            env={**clean_env(), **env},
            timeout=60,
            check=False,
        )


def clean_env() -> dict[str, str]:
    skip = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_", "DIFY_")
    return {k: v for k, v in os.environ.items() if not k.startswith(skip)}


def announces_dify_plugins(entry: Path) -> bool:
    points = entry / "entry_points.txt"
    return points.is_file() and "[dify_cli]" in points.read_text(errors="replace")


def borrowed(entry: Path) -> bool:
    name = entry.name.lower().replace("-", "_")
    if name.startswith(OWN) or announces_dify_plugins(entry):
        return False
    # Editable installs point .pth files at source folders, ours among them.
    is_pth = entry.suffix == ".pth"
    return not (is_pth and str(REPO) in entry.read_text(errors="replace"))


def outer_site_folders() -> list[Path]:
    folders = [Path(p) for p in site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        folders.append(Path(site.getusersitepackages()))
    folders += [Path(sysconfig.get_paths()[key]) for key in ("purelib", "platlib")]
    unique: list[Path] = []
    for folder in folders:
        if folder.is_dir() and folder not in unique:
            unique.append(folder)
    return unique


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venv]:
    pytest.importorskip("hatchling", reason="builds the plugins without an index")
    root = tmp_path_factory.mktemp("venv")
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(root)],
        check=True,
        timeout=120,
    )
    scripts = root / ("Scripts" if os.name == "nt" else "bin")
    suffix = ".exe" if os.name == "nt" else ""
    python = scripts / f"python{suffix}"
    target = Path(
        subprocess.check_output(
            [
                str(python),
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ],
            text=True,
        ).strip()
    )
    for folder in outer_site_folders():
        for entry in folder.iterdir():
            link = target / entry.name
            if link.exists() or not borrowed(entry):
                continue
            try:
                link.symlink_to(entry, target_is_directory=entry.is_dir())
            except OSError:
                pytest.skip("this system does not allow symbolic links")
    made = Venv(root, python, scripts / f"dify{suffix}")
    made.pip(
        "install", "--no-deps", "--no-build-isolation", "--no-index",
        str(REPO), str(PLUGINS / "admin-key"), str(PLUGINS / "exec"),
    )  # fmt: skip
    yield made


def test_installed_plugins_are_listed_offered_and_log_in(
    venv: Venv, fake_dify: FakeDifyFactory, env: dict[str, str], tmp_path: Path
) -> None:
    listed = venv.run("plugins", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["admin-key"]["package"] == "dify-auth-admin-key"
    assert rows["admin-key"]["version"] == "0.1.0"
    assert rows["admin-key"]["auth_methods"] == ["admin-key"]
    assert rows["exec"]["package"] == "dify-auth-exec"
    assert rows["exec"]["auth_methods"] == ["exec"]
    assert all(row["error"] is None for row in rows.values())

    helped = venv.run("connect", "--help", env=env)
    assert "--workspace-id ID" in helped.stdout
    assert "--auth-command COMMAND" in helped.stdout

    fake = fake_dify("modern", admin_api_key=KEY)
    workspace = fake.account.workspaces[0]["id"]
    admin = venv.run(
        "--profile", "admin", "connect", "--server", fake.url,
        "--method", "admin-key", "--workspace-id", workspace,
        env={**env, "DIFY_ADMIN_API_KEY": KEY},
    )  # fmt: skip
    assert admin.returncode == 0, admin.stderr
    assert fake.count("POST", "login") == 0

    helper = tmp_path / "helper.py"
    helper.write_text(
        "import json\n"
        f"print(json.dumps({{'access_token': {tokens(fake)[0]!r}, "
        f"'csrf_token': {tokens(fake)[1]!r}}}))\n"
    )
    sso = venv.run(
        "--profile", "sso", "connect", "--server", fake.url, "--method", "exec",
        "--auth-command", f'"{sys.executable}" "{helper}"',
        env=env,
    )  # fmt: skip
    assert sso.returncode == 0, sso.stderr
    assert venv.run("--profile", "sso", "status", env=env).returncode == 0


def tokens(fake: object) -> tuple[str, str]:
    """An access and a CSRF token of the fake's default account."""
    from dify_cli.client import ConsoleClient

    client = ConsoleClient(fake.url)  # type: ignore[attr-defined]
    client.probe()
    creds = client.login_password("admin@example.com", "Passw0rd!Example")
    client.close()
    return str(creds.access_token), str(creds.csrf_token)


def test_uninstalling_a_plugin_removes_it_again(
    venv: Venv, fake_dify: FakeDifyFactory, env: dict[str, str]
) -> None:
    fake = fake_dify("modern")
    venv.pip("uninstall", "--yes", "dify-auth-exec")
    try:
        listed = venv.run("plugins", "--json", env=env)
        names = {row["name"] for row in json.loads(listed.stdout)}
        assert "exec" not in names
        assert "admin-key" in names
        assert "--auth-command" not in venv.run("connect", "--help", env=env).stdout

        venv.run("profile", "add", "sso", "--server", fake.url, env=env)
        venv.run("profile", "set", "sso", "auth_method", "exec", env=env)
        result = venv.run("--profile", "sso", "connect", env=env)
        assert result.returncode == 3
        assert "Unknown auth method 'exec'" in result.stderr
        assert "dify plugins" in result.stderr

        refused = venv.run("profile", "set", "sso", "auth_command", "x", env=env)
        assert refused.returncode == 3
        assert "Unknown key 'auth_command'" in refused.stderr
    finally:
        venv.pip(
            "install", "--no-deps", "--no-build-isolation", "--no-index",
            str(PLUGINS / "exec"),
        )  # fmt: skip
