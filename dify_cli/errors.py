"""The exception hierarchy: every expected failure, its exit code and its message."""

from __future__ import annotations


class DifyError(Exception):
    """An expected failure, reported to the user as one line and an exit code.

    ``message`` is written for the user and never contains a secret; ``hint`` is an
    optional second sentence that says what to do next.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} {self.hint}"
        return self.message


class UsageError(DifyError):
    """The command line itself is wrong: a missing or conflicting option."""

    exit_code = 2


class ConfigError(DifyError):
    """A profile, the profiles file or a setting is missing or invalid."""

    exit_code = 3


class AuthError(DifyError):
    """Authentication is required, was refused, or the session cannot be renewed."""

    exit_code = 4


class NetworkError(DifyError):
    """The server could not be reached or answered in a way that is not Dify's API."""

    exit_code = 5


class RateLimitError(DifyError):
    """The server refuses for now: too many attempts, or the account is locked."""

    exit_code = 7


class NotFoundError(DifyError):
    """What the command names does not exist: an app, a workspace."""


class ApiError(DifyError):
    """The console API answered with an error that fits none of the kinds above."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code


def sentence(text: str) -> str:
    """``text`` ending in one full stop: a server's message may bring its own."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."


def dify_command(profile: str | None, args: str) -> str:
    """A ``dify`` command line for a hint, run against ``profile`` when given.

    Hints name the profile because a bare command would run against whatever
    profile happens to be the default, not the one the user was working on.
    """
    if profile is None:
        return f"`dify {args}`"
    # Imported here: few runs print a hint.
    from shlex import quote

    return f"`dify --profile {quote(profile)} {args}`"
