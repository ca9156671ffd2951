"""`dify profile` as a user runs it: output, exit codes, and the files left on disk."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

import pytest

from dify_cli import plugin_manager
from dify_cli.profiles import KeySpec, ProfileStore
from dify_cli.sessions import Session, SessionStore
from tests.conftest import REPO
from tests.plugin_site import PLUGINS, add_project, pythonpath

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.conftest import DifyRunner
    from tests.fake_dify.fixtures import FakeDifyFactory

HAND_WRITTEN = """\
# Team profiles. Keep secrets out of this file!
default_profile = "prod"    # the one we use most

# Production: private CA
[profiles.prod]
server = "https://dify.example.com"   # behind the VPN
email = "ops@example.com"
timeout = 30   # seconds
verify_tls = true

# Laptop
[profiles.local]
server = "http://localhost"
"""


@pytest.fixture
def profiles_file(config_dir: Path) -> Path:
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "profiles.toml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    return path


def _session(server: str = "https://dify.example.com") -> Session:
    return Session(
        server=server,
        server_version="1.16.0",
        generation="modern",
        auth_method="password",
        access_token="secret-access",
    )


# Listing and showing


def test_list_marks_the_default(dify: DifyRunner, profiles_file: Path) -> None:
    result = dify("profile", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("*")
    assert "prod" in lines[0]
    assert "(default)" in lines[0]
    assert "local" in lines[1]
    assert "(default)" not in lines[1]


@pytest.mark.parametrize(
    "args", [("--json", "profile", "list"), ("profile", "list", "--json")]
)
def test_list_as_json(dify: DifyRunner, profiles_file: Path, args: tuple[str]) -> None:
    result = dify(*args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(p["name"], p["default"]) for p in data] == [
        ("prod", True),
        ("local", False),
    ]
    assert data[1]["settings"] == {"server": "http://localhost"}


def test_list_with_no_profiles(dify: DifyRunner) -> None:
    result = dify("profile", "list")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "dify profile add" in result.stderr
    assert json.loads(dify("profile", "list", "--json").stdout) == []


def test_show_stored_settings(dify: DifyRunner, profiles_file: Path) -> None:
    result = dify("profile", "show")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "prod (default)"
    assert '  server = "https://dify.example.com"' in result.stdout
    data = json.loads(dify("profile", "show", "local", "--json").stdout)
    assert data == {
        "name": "local",
        "default": False,
        "settings": {"server": "http://localhost"},
    }


def test_config_dir_flag_beats_the_environment(
    dify: DifyRunner, profiles_file: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    result = dify("--config-dir", str(other), "profile", "add", "solo")
    assert result.exit_code == 0, result.output
    assert ProfileStore(other / "profiles.toml").names() == ["solo"]
    assert profiles_file.read_text(encoding="utf-8") == HAND_WRITTEN
    SessionStore(other / "sessions").save("solo", _session())
    result = dify("--config-dir", str(other), "profile", "remove", "solo")
    assert "and its stored session" in result.stderr
    assert not list((other / "sessions").glob("*.json"))


# Precedence, seen through `profile show --resolved`


def _resolved(dify: DifyRunner, *args: str, **env: str) -> dict[str, object]:
    result = dify("--json", *args, "profile", "show", "--resolved", extra_env=env)
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def _sources(data: dict[str, object]) -> dict[str, tuple[object, object, object]]:
    settings = data["settings"]
    assert isinstance(settings, dict)
    return {k: (v["value"], v["source"], v["origin"]) for k, v in settings.items()}


def test_resolved_shows_each_source(
    dify: DifyRunner, profiles_file: Path, tmp_path: Path
) -> None:
    data = _resolved(dify, DIFY_TIMEOUT="5", PSDIFY_EMAIL="ps@example.com")
    assert data["profile"] == {
        "name": "prod",
        "source": "profile",
        "origin": f"default_profile in {profiles_file}",
        "exists": True,
    }
    found = _sources(data)
    assert found["server"] == (
        "https://dify.example.com",
        "profile",
        str(profiles_file),
    )
    assert found["verify_tls"] == (True, "profile", str(profiles_file))
    assert found["email"] == ("ps@example.com", "env", "PSDIFY_EMAIL")
    assert found["timeout"] == (5.0, "env", "DIFY_TIMEOUT")
    assert found["auth_method"] == ("password", "default", None)

    result = dify(
        "profile",
        "show",
        "--resolved",
        "--server",
        "https://flag.example.com/console/api",
        "--no-verify-tls",
        extra_env={"DIFY_URL": "https://env.example.com", "DIFY_INSECURE": "0"},
    )
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert rows["server"].split()[1:] == ['"https://flag.example.com"', "--server"]
    assert rows["verify_tls"].split()[1:] == ["false", "--no-verify-tls"]
    assert rows["timeout"].split()[1:] == [
        "30",
        "profile",
        "prod",
        f"({profiles_file})",
    ]
    assert rows["workspace"].split()[1:] == ["(not", "set)", "default"]


def test_profile_selection_precedence(dify: DifyRunner, profiles_file: Path) -> None:
    assert _resolved(dify)["profile"]["name"] == "prod"  # type: ignore[index]
    by_env = _resolved(dify, DIFY_PROFILE="local")["profile"]
    assert by_env["name"] == "local"  # type: ignore[index]
    assert by_env["origin"] == "DIFY_PROFILE"  # type: ignore[index]
    by_flag = _resolved(dify, "--profile", "prod", DIFY_PROFILE="local")["profile"]
    assert by_flag["source"] == "flag"  # type: ignore[index]
    assert by_flag["name"] == "prod"  # type: ignore[index]

    profiles_file.write_text(
        '[profiles.default]\nserver = "http://fallback"\n', encoding="utf-8"
    )
    data = _resolved(dify)
    assert data["profile"]["source"] == "default"  # type: ignore[index]
    assert _sources(data)["server"][0] == "http://fallback"


def test_insecure_variables(dify: DifyRunner, profiles_file: Path) -> None:
    found = _sources(_resolved(dify, DIFY_INSECURE="1"))
    assert found["verify_tls"] == (False, "env", "DIFY_INSECURE")
    found = _sources(_resolved(dify, PSDIFY_DISABLE_SSL_VERIFICATION="true"))
    assert found["verify_tls"] == (False, "env", "PSDIFY_DISABLE_SSL_VERIFICATION")


def test_resolved_for_an_unknown_named_profile_fails(
    dify: DifyRunner, profiles_file: Path
) -> None:
    result = dify("-p", "prdo", "profile", "show", "--resolved")
    assert result.exit_code == 3
    assert "Did you mean 'prod'" in result.stderr


def test_resolved_without_any_profile_warns(dify: DifyRunner) -> None:
    result = dify("profile", "show", "--resolved", extra_env={"DIFY_URL": "http://x"})
    assert result.exit_code == 0, result.output
    assert "there is no profile 'default'" in result.stderr
    assert "DIFY_URL" in result.stdout


# Adding and editing


def test_add_then_use_and_the_first_becomes_default(
    dify: DifyRunner, config_dir: Path
) -> None:
    result = dify(
        "profile",
        "add",
        "local",
        "--server",
        "http://localhost:5001/",
        "--timeout",
        "10",
        "--no-verify-tls",
    )
    assert result.exit_code == 0, result.output
    assert "made it the default" in result.stderr
    result = dify(
        "profile",
        "add",
        "cloud",
        "--server",
        "https://cloud.dify.ai/console/api",
        "--auth-method",
        "code",
        "--email",
        "me@example.com",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["settings"] == {
        "server": "https://cloud.dify.ai",
        "auth_method": "code",
        "email": "me@example.com",
    }
    store = ProfileStore(config_dir / "profiles.toml")
    assert store.default_name() == "local"
    assert store.get("local") == {
        "server": "http://localhost:5001",
        "timeout": 10,
        "verify_tls": False,
    }
    assert dify("profile", "use", "cloud").exit_code == 0
    assert store.default_name() == "cloud"


def test_add_an_existing_profile_fails(dify: DifyRunner, profiles_file: Path) -> None:
    result = dify("profile", "add", "prod", "--server", "https://other.example.com")
    assert result.exit_code == 3
    assert "already exists" in result.stderr
    assert profiles_file.read_text(encoding="utf-8") == HAND_WRITTEN


def test_set_changes_only_that_value(dify: DifyRunner, profiles_file: Path) -> None:
    result = dify("profile", "set", "prod", "timeout", "45")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    expected = HAND_WRITTEN.replace("timeout = 30", "timeout = 45")
    assert profiles_file.read_bytes() == expected.encode()

    result = dify("profile", "set", "prod", "server", "https://new.example.com/")
    assert result.exit_code == 0, result.output
    expected = expected.replace("dify.example.com", "new.example.com")
    assert profiles_file.read_bytes() == expected.encode()


def test_unset(dify: DifyRunner, profiles_file: Path) -> None:
    result = dify("profile", "unset", "prod", "email")
    assert result.exit_code == 0, result.output
    assert profiles_file.read_text(encoding="utf-8") == HAND_WRITTEN.replace(
        'email = "ops@example.com"\n', ""
    )
    result = dify("profile", "unset", "prod", "email")
    assert result.exit_code == 0
    assert "nothing to remove" in result.stderr
    result = dify("profile", "unset", "prod", "colour")
    assert result.exit_code == 3
    assert "Valid keys" in result.stderr


def test_plugin_keys_are_accepted_and_listed(
    dify: DifyRunner, profiles_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    realm = KeySpec("sso_realm", "str", "Realm of the SSO plugin.")
    monkeypatch.setattr(
        plugin_manager, "auth_option_keys", lambda: {"sso_realm": realm}
    )
    result = dify("profile", "set", "prod", "colour", "blue")
    assert result.exit_code == 3
    assert "sso_realm" in result.stderr
    assert "verify_tls" in result.stderr
    result = dify("profile", "set", "prod", "sso_realm", "corp")
    assert result.exit_code == 0, result.output
    assert ProfileStore(profiles_file).get("prod")["sso_realm"] == "corp"  # type: ignore[index]


def valid_keys(stderr: str) -> set[str]:
    """The keys an unknown-key error lists."""
    listed = stderr.partition("Valid keys: ")[2].partition(".")[0]
    return set(listed.split(", "))


def test_keys_of_an_installed_plugin_are_listed_and_accepted(
    dify_proc: DifyRunner, profiles_file: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    with_exec = {
        **pythonpath(site, add_project(site, PLUGINS / "exec")),
        "DIFY_CLI_PLUGINS": "exec",
    }
    before = profiles_file.read_bytes()

    result = dify_proc("profile", "set", "prod", "bogus_opt", "x", extra_env=with_exec)
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("Error: Unknown key 'bogus_opt'.")
    keys = valid_keys(result.stderr)
    assert {"auth_command", "auth_command_timeout"} <= keys
    assert {"server", "email", "verify_tls"} <= keys
    assert profiles_file.read_bytes() == before

    # The keys are the plugin's: with no plugin loaded they are not valid.
    alone = dify_proc(
        "profile", "set", "prod", "bogus_opt", "x", extra_env={"DIFY_CLI_PLUGINS": ""}
    )
    assert alone.exit_code == 3, alone.output
    assert "auth_command" not in valid_keys(alone.stderr)
    assert "server" in valid_keys(alone.stderr)

    put = dify_proc(
        "profile", "set", "prod", "auth_command", "sso-helper dify",
        extra_env=with_exec,
    )  # fmt: skip
    assert put.exit_code == 0, put.output
    assert ProfileStore(profiles_file).get("prod")["auth_command"] == "sso-helper dify"  # type: ignore[index]


def test_rename_moves_the_session_and_the_default(
    dify: DifyRunner, profiles_file: Path, config_dir: Path
) -> None:
    sessions = SessionStore(config_dir / "sessions")
    sessions.save("prod", _session())
    result = dify("profile", "rename", "prod", "live")
    assert result.exit_code == 0, result.output
    assert profiles_file.read_text(encoding="utf-8") == HAND_WRITTEN.replace(
        '"prod"', '"live"'
    ).replace("[profiles.prod]", "[profiles.live]")
    assert sessions.load("prod") is None
    assert sessions.load("live") == _session()


def test_remove_deletes_the_session_and_clears_the_default(
    dify: DifyRunner, profiles_file: Path, config_dir: Path
) -> None:
    sessions = SessionStore(config_dir / "sessions")
    sessions.save("prod", _session())
    sessions.save("local", _session("http://localhost"))
    result = dify("profile", "remove", "prod")
    assert result.exit_code == 0, result.output
    assert "and its stored session" in result.stderr
    assert sessions.load("prod") is None
    assert sessions.load("local") is not None
    text = profiles_file.read_text(encoding="utf-8")
    assert "prod" not in text
    assert "default_profile" not in text
    assert "# Laptop\n[profiles.local]" in text


def test_no_secret_ends_up_in_profiles_toml(
    dify: DifyRunner, profiles_file: Path
) -> None:
    result = dify("profile", "set", "prod", "server", "https://u:hunter2@x.example")
    assert result.exit_code == 3
    assert "hunter2" not in result.output
    assert profiles_file.read_text(encoding="utf-8") == HAND_WRITTEN


# Bad input: one clear line, exit 3, file unchanged


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("set", "prod", "verify_tls", "maybe"), "verify_tls must be true or false"),
        (("set", "prod", "timeout", "-1"), "timeout must be a number greater than 0"),
        (("set", "prod", "timeout", "0"), "timeout must be a number greater than 0"),
        (("set", "prod", "timeout", "soon"), "not 'soon'"),
        (("set", "prod", "timeout", "nan"), "timeout must be a number"),
        (("set", "prod", "server", "dify.example.com"), "has no scheme"),
        (("set", "prod", "server", "https://dify example.com"), "spaces"),
        (("set", "prod", "server", "https://x.example/apps/1"), "give the server root"),
        (("set", "prod", "server", "ftp://x.example"), "only http and https"),
        (("set", "prod", "email", " "), "must not be empty"),
        (("set", "prod", "timout", "3"), "Did you mean 'timeout'"),
        (("set", "prdo", "timeout", "3"), "Did you mean 'prod'? Profiles: prod, local"),
        (("unset", "nope", "email"), "Profiles: prod, local"),
        (("use", "nope"), "No profile named 'nope'"),
        (("rename", "prod", "local"), "already exists"),
        (("rename", "prod", "bad name"), "Invalid profile name"),
        (("remove", "nope"), "No profile named"),
        (("show", "nope"), "No profile named"),
        (("add", "a b"), "Invalid profile name"),
        (("add", ""), "must not be empty"),
        (("add", "x]y"), "Invalid profile name"),
        (("add", 'x"y'), "Invalid profile name"),
        (("add", "--", "-x"), "Invalid profile name"),
        (("add", "new", "--timeout", "0"), "timeout must be"),
        (("add", "new", "--server", "localhost:5001"), "no scheme"),
    ],
)
def test_bad_input(
    dify: DifyRunner, profiles_file: Path, args: tuple[str, ...], says: str
) -> None:
    result = dify("profile", *args)
    assert result.exit_code == 3, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert profiles_file.read_text(encoding="utf-8") == HAND_WRITTEN


MALFORMED = HAND_WRITTEN.replace('email = "ops@example.com"', "email = ops@example")


def test_malformed_file_is_reported_and_never_rewritten(
    dify_proc: DifyRunner, profiles_file: Path
) -> None:
    profiles_file.write_text(MALFORMED, encoding="utf-8")
    for args in (
        ("profile", "list"),
        ("profile", "set", "prod", "timeout", "9"),
        ("profile", "use", "local"),
        ("profile", "show", "--resolved"),
    ):
        result = dify_proc(*args)
        assert result.exit_code == 3, result.output
        assert f"{profiles_file}, line 7, column 9" in result.stderr
        assert "Traceback" not in result.stderr
    assert profiles_file.read_text(encoding="utf-8") == MALFORMED

    for args in (("--help",), ("--version",), ("profile", "--help")):
        result = dify_proc(*args)
        assert result.exit_code == 0, result.output


# Failing writes


def _make_read_only(folder: Path) -> Iterator[None]:
    folder.chmod(0o500)
    immutable = False
    try:
        if os.access(folder, os.W_OK):
            # Permission bits do not stop root; the immutable attribute does.
            chattr = shutil.which("chattr")
            if (
                chattr is None
                or subprocess.run(
                    [chattr, "+i", str(folder)], capture_output=True, check=False
                ).returncode
            ):
                pytest.skip("cannot make a folder read-only for this user")
            immutable = True
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=False)
        folder.chmod(0o700)


@pytest.fixture
def read_only_config(profiles_file: Path, dify: DifyRunner) -> Iterator[Path]:
    if os.name != "posix":
        pytest.skip("read-only folders are set up with POSIX tools")
    # An earlier edit leaves the lock file, so the write itself is what fails.
    assert dify("profile", "set", "local", "timeout", "7").exit_code == 0
    yield from _make_read_only(profiles_file.parent)


def test_read_only_config_folder(
    dify: DifyRunner, profiles_file: Path, read_only_config: Path
) -> None:
    before = profiles_file.read_bytes()
    result = dify("profile", "set", "prod", "timeout", "45")
    assert result.exit_code == 3, result.output
    assert f"Could not write {profiles_file}" in result.stderr
    assert "left unchanged" in result.stderr
    assert profiles_file.read_bytes() == before


def test_unwritable_config_folder_without_a_lock_file(
    dify: DifyRunner, config_dir: Path
) -> None:
    if os.name != "posix":
        pytest.skip("read-only folders are set up with POSIX tools")
    config_dir.mkdir(parents=True)
    for _ in _make_read_only(config_dir):
        result = dify("profile", "add", "prod")
        assert result.exit_code == 3, result.output
        assert "Could not create the lock file" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="needs setrlimit")
def test_full_disk_leaves_the_old_file(
    env: dict[str, str], profiles_file: Path
) -> None:
    import resource

    before = profiles_file.read_bytes()

    def small_file_limit() -> None:
        # Any file this process writes may not grow past the current size, as if
        # the disk filled up in the middle of the write.
        resource.setrlimit(resource.RLIMIT_FSIZE, (len(before), len(before)))

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dify_cli",
            "profile",
            "set",
            "prod",
            "workspace",
            "w" * 5000,
        ],
        env={**os.environ, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        preexec_fn=small_file_limit,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 3, proc.stderr
    assert "File too large" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert profiles_file.read_bytes() == before
    assert sorted(p.name for p in profiles_file.parent.iterdir()) == [
        "profiles.toml",
        "profiles.toml.lock",
    ]


# Concurrency and crashes


def test_parallel_sets_lose_no_write(
    env: dict[str, str], profiles_file: Path, config_dir: Path
) -> None:
    names = ["prod", "local", "third", "fourth"]
    store = ProfileStore(profiles_file)
    store.add("third", {})
    store.add("fourth", {})
    keys = {
        "server": lambda n, i: f"https://{n}{i}.example.com",
        "email": lambda n, i: f"{n}{i}@example.com",
        "timeout": lambda n, i: str(10 + i),
        "workspace": lambda n, i: f"ws-{n}-{i}",
        "auth_method": lambda n, i: f"method{i}",
    }
    jobs = [
        (name, key, make(name, i))
        for i, name in enumerate(names)
        for key, make in keys.items()
    ]
    assert len(jobs) == 20
    start = {name: store.get(name) or {} for name in names}

    # A reader keeps every version of the file it sees while the writers run.
    seen: list[str] = []
    failed: list[OSError] = []
    stop = threading.Event()

    def read_until_stopped() -> None:
        while not stop.is_set():
            try:
                text = profiles_file.read_text(encoding="utf-8")
            except OSError as error:  # the file was missing for a moment
                failed.append(error)
                return
            if not seen or text != seen[-1]:
                seen.append(text)
            time.sleep(0.001)  # leave the CPU to the writers

    reader = threading.Thread(target=read_until_stopped, daemon=True)
    reader.start()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "dify_cli", "profile", "set", name, key, value],
            env={**os.environ, **env},
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for name, key, value in jobs
    ]
    try:
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err.decode()
    finally:
        stop.set()
        reader.join(timeout=10)
    assert not reader.is_alive()
    assert failed == []

    # Every version was whole TOML holding the old or the new value of each
    # key, and each one kept all the writes of the version before it.
    done: set[int] = set()
    in_between = 0
    for text in seen:
        assert text.startswith(HAND_WRITTEN.partition("\n")[0]), text
        try:
            profiles = tomllib.loads(text)["profiles"]
        except tomllib.TOMLDecodeError as error:
            pytest.fail(f"the reader saw a broken file ({error}):\n{text}")
        assert sorted(profiles) == sorted(names), text
        now = set()
        for job, (name, key, value) in enumerate(jobs):
            stored = profiles[name].get(key)
            old = start[name].get(key)
            assert stored == old or str(stored) == value, (job, text)
            if str(stored) == value:
                now.add(job)
        assert now >= done, f"writes {sorted(done - now)} were lost:\n{text}"
        done = now
        in_between += 0 < len(now) < len(jobs)
    assert in_between, f"the reader saw no write in progress: {len(seen)} versions"

    final = ProfileStore(profiles_file)
    for name, key, value in jobs:
        stored = (final.get(name) or {})[key]
        assert str(stored) == value
    text = profiles_file.read_text(encoding="utf-8")
    assert text.startswith("# Team profiles. Keep secrets out of this file!\n")
    assert "# Laptop\n" in text


WRITER = """
import sys
from pathlib import Path
from dify_cli.profiles import ProfileStore

