"""App commands at a real terminal: the import question and progress bars."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.test_app import connect
from tests.test_app_import import dsl, write

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner
    from tests.fake_dify.fixtures import FakeDifyFactory

pytest.importorskip("pty")
pytest.importorskip("termios")

from tests.test_connect_prompt import Terminal


@pytest.mark.parametrize("answer", ["y", "n"])
def test_import_asks_at_a_terminal(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    env: dict[str, str],
    tmp_path: Path,
    answer: str,
) -> None:
    fake = fake_dify("cookie")
    connect(dify, fake)
    path = write(tmp_path, dsl("Asked", version="0.6.0"))
    term = Terminal(["app", "import", path], env)
    term.expect("This DSL comes from a newer Dify")
    term.expect("DSL version of the file:   0.6.0")
    term.expect("DSL version of the server: 0.5.0")
    term.expect("Import anyway? [y/N]: ")
    term.send(answer + "\n")
    code = term.finish()
    if answer == "y":
        assert code == 0, term.seen
        assert "Imported app 'Asked'" in term.seen
        assert len(fake.apps.apps) == 1
    else:
        assert code == 1, term.seen
        assert "Import not confirmed; nothing was imported." in term.seen
        assert fake.apps.apps == {}
        assert not any(r.path.endswith("/confirm") for r in fake.requests)


def test_progress_bars_on_a_terminal(
    fake_dify: FakeDifyFactory, dify: DifyRunner, env: dict[str, str], tmp_path: Path
) -> None:
    fake = fake_dify("modern")
    oldest = fake.apps.add("Oldest", "chat")
    for n in range(149):
        fake.apps.add(f"App {n}", "chat")
    connect(dify, fake)
    term = Terminal(["app", "list"], env)
    term.expect("Listing apps")
    # Read to the end: a full terminal buffer would block the command.
    term.expect(oldest.id)
    assert term.finish() == 0

    few = fake_dify("cookie")
    for n in range(3):
        few.apps.add(f"App {n}", "chat")
    connect(dify, few)
    term = Terminal(["app", "export", "--all", "-o", str(tmp_path / "out")], env)
    term.expect("Exporting apps")
    term.expect("Exported 3 apps")
    assert term.finish() == 0, term.seen
    assert len(list((tmp_path / "out").iterdir())) == 3


def test_no_progress_bar_for_one_page(
    fake_dify: FakeDifyFactory, dify: DifyRunner, env: dict[str, str]
) -> None:
    fake = fake_dify("modern")
    fake.apps.add("Only", "chat")
    connect(dify, fake)
    term = Terminal(["app", "list"], env)
    term.expect("Only")
    assert term.finish() == 0
    assert "Listing apps" not in term.seen


def test_import_from_a_terminal_stdin_is_refused(
    fake_dify: FakeDifyFactory, dify: DifyRunner, env: dict[str, str]
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    term = Terminal(["app", "import", "-"], env)
    term.expect("Standard input is a terminal, not a DSL.")
    assert term.finish() == 2
    assert fake.counts == {}
