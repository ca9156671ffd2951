"""The fake server run by hand: its sample data and the login codes it sends."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from typing import TYPE_CHECKING

from tests.conftest import REPO

if TYPE_CHECKING:
    from tests.conftest import DifyRunner


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(*args: str) -> tuple[subprocess.Popen[str], int, list[str]]:
    """The fake started by hand, its port, and what it printed on starting."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_dify", "--port", str(port), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline()]
    while lines[-1] and "Ctrl-C" not in lines[-1]:
        lines.append(proc.stdout.readline())
    return proc, port, lines


def test_the_fake_run_by_hand_has_sample_apps_and_workspaces(
    dify_proc: DifyRunner,
) -> None:
    proc, port, lines = start()
    try:
        assert sum(line.startswith("Workspace: ") for line in lines) == 2
        connected = dify_proc(
            "connect", "--server", f"http://127.0.0.1:{port}",
            "--email", "admin@example.com", "--password-stdin",
            input="Passw0rd!Example\n",
        )  # fmt: skip
        assert connected.exit_code == 0, connected.output
        apps = dify_proc("app", "list")
        assert apps.exit_code == 0, apps.output
        assert "Support bot" in apps.stdout
        assert "Team B" in dify_proc("workspace", "list").stdout
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    proc, port, lines = start("--empty")
    proc.terminate()
    proc.wait(timeout=10)
    assert sum(line.startswith("Workspace: ") for line in lines) == 1


def test_the_fake_run_by_hand_prints_each_code_it_sends() -> None:
    proc, port, lines = start()
    try:
        assert proc.stdout is not None
        assert "Account: admin@example.com" in "".join(lines)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/console/api/email-code-login",
            data=json.dumps({"email": "admin@example.com"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200
        line = proc.stdout.readline()
        assert line.startswith("mail to admin@example.com: code ")
        assert line.split()[-1].isdigit()
        assert len(line.split()[-1]) == 6
    finally:
        proc.terminate()
        proc.wait(timeout=10)