store = ProfileStore(Path(sys.argv[1]))
for round in range(1_000_000):
    size = 20_000 * (1 + round % 5)
    store.update("big", {"workspace": "w" * size, "timeout": float(round + 1)})
    if round == 0:
        print("ready", flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_writer_never_leaves_a_partial_file(
    env: dict[str, str], profiles_file: Path
) -> None:
    rng = random.Random(1234)
    for _ in range(12):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(profiles_file)],
            env={**os.environ, **env},
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        assert writer.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0, 0.15))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)

        store = ProfileStore(profiles_file)
        big = store.get("big")
        assert big is not None
        assert set(big["workspace"]) == {"w"}
        assert len(big["workspace"]) % 20_000 == 0
        assert store.get("prod") == {
            "server": "https://dify.example.com",
            "email": "ops@example.com",
            "timeout": 30,
            "verify_tls": True,
        }
    assert profiles_file.read_text(encoding="utf-8").startswith(HAND_WRITTEN)


# -- a profile chosen by name must exist --------------------------------------

NEEDS_A_PROFILE = [
    ("status",),
    ("token",),
    ("app", "list"),
    ("workspace", "list"),
    ("api", "account/profile"),
    ("disconnect",),
]


@pytest.mark.parametrize("args", NEEDS_A_PROFILE, ids=" ".join)
@pytest.mark.parametrize("how", ["flag", "env"])
def test_every_command_refuses_an_unknown_profile_alike(
    dify: DifyRunner, fake_dify: FakeDifyFactory, args: tuple[str, ...], how: str
) -> None:
    fake = fake_dify()
    made = dify("profile", "add", "nosuck", "--server", fake.url)
    assert made.exit_code == 0, made.output
    if how == "flag":
        result = dify("-p", "nosuch", *args)
    else:
        result = dify(*args, extra_env={"DIFY_PROFILE": "nosuch"})
    assert result.exit_code == 3, result.output
    assert "No profile named 'nosuch'. Did you mean 'nosuck'?" in result.stderr
    assert "Profiles: nosuck." in result.stderr
    assert fake.counts == {}


