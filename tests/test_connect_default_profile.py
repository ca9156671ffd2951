"""`dify connect` saving the first profile of a setup makes it the default."""

from __future__ import annotations

from typing import TYPE_CHECKING

import tomlkit

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner, Result
    from tests.fake_dify import FakeDify
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"


def connect(dify: DifyRunner, fake: FakeDify, profile: str, *extra: str) -> Result:
    return dify(
        "--profile", profile, "connect", "--server", fake.url, "--email", EMAIL,
        "--password-stdin", *extra, input=PASSWORD + "\n",
    )  # fmt: skip


def test_the_first_profile_saved_becomes_the_default(
    fake_dify: FakeDifyFactory, dify_proc: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    first = connect(dify_proc, fake, "prod")
    assert first.exit_code == 0, first.output
    assert first.stderr == "Profile prod is now the default profile.\n"
    data = tomlkit.parse((config_dir / "profiles.toml").read_text())
    assert data["default_profile"] == "prod"

    # Commands without --profile now use it.
    status = dify_proc("status")
    assert status.exit_code == 0, status.output
    assert status.stdout.startswith("Profile prod (the default profile; saved)")

    second = connect(dify_proc, fake, "staging")
    assert second.exit_code == 0, second.output
    assert second.stderr == ""
    data = tomlkit.parse((config_dir / "profiles.toml").read_text())
    assert data["default_profile"] == "prod"


def test_an_existing_default_or_no_save_is_left_alone(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    result = connect(dify, fake, "scratch", "--no-save")
    assert result.exit_code == 0, result.output
    assert not (config_dir / "profiles.toml").exists()

    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "profiles.toml").write_text('default_profile = "later"\n')
    result = connect(dify, fake, "prod")
    assert result.exit_code == 0, result.output
    assert "default profile" not in result.stderr
    data = tomlkit.parse((config_dir / "profiles.toml").read_text())
    assert data["default_profile"] == "later"


def test_a_profile_named_default_is_not_announced(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    result = connect(dify, fake, "default")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
