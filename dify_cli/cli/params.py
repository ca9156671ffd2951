"""Checks for options that set a profile key, run as Click parses them."""

from __future__ import annotations

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
