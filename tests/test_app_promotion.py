"""Promoting an app from staging to production: two `dify` processes in a pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO
from tests.test_app import connect

if TYPE_CHECKING:
    from tests.conftest import DifyRunner
    from tests.fake_dify.fixtures import FakeDifyFactory


@dataclass
class Pipe:
    export_code: int
    export_stderr: str
    import_code: int
    stdout: str
    stderr: str


def pipe(env: dict[str, str], left: list[str], right: list[str]) -> Pipe:
    """Run `dify LEFT | dify RIGHT` as a shell would: stdout into stdin."""
    full_env = {**os.environ, **env}
    command = [sys.executable, "-m", "dify_cli"]
    exporter = subprocess.Popen(
        [*command, *left],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=full_env,
        cwd=REPO,
    )
    importer = subprocess.Popen(
        [*command, *right],
        stdin=exporter.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=full_env,
        cwd=REPO,
    )
    assert exporter.stdout is not None
    # Only the importer holds the pipe now, so it sees the end of the input.
    exporter.stdout.close()
    out, err = importer.communicate(timeout=60)
    _, export_err = exporter.communicate(timeout=60)
    return Pipe(
        exporter.returncode,
        export_err.decode(),
        importer.returncode,
        out.decode(),
        err.decode(),
    )


@dataclass
class Case:
    staging: str
    prod: str
    prod_version: str | None
    yes: bool
    warned: bool


CASES = {
    # Same DSL version: no question asked.
    "same-version": Case("cookie", "cookie", None, yes=False, warned=False),
    # From 1.16 (DSL 0.6.0) to 1.11 (DSL 0.5.0): the server asks first.
    "newer-dsl": Case("modern", "cookie", None, yes=True, warned=True),
    # To a server before 0.12.0: the old route, which never asks.
    "old-server": Case("modern", "legacy", "0.11.2", yes=False, warned=False),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_staging_to_production(
    fake_dify: FakeDifyFactory, dify: DifyRunner, env: dict[str, str], case: Case
) -> None:
    yes, warned = case.yes, case.warned
    staging = fake_dify(case.staging)
    prod = fake_dify(case.prod, version=case.prod_version)
    source = staging.apps.add("my-app", "workflow")
    source.graph["graph"] = {"nodes": [{"id": "start"}, {"id": "llm"}]}
    connect(dify, staging, "--profile", "staging")
    connect(dify, prod, "--profile", "prod")

    result = pipe(
        env,
        ["--profile", "staging", "app", "export", "my-app"],
        ["--profile", "prod", "app", "import", "-", *(["--yes"] if yes else [])],
    )
    assert result.export_code == 0, result.export_stderr
    assert result.import_code == 0, result.stderr
    (promoted,) = prod.apps.apps.values()
    assert promoted.name == "my-app"
    assert promoted.mode == "workflow"
    assert promoted.graph["graph"] == source.graph["graph"]
    assert result.stdout.strip() == f"Imported app 'my-app' (workflow): {promoted.id}"
    assert ("newer Dify" in result.stderr) == warned
    # Each side talked only to its own server.
    assert not any("import" in r.path for r in staging.requests)
    assert not any("export" in r.path for r in prod.requests)


def test_a_pipe_without_yes_imports_nothing(
    fake_dify: FakeDifyFactory, dify: DifyRunner, env: dict[str, str]
) -> None:
    staging = fake_dify("modern")
    prod = fake_dify("cookie")
    staging.apps.add("my-app", "workflow")
    connect(dify, staging, "--profile", "staging")
    connect(dify, prod, "--profile", "prod")
    result = pipe(
        env,
        ["--profile", "staging", "app", "export", "my-app"],
        ["--profile", "prod", "app", "import", "-"],
    )
    assert result.export_code == 0, result.export_stderr
    assert result.import_code == 1
    assert result.stderr.startswith("Error: The server asks to confirm this import.")
    assert "Pass --yes" in result.stderr
    assert result.stdout == ""
    assert prod.apps.apps == {}


def test_a_failed_export_imports_nothing(
    fake_dify: FakeDifyFactory, dify: DifyRunner, env: dict[str, str]
) -> None:
    staging = fake_dify("modern")
    prod = fake_dify("modern")
    connect(dify, staging, "--profile", "staging")
    connect(dify, prod, "--profile", "prod")
    result = pipe(
        env,
        ["--profile", "staging", "app", "export", "no-such-app"],
        ["--profile", "prod", "app", "import", "-"],
    )
    assert result.export_code == 1
    assert "No app named 'no-such-app'" in result.export_stderr
    assert result.import_code == 2
    assert "Nothing on standard input." in result.stderr
    assert prod.counts == {}
