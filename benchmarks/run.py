"""Start-up and round-trip benchmark of the `dify` command against the fake server.

Run it from the repository root after installing the project and its test extra:

    python benchmarks/run.py [--runs 10] [--markdown]

Each command runs as a whole process, the way a shell or CI job runs it. The table gives
the median wall time over the runs, that median as a ratio to `python -c "import click"`
run alternately with it (so a machine that gets busier half-way skews both alike), the
peak resident memory of the process (largest run), and the HTTP requests the fake server
received per run.

The commands are started by a small helper process, not by this one: a child's peak
memory as the OS reports it includes the size of the process it was forked from, and
this one holds the fake server. Bytecode is cached in a temporary folder, as an
installed package has its .pyc files, even where PYTHONDONTWRITEBYTECODE is set.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fake_dify import FakeDify  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass
class Case:
    label: str
    argv: list[str]
    env: dict[str, str]
    setup: Callable[[], None] | None = None
    counted: bool = True


@dataclass
class Row:
    label: str
    wall: float
    ratio: float | None
    peak_mib: float
    requests: float | None


# Runs the command once per line read, and answers with wall seconds, peak memory in
# KiB and exit code. It imports next to nothing, so that its own size (which its
# children's peak memory includes) stays below that of a bare `python -c pass`.
SPAWNER = """
import json, os, sys, time
argv, env = json.loads(sys.argv[1])
quiet = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
for _ in sys.stdin:
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=quiet)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    print(wall, usage.ru_maxrss, os.waitstatus_to_exitcode(status), flush=True)
"""


def dify_argv() -> list[str]:
    """The installed console script when there is one, else `python -m dify_cli`."""
    script = Path(sys.executable).parent / ("dify.exe" if os.name == "nt" else "dify")
    if script.exists():
        return [str(script)]
    found = shutil.which("dify")
    return [found] if found else [sys.executable, "-m", "dify_cli"]


class Runner:
    """Runs one command again and again through the spawner, or directly where
    the OS has no posix_spawn and wait4 (then without peak memory)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.argv = argv
        self.env = env
        self.proc: subprocess.Popen[str] | None = None
        if hasattr(os, "posix_spawn") and hasattr(os, "wait4"):
            self.proc = subprocess.Popen(
                [sys.executable, "-c", SPAWNER, json.dumps([argv, env])],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )

    def run(self) -> tuple[float, float, int]:
        """One run: wall seconds, peak memory in MiB, exit code."""
        if self.proc is None:
            start = time.perf_counter()
            done = subprocess.run(
                self.argv, env=self.env, capture_output=True, check=False
            )
            return time.perf_counter() - start, float("nan"), done.returncode
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        wall, peak, code = self.proc.stdout.readline().split()
        # ru_maxrss is KiB on Linux and bytes on macOS.
        scale = 1024 * 1024 if sys.platform == "darwin" else 1024
        return float(wall), int(peak) / scale, int(code)

    def close(self) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait()


def measure(
    case: Case, baseline: Case, runs: int, server: FakeDify | None
) -> tuple[Row, list[float]]:
    """Run ``case`` and the baseline alternately; the case's row and the
    baseline's wall times."""
    command, base = Runner(case.argv, case.env), Runner(baseline.argv, baseline.env)
    try:
        if case.setup:
            case.setup()
        command.run()  # warm-up: file caches, .pyc files
        base.run()
        walls, base_walls, peaks, requests = [], [], [], []
        for _ in range(runs):
            base_walls.append(base.run()[0])
            if case.setup:
                case.setup()
            if server:
                server.reset_counts()
            wall, peak, code = command.run()
            if code != 0:
                raise SystemExit(
                    f"{case.label}: exited {code}; run it by hand to see why"
                )
            walls.append(wall)
            peaks.append(peak)
            if server and case.counted:
                requests.append(sum(server.counts.values()))
    finally:
        command.close()
        base.close()
    wall = statistics.median(walls)
    row = Row(
        case.label,
        wall,
        wall / statistics.median(base_walls),
        max(peaks),
        statistics.mean(requests) if requests else None,
    )
    return row, base_walls


def write_profiles(config: Path, count: int, server_url: str) -> None:
    config.mkdir(parents=True, exist_ok=True)
    lines = ['default_profile = "p0"', ""]
    for i in range(count):
        lines += [
            f"[profiles.p{i}]",
            f'server = "{server_url}"',
            f'email = "user{i}@example.com"',
            "",
        ]
    (config / "profiles.toml").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--markdown", action="store_true", help="print a Markdown table"
    )
    args = parser.parse_args()

    dify = dify_argv()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp, FakeDify(generation="modern") as server:
        base_env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DIFY_", "PSDIFY_"))
            and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
        }
        base_env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        one = Path(tmp) / "one"
        many = Path(tmp) / "many"
        write_profiles(many, 1000, server.url)
        env_one = {**base_env, "DIFY_CONFIG_DIR": str(one), "DIFY_PROFILE": "p0"}
        env_many = {**base_env, "DIFY_CONFIG_DIR": str(many)}
        password = {**env_one, "DIFY_PASSWORD": server.account.password}

        # One real login gives the session that status and connect re-use.
        login = [*dify, "--profile", "p0", "connect", "--server", server.url]
        login += ["--email", server.account.email]
        done = subprocess.run(login, env=password, capture_output=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"login failed: {done.stderr.decode(errors='replace')}")

        baseline = Case(
            "python -c 'import click'", [sys.executable, "-c", "import click"], base_env
        )
        cases = [
            # Not a dify command: what importing the HTTP client alone costs,
            # which every command that talks to a server pays.
            Case(
                "(python -c 'import click, requests')",
                [sys.executable, "-c", "import click, requests"],
                base_env,
                counted=False,
            ),
            Case("dify --version", [*dify, "--version"], env_one, counted=False),
            Case("dify --help", [*dify, "--help"], env_one, counted=False),
            Case("dify profile list (1 profile)", [*dify, "profile", "list"], env_one),
            Case(
                "dify profile list (1,000 profiles)",
                [*dify, "profile", "list"],
                env_many,
            ),
            Case("dify status --offline", [*dify, "status", "--offline"], env_one),
            Case("dify token (fresh session)", [*dify, "token"], env_one),
            Case("dify status", [*dify, "status"], env_one),
            Case("dify connect (session re-used)", [*dify, "connect"], env_one),
            Case(
                "dify connect --force (password)",
                [*dify, "connect", "--force"],
                password,
            ),
        ]

        base_walls: list[float] = []
        for case in cases:
            row, walls = measure(case, baseline, args.runs, server)
            rows.append(row)
            base_walls += walls
        base = Row(baseline.label, statistics.median(base_walls), 1.0, 0.0, None)
        base.peak_mib = measure(baseline, baseline, 1, None)[0].peak_mib
        rows.insert(0, base)

    print_table(rows, args.runs, markdown=args.markdown)


def print_table(rows: list[Row], runs: int, *, markdown: bool) -> None:
    header = [
        "command",
        "median wall",
        "x import click",
        "peak memory",
        "HTTP requests",
    ]
    body = [
        [
            row.label,
            f"{row.wall * 1000:.0f} ms",
            f"{row.ratio:.2f}" if row.ratio is not None else "",
            f"{row.peak_mib:.1f} MiB",
            "" if row.requests is None else f"{row.requests:g}",
        ]
        for row in rows
    ]
    print(f"{runs} runs per command, Python {sys.version.split()[0]}, {sys.platform}")
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for line in body:
            print("| " + " | ".join(line) + " |")
        return
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    for line in [header, *body]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))


if __name__ == "__main__":
    main()
