"""`dify status`: what it shows, where settings came from, its exit codes and cost."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.fake_dify import Fault

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner
    from tests.fake_dify import FakeDify
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"


def connect(dify: DifyRunner, fake: FakeDify, *profile: str) -> None:
    result = dify(
        *profile, "connect", "--server", fake.url, "--email", EMAIL,
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    fake.reset_counts()


def test_connected(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("cookie")
    connect(dify, fake)
    result = dify("status")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Profile default" in out
    assert f"{fake.url} (Dify 1.11.1, cookie)" in out
    assert "Admin <admin@example.com>" in out
    assert "Method:     password" in out
    assert "expires in" in out
    assert "Status:     connected" in out
    assert fake.counts == {"GET /console/api/account/profile": 1}


def test_json_says_where_each_setting_came_from(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    result = dify("status", "--json", extra_env={"DIFY_TIMEOUT": "12"})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["connected"] is True
    assert data["account"] == {
        "id": fake.account.id,
        "email": EMAIL,
        "name": "Admin",
    }
    assert data["server_version"] == fake.version
    assert data["generation"] == "modern"
    settings = data["settings"]
    assert settings["server"]["source"] == "profile"
    assert settings["timeout"] == {
        "value": 12.0,
        "source": "env",
        "origin": "DIFY_TIMEOUT",
    }
    assert settings["verify_tls"]["source"] == "default"
    # The first profile connect saved became the default.
    assert data["profile_source"] == "profile"


def test_not_connected(dify: DifyRunner) -> None:
    result = dify("status")
    assert result.exit_code == 4
    assert "not connected" in result.stdout
    assert "dify --profile default connect" in result.stdout


def test_offline_sends_nothing(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("legacy")
    connect(dify, fake)
    result = dify("status", "--offline", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["state"] == "session stored (not checked)"
    assert fake.counts == {}


def test_rejected_session_exits_4(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("legacy")
    connect(dify, fake)
    fake.refresh_tokens.revoke_latest(fake.account.id)
    fake.expire_access_tokens()
    result = dify("status")
    assert result.exit_code == 4
    assert "session has expired" in result.stdout


def test_unreachable_server_exits_5(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    fake.fail_next(1, Fault.RESET)
    result = dify("status")
    assert result.exit_code == 5
    assert "closed the connection" in result.stdout


def test_all_profiles(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    legacy = fake_dify("legacy")
    modern = fake_dify("modern")
    connect(dify, legacy, "--profile", "old")
    connect(dify, modern, "--profile", "new")
    result = dify("status", "--all", "--json")
    data = json.loads(result.stdout)
    # Only saved or connected profiles: no "default" that is neither.
    assert [item["profile"] for item in data] == ["old", "new"]
    assert [item["connected"] for item in data] == [True, True]
    assert result.exit_code == 0, result.output
    assert legacy.counts == {"GET /console/api/account/profile": 1}
    assert modern.counts == {"GET /console/api/account/profile": 1}

    both = dify("--profile", "new", "status", "--all")
    assert both.exit_code == 0, both.output
    assert "Profile old" in both.stdout
    assert "Profile new" in both.stdout


def test_unknown_named_profile(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("modern")
    connect(dify, fake, "--profile", "prod")
    result = dify("--profile", "prdo", "status")
    assert result.exit_code == 3
    assert "Did you mean 'prod'" in result.stderr


def test_works_in_a_subprocess(
    fake_dify: FakeDifyFactory, dify: DifyRunner, dify_proc: DifyRunner
) -> None:
    fake = fake_dify("modern", https=True)
    result = dify(
        "connect", "--server", fake.url, "--ca-bundle", str(fake.ca_bundle),
        "--email", EMAIL, "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    fake.reset_counts()
    status = dify_proc("status")
    assert status.exit_code == 0, status.output
    assert fake.counts == {"GET /console/api/account/profile": 1}


def test_notices_a_server_upgrade(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("modern", version="1.14.1")
    connect(dify, fake)
    fake.version = "1.15.0"
    result = dify("status", "--json")
    assert json.loads(result.stdout)["server_version"] == "1.15.0"
    assert "Dify 1.15.0" in dify("status", "--offline").stdout


def test_heading_says_how_the_profile_was_selected(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake, "--profile", "prod")
    by_flag = dify("--profile", "prod", "status", "--offline")
    assert "Profile prod (selected by --profile; saved)" in by_flag.stdout
    by_env = dify("status", "--offline", extra_env={"DIFY_PROFILE": "prod"})
    assert "Profile prod (selected by DIFY_PROFILE; saved)" in by_env.stdout
    by_default = dify("status", "--offline")
    assert "Profile prod (the default profile; saved)" in by_default.stdout
    assert dify("profile", "remove", "prod").exit_code == 0
    fallback = dify("status", "--offline")
    assert "Profile default (the profile named default; not saved)" in fallback.stdout


def test_all_marks_the_default_profile_and_no_source(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake, "--profile", "prod")
    connect(dify, fake, "--profile", "dev")
    assert dify("profile", "use", "dev").exit_code == 0
    chosen = dify("status", "--offline")
    assert "Profile dev (the default profile; saved)" in chosen.stdout

    result = dify("--profile", "prod", "status", "--all", "--offline")
    assert result.exit_code == 0, result.output
    assert "Profile prod (saved)" in result.stdout
    assert "Profile dev (the default profile; saved)" in result.stdout
    assert "selected by" not in result.stdout
    data = json.loads(dify("status", "--all", "--offline", "--json").stdout)
    assert [(item["profile"], item["default"]) for item in data] == [
        ("prod", False),
        ("dev", True),
    ]
    assert {item["profile_source"] for item in data} == {None}


def test_all_lists_sessions_without_a_profile(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake, "--profile", "saved")
    scratch = dify(
        "--profile", "Scratch", "connect", "--no-save", "--server", fake.url,
        "--email", EMAIL, "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert scratch.exit_code == 0, scratch.output
    result = dify("status", "--all", "--offline", "--json")
    data = json.loads(result.stdout)
    assert [item["profile"] for item in data] == ["saved", "Scratch"]
    scratch = data[1]
    assert scratch["profile_exists"] is False
    # Without a saved profile the server is the built-in one, not the session's.
    assert fake.url in scratch["error"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "1e300"])
@pytest.mark.parametrize("offline", [True, False])
def test_a_session_with_an_absurd_time_counts_as_not_connected(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    config_dir: Path,
    number: str,
    offline: bool,
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake, "-p", "m")
    path = config_dir / "sessions" / "m.json"
    data = json.loads(path.read_text())
    data["access_expires_at"] = "EXPIRES"
    path.write_text(json.dumps(data).replace('"EXPIRES"', number))

    result = dify("-p", "m", "status", *(["--offline"] if offline else []))
    assert result.exit_code == 4, result.output
    assert "Status:     not connected" in result.stdout
    assert "Traceback" not in result.output


def test_all_shows_the_others_past_a_profile_that_cannot_be_used(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake, "--profile", "a")
    connect(dify, fake, "--profile", "b")
    profiles = config_dir / "profiles.toml"
    profiles.write_text(
        profiles.read_text().replace("[profiles.b]\n", '[profiles.b]\ntimeout = "5s"\n')
    )
    result = dify("status", "--all", "--offline", "--json")
    assert result.exit_code == 3, result.output
    assert [item["profile"] for item in json.loads(result.stdout)] == ["a"]
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: profile b: ")
