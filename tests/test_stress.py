"""Many processes at once, and writers killed at random moments."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from dify_cli.profiles import ProfileStore
from dify_cli.sessions import Session, SessionStore
from tests.conftest import REPO

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"


def test_thirty_parallel_commands_renew_once(
    fake_dify: FakeDifyFactory, dify: DifyRunner, env: dict[str, str]
) -> None:
    fake = fake_dify("modern")
    fake.apps.add("Support bot", "chat")
    result = dify(
        "connect", "--server", fake.url, "--email", EMAIL, "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    fake.expire_access_tokens()
    fake.reset_counts()

    reads = [["status"], ["workspace", "list"], ["app", "list"]]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "dify_cli", *reads[i % len(reads)], "--json"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
            cwd=REPO,
        )
        for i in range(30)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]

    assert [proc.returncode for proc in procs] == [0] * 30, outputs
    assert all(json.loads(out) for out, _ in outputs)
    assert all(err == "" for _, err in outputs), outputs
    assert fake.count("POST", "refresh-token") == 1

    # What was stored is the live refresh token: it renews once more.
    fake.expire_access_tokens()
    fake.reset_counts()
    again = dify("status")
    assert again.exit_code == 0, again.output
    assert fake.count("POST", "refresh-token") == 1


# Forks writers that rewrite profiles.toml and then the session in a loop,
# numbering each write, and kills each one at a random moment: after a random
# number of finished writes (each acknowledged through a pipe) and a random
# delay. It reports the writer's first number and the writes acknowledged, then
# waits for a line on stdin, so that the test can check the files first.
KILLER = """
import os, random, signal, sys, time
from pathlib import Path
import filelock, tomlkit  # loaded before forking, as a writer would have them
from dify_cli.profiles import ProfileStore
from dify_cli.sessions import Session, SessionStore

folder, rounds, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
profiles = ProfileStore(folder / "profiles.toml")
sessions = SessionStore(folder / "sessions")
rng = random.Random(seed)

def write(n):
    size = 10_000 * (1 + n % 5)
    profiles.update("big", {"workspace": "w" * size, "timeout": n})
    sessions.save("big", Session(
        server="https://dify.example.com", server_version="1.16.0",
        generation="modern", auth_method="password", access_token="a" * size,
        refresh_token=str(n),
    ))

for round in range(rounds):
    first = round * 1000 + 1
    done, ack = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(done)
        n = first
        while True:
            write(n)
            os.write(ack, b".")
            n += 1
    os.close(ack)
    acked = 0
    for _ in range(rng.randint(0, 2)):
        acked += len(os.read(done, 1))
    time.sleep(rng.uniform(0, 0.03))
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.set_blocking(done, False)
    try:
        acked += len(os.read(done, 1000))
    except BlockingIOError:
        pass
    os.close(done)
    died = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    print(first if died else "writer failed", acked, flush=True)
    sys.stdin.readline()
"""

HAND_WRITTEN = """\
# Shared profiles: keep this comment.
default_profile = "prod"

