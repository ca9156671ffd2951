"""Many processes at once, and writers killed at random moments."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
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
