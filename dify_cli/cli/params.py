"""Checks for options that set a profile key, run as Click parses them."""

from __future__ import annotations

from typing import Any

import click

from dify_cli.errors import ConfigError


def check_email(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> str | None:
    """The ``--email`` given, checked by the profile key's rule.

    An address that breaks it is a usage error (exit 2), reported before the
    command does anything.
    """
    from dify_cli.profiles import CORE_KEYS

    if value is None:
        return None
    try:
        checked: str = CORE_KEYS["email"].parse(value)
    except ConfigError as error:
        raise click.BadParameter(str(error)) from None
    return checked


def reject_empty(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> str | None:
    """The text given, unless it is blank: a usage error (exit 2).

    A blank name is never what was meant; an empty profile would otherwise
    count as no profile at all, and run against the default one.
    """
    if value is not None and not value.strip():
        raise click.BadParameter("must not be empty.")
    return value


class NonEmptyPath(click.Path):
    """A path that may not be empty.

    Click takes an empty path for the current folder, which would then hold
    profiles, sessions or a CA bundle nobody chose.
    """

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("must not be empty.", param, ctx)
        return super().convert(value, param, ctx)
