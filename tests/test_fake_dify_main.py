"""The fake server run by hand shows the login codes it sends."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request

from tests.conftest import REPO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_fake_run_by_hand_prints_each_code_it_sends() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_dify", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        assert "Account: admin@example.com" in "".join(lines)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/console/api/email-code-login",
            data=json.dumps({"email": "admin@example.com"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200
        while "Ctrl-C" in (line := proc.stdout.readline()):
            pass
        assert line.startswith("mail to admin@example.com: code ")
        assert line.split()[-1].isdigit()
        assert len(line.split()[-1]) == 6
    finally:
        proc.terminate()
        proc.wait(timeout=10)