[profiles.prod]
server = "https://dify.example.com"  # behind the VPN
"""


def _size(n: int) -> int:
    return 10_000 * (1 + n % 5)


def _profile_write(config_dir: Path) -> int | None:
    """The number of the write profiles.toml holds, checking it is whole."""
    path = config_dir / "profiles.toml"
    assert path.read_text(encoding="utf-8").startswith(HAND_WRITTEN)
    big = ProfileStore(path).get("big")
    if big is None:
        return None
    n = int(big["timeout"])
    assert big["workspace"] == "w" * _size(n)
    return n


def _session_write(config_dir: Path) -> int | None:
    """The number of the write the session holds, checking it is whole."""
    path = config_dir / "sessions" / "big.json"
    if not path.exists():
        return None
    session = Session.from_dict(json.loads(path.read_text(encoding="utf-8")))
    n = int(str(session.refresh_token))
    assert session.access_token == "a" * _size(n)
    return n


@pytest.mark.skipif(
    not hasattr(os, "fork") or not hasattr(signal, "SIGKILL"),
    reason="needs fork and SIGKILL",
)
def test_a_writer_killed_100_times_leaves_old_or_new_files(
    env: dict[str, str], config_dir: Path
) -> None:
    config_dir.mkdir(parents=True)
    (config_dir / "profiles.toml").write_text(HAND_WRITTEN, encoding="utf-8")
    rounds = 100

    killer = subprocess.Popen(
        [sys.executable, "-c", KILLER, str(config_dir), str(rounds), "1234"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
        cwd=REPO,
    )
    assert killer.stdin is not None and killer.stdout is not None
    last: dict[str, int | None] = {"profile": None, "session": None}
    written = 0
    try:
        for _ in range(rounds):
            first, acked = killer.stdout.readline().rsplit(" ", 1)
            assert first != "writer failed"
            written += int(acked)
            # Each file holds the last write acknowledged, or the one after it
            # (the writer may die between the rename and the acknowledgement).
            newest = int(first) + int(acked) - 1
            for name, found in (
                ("profile", _profile_write(config_dir)),
                ("session", _session_write(config_dir)),
            ):
                before = newest if int(acked) else last[name]
                assert found in (before, newest + 1), (name, found, before)
                last[name] = found
            killer.stdin.write("\n")
            killer.stdin.flush()
        killer.stdin.close()
        assert killer.wait(timeout=30) == 0
    finally:
        killer.kill()
        killer.wait()
    assert written >= rounds / 2

    # The next writer clears what the killed ones left behind.
    ProfileStore(config_dir / "profiles.toml").update("big", {"timeout": 1})
    session = SessionStore(config_dir / "sessions").load("big")
    assert session is not None
    SessionStore(config_dir / "sessions").save("big", session)
    leftovers = [p.name for p in config_dir.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


# Real `dify` runs killed alike; the forked writers above stay: they die mid-write more.

BIG_PROFILE = '\n[profiles.big]\nworkspace = "' + "w" * 300_000 + '"\n'


def _temp_files(folder: Path) -> set[str]:
    try:
        return {name for name in os.listdir(folder) if name.endswith(".tmp")}
    except FileNotFoundError:
        return set()


def _kill_at_random(
    env: dict[str, str],
    args: list[str],
    *,
    stdin: str = "",
    took: float,
    folder: Path,
    rng: random.Random,
) -> bool:
    """Run `dify ARGS` and SIGKILL it at a random moment of a run that takes
    `took` s. A run is mostly start-up, so half the time the kill waits for a
    new temporary file in `folder` instead: the write has begun. Says whether
    the kill left that file behind, cut off before its rename."""
    before = _temp_files(folder)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dify_cli", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **env},
        cwd=REPO,
    )
    assert proc.stdin is not None
    proc.stdin.write(stdin.encode())
    proc.stdin.close()

    if rng.random() < 0.5:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=rng.uniform(0, 1.1) * took)
    else:
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            if _temp_files(folder) - before:
                time.sleep(rng.uniform(0, 0.001))
                break
            time.sleep(0.0002)  # lets the fake server's threads run
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    return bool(_temp_files(folder) - before)


def _timed_run(dify_proc: DifyRunner, *args: str, stdin: str | None = None) -> float:
    started = time.monotonic()
    result = dify_proc(*args, input=stdin)
    assert result.exit_code == 0, result.output
    return time.monotonic() - started


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_profile_set_killed_70_times_leaves_the_old_or_the_new_file(
    env: dict[str, str], config_dir: Path, dify_proc: DifyRunner
) -> None:
    config_dir.mkdir(parents=True)
    path = config_dir / "profiles.toml"
    path.write_text(HAND_WRITTEN + BIG_PROFILE, encoding="utf-8")
    # Both contents the file may hold, as the command writes them.
    took = _timed_run(dify_proc, "profile", "set", "prod", "timeout", "45")
    written = {"45": path.read_bytes()}
    took = max(took, _timed_run(dify_proc, "profile", "set", "prod", "timeout", "30"))
    written["30"] = path.read_bytes()
    assert len(written["30"]) > 300_000
    assert written["30"] != written["45"]

    rng = random.Random(4321)
    mid_write = 0
    for _ in range(70):
        old = "30" if path.read_bytes() == written["30"] else "45"
        new = "45" if old == "30" else "30"
        args = ["profile", "set", "prod", "timeout", new]
        mid_write += _kill_at_random(env, args, took=took, folder=config_dir, rng=rng)
        content = path.read_bytes()
        assert content in (written[old], written[new]), f"{len(content)} bytes"
    print(f"{mid_write} of 70 kills left a temporary file")

    listed = dify_proc("profile", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [row["name"] for row in json.loads(listed.stdout)] == ["prod", "big"]
    # The next write clears what the killed ones left behind.
    new = "45" if path.read_bytes() == written["30"] else "30"
    _timed_run(dify_proc, "profile", "set", "prod", "timeout", new)
    assert path.read_bytes() == written[new]
    assert _temp_files(config_dir) == set()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_connect_killed_30_times_leaves_the_old_or_a_whole_new_session(
    env: dict[str, str],
    config_dir: Path,
    dify_proc: DifyRunner,
    fake_dify: FakeDifyFactory,
) -> None:
    fake = fake_dify("modern")
    login = ["connect", "--force", "--password-stdin"]
    took = _timed_run(
        dify_proc, "connect", "--server", fake.url, "--email", EMAIL,
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    took = max(took, _timed_run(dify_proc, *login, stdin=PASSWORD + "\n"))
    profiles = (config_dir / "profiles.toml").read_bytes()
    sessions = config_dir / "sessions"
    store = SessionStore(sessions)
    path = store.path_for("default")

    rng = random.Random(8765)
    mid_write = 0
    for _ in range(30):
        old = path.read_bytes()
        mid_write += _kill_at_random(
            env, login, stdin=PASSWORD + "\n", took=took, folder=sessions, rng=rng
        )
        if path.read_bytes() != old:
            # A new session, whole: its refresh token is one the server issued.
            session = store.load("default")
            assert session is not None, path.read_bytes()
            assert session.server == fake.url
            assert session.access_token
            owner = fake.refresh_tokens.owner(str(session.refresh_token))
            assert owner == fake.account.id
        assert (config_dir / "profiles.toml").read_bytes() == profiles
    print(f"{mid_write} of 30 kills left a temporary file")

    listed = dify_proc("status", "--all", "--offline", "--json")
    assert listed.exit_code == 0, listed.output
    assert [row["profile"] for row in json.loads(listed.stdout)] == ["default"]
    assert store.profiles() == ["default"]
    # The next login clears what the killed ones left behind, and works.
    _timed_run(dify_proc, *login, stdin=PASSWORD + "\n")
    assert _temp_files(sessions) == set()
    assert dify_proc("status").exit_code == 0
