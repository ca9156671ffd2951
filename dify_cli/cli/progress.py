"""A progress bar on stderr for long work, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dify_cli.apps import Progress


@contextmanager
def progress_bar(label: str, *, at_least: int = 2) -> Iterator[Progress]:
    """Yield a ``(done, total)`` callback that draws a bar on stderr.

    The bar appears on the first call whose total is at least ``at_least`` and
    not yet done, so short work draws nothing; piped or redirected stderr
    never gets one.
    """
    state: dict[str, Any] = {"bar": None, "shown": 0}

    def update(done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        bar = state["bar"]
        if bar is None:
            if total < at_least or done >= total:
                return
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
            state["bar"] = bar
        step = min(done, bar.length or done) - state["shown"]
        if step > 0:
            bar.update(step)
            state["shown"] += step

    try:
        yield update
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)
