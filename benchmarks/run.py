"""Start-up and round-trip benchmark of the `dify` command against the fake server.

Run it from the repository root after installing the project and its test extra:

    python benchmarks/run.py [--runs 10] [--markdown]

Each command runs as a whole process, the way a shell or CI job runs it. The table gives
the median wall time over the runs, that median as a ratio to `python -c "import click"`
measured in the same run, the peak resident memory of the process (largest run), and
the HTTP requests the fake server received per run.
"""

from __future__ import annotations

import argparse
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


@dataclass
class Row:
    label: str
    wall: float
    ratio: float | None
    peak_mib: float
    requests: float | None


def dify_argv() -> list[str]:
    """The installed console script when there is one, else `python -m dify_cli`."""
    script = Path(sys.executable).parent / ("dify.exe" if os.name == "nt" else "dify")
    if script.exists():
        return [str(script)]
    found = shutil.which("dify")
    return [found] if found else [sys.executable, "-m", "dify_cli"]


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Run one process; return its wall seconds, peak memory in MiB and exit code."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if hasattr(os, "wait4"):
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        # ru_maxrss is KiB on Linux and bytes on macOS.
        scale = 1024 * 1024 if sys.platform == "darwin" else 1024
        return wall, usage.ru_maxrss / scale, proc.returncode
    proc.wait()
    return time.perf_counter() - start, float("nan"), proc.returncode


def measure(
    case: Case, runs: int, server: FakeDify | None
) -> tuple[float, float, float | None]:
    if case.setup:
        case.setup()
    run_once(case.argv, case.env)  # warm-up: file caches, .pyc files
    walls, peaks, requests = [], [], []
    for _ in range(runs):
        if case.setup:
            case.setup()
        if server:
            server.reset_counts()
        wall, peak, code = run_once(case.argv, case.env)
        if code != 0:
            raise SystemExit(f"{case.label}: exited {code}; run it by hand to see why")
        walls.append(wall)
        peaks.append(peak)
        if server:
            requests.append(sum(server.counts.values()))
    req = statistics.mean(requests) if requests else None
    return statistics.median(walls), max(peaks), req


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
    base_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DIFY_", "PSDIFY_"))
    }
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp, FakeDify(generation="modern") as server:
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
            Case("dify --version", [*dify, "--version"], env_one),
            Case("dify --help", [*dify, "--help"], env_one),
            Case("dify profile list (1 profile)", [*dify, "profile", "list"], env_one),
            Case(
                "dify profile list (1,000 profiles)",
                [*dify, "profile", "list"],
                env_many,
            ),
            Case("dify status --offline", [*dify, "status", "--offline"], env_one),
            Case("dify status", [*dify, "status"], env_one),
            Case("dify connect (session re-used)", [*dify, "connect"], env_one),
            Case(
                "dify connect --force (password)",
                [*dify, "connect", "--force"],
                password,
            ),
        ]

        base_wall, base_peak, _ = measure(baseline, args.runs, None)
        rows.append(Row(baseline.label, base_wall, 1.0, base_peak, None))
        for case in cases:
            counted = (
                server
                if "--version" not in case.argv and "--help" not in case.argv
                else None
            )
            wall, peak, req = measure(case, args.runs, counted)
            rows.append(Row(case.label, wall, wall / base_wall, peak, req))

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
