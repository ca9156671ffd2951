"""Which behaviour a fake server shows for its generation and reported version."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Generation = Literal["legacy", "cookie", "modern"]

GENERATIONS: tuple[Generation, ...] = ("legacy", "cookie", "modern")

DEFAULT_VERSIONS: dict[Generation, str] = {
    "legacy": "1.9.1",
    "cookie": "1.11.1",
    "modern": "1.16.0-rc1",
}

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:[-.]?([A-Za-z]+)\.?(\d*))?")

# Dify 0.x shipped fixes of a release as `0.6.12-fix1`: after 0.6.12, not before.
_POST_TAGS = ("fix", "post")

# The 2.0.0 betas branched off before tokens moved to cookies: they behave
# like 1.9.1 whatever their number says.
_BETA_TWO = re.compile(r"^2\.0\.0[-.]?(b|beta)", re.IGNORECASE)


def version_key(version: str) -> tuple[int, int, int, int, int]:
    """A sortable key: 1.16.0-rc1 sorts before 1.16.0, and both after 1.15.9."""
    if _BETA_TWO.match(version):
        version = DEFAULT_VERSIONS["legacy"]
    match = _VERSION.match(version)
    if match is None:
        raise ValueError(f"not a Dify version: {version!r}")
    major, minor, patch, tag, number = match.groups()
    # A release sorts after every pre-release of the same number.
    stage = 1 if tag is None else 0
    if tag is not None and tag.lower() in _POST_TAGS:
        stage = 2
    return int(major), int(minor), int(patch), stage, int(number or 0)


def at_least(version: str, floor: str) -> bool:
    return version_key(version) >= version_key(floor)


def generation_of(version: str) -> Generation:
    """The login contract a release speaks: tokens moved to cookies in 1.9.2
    and secrets to Base64 in 1.11.2 (the 2.0.0 betas count as 1.9.1)."""
    if at_least(version, "1.11.2"):
        return "modern"
    if at_least(version, "1.9.2"):
        return "cookie"
    return "legacy"


@dataclass(frozen=True)
class Behaviour:
    """What changes between server generations and versions, decided once."""

    generation: Generation
    version: str
    cloud: bool = False

    @property
    def cookies(self) -> bool:
        """Tokens travel in HttpOnly cookies, with a CSRF double submit."""
        return self.generation != "legacy"

    @property
    def encoded_secrets(self) -> bool:
        """Password and email code arrive Base64-encoded."""
        return self.generation == "modern"

    @property
    def password_mismatch_code(self) -> bool:
        """Before 1.8 a wrong password was 400 email_or_password_mismatch."""
        return not at_least(self.version, "1.8.0")

    @property
    def unknown_email_not_found(self) -> bool:
        """Before 1.9 an unknown email said so instead of failing authentication."""
        return not at_least(self.version, "1.9.0")

    @property
    def password_rule_on_login(self) -> bool:
        """Before 1.9 the login password was checked against the setup rule."""
        return not at_least(self.version, "1.9.0")

    @property
    def folds_email_case(self) -> bool:
        """From 1.11.3 an email not found as typed is looked up in lower case,
        and new accounts and login limits use the lower-cased email."""
        return at_least(self.version, "1.11.3")

    @property
    def banned_code_login_unauthorized(self) -> bool:
        """Before 1.14 an email-code login of a banned account failed with the
        account lookup's own 401; 1.14.0 turned it into 400 account_banned."""
        return not at_least(self.version, "1.14.0")

    @property
    def email_code_sends(self) -> tuple[int, int]:
        """How many codes one email may be sent, per how many seconds."""
        return (3, 300) if at_least(self.version, "1.9.0") else (1, 60)

    @property
    def current_workspace_method(self) -> str:
        return "POST" if at_least(self.version, "1.10.1") else "GET"

    @property
    def logout_method(self) -> str:
        return "POST" if self.cookies else "GET"

    @property
    def reqparse(self) -> bool:
        """Before 1.11 bodies and queries were checked by flask-restx's reqparse,
        whose failures list each field under "errors"; pydantic came in 1.11.0."""
        return not at_least(self.version, "1.11.0")

    @property
    def fastopenapi(self) -> bool:
        """setup, init, ping and version answer errors in fastopenapi's shape."""
        return at_least(self.version, "1.12.0")

    @property
    def exposed_headers(self) -> str:
        """The CORS Access-Control-Expose-Headers: 1.11.0 added X-Trace-Id."""
        if at_least(self.version, "1.11.0"):
            return "X-Env, X-Trace-Id, X-Version"
        return "X-Env, X-Version"

    @property
    def cors_on_routing_errors(self) -> bool:
        """From 1.12.0 CORS covers all of /console/api, so a 404 or 405 gets the
        headers too; before, only requests that reached a route did."""
        return at_least(self.version, "1.12.0")

    @property
    def issuer(self) -> str:
        return "CLOUD" if self.cloud else "SELF_HOSTED"

    @property
    def modern_shapes(self) -> bool:
        """The newest field sets for profile and workspaces."""
        return self.generation == "modern"