@pytest.mark.parametrize("args", NEEDS_A_PROFILE, ids=" ".join)
def test_without_a_chosen_profile_commands_run_from_the_environment(
    dify: DifyRunner, fake_dify: FakeDifyFactory, args: tuple[str, ...]
) -> None:
    fake = fake_dify()
    ci = {"DIFY_URL": fake.url, "DIFY_EMAIL": fake.account.email}
    logged_in = dify(
        "connect", "--no-save", "--password-stdin",
        input=fake.account.password + "\n", extra_env=ci,
    )  # fmt: skip
    assert logged_in.exit_code == 0, logged_in.output

    result = dify(*args, extra_env=ci)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args", NEEDS_A_PROFILE, ids=" ".join)
def test_a_default_profile_that_is_gone_names_the_file(
    dify: DifyRunner,
    fake_dify: FakeDifyFactory,
    config_dir: Path,
    args: tuple[str, ...],
) -> None:
    fake = fake_dify()
    config_dir.mkdir(mode=0o700, exist_ok=True)
    (config_dir / "profiles.toml").write_text(
        f'default_profile = "prod"\n\n[profiles.dev]\nserver = "{fake.url}"\n'
    )
    result = dify(*args)
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("Error: default_profile in ")
    assert "No profile named 'prod'. Profiles: dev." in result.stderr
    assert fake.counts == {}


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_profile_name_that_cannot_be_saved_stops_before_login(
    dify: DifyRunner, fake_dify: FakeDifyFactory, config_dir: Path, how: str
) -> None:
    fake = fake_dify()
    name = "../../x"
    login = ("connect", "--server", fake.url, "--email", fake.account.email)
    if how == "flag":
        result = dify("-p", name, *login, "--password-stdin", input="pw\n")
    else:
        result = dify(
            *login, "--password-stdin", input="pw\n", extra_env={"DIFY_PROFILE": name}
        )
    assert result.exit_code == 3, result.output
    assert "Invalid profile name '../../x'" in result.stderr
    if how == "env":
        assert result.stderr.startswith("Error: DIFY_PROFILE: ")
    assert fake.counts == {}
    assert not (config_dir / "profiles.toml").exists()
