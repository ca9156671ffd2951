"""Access and CSRF tokens as HS256 JWTs, and the rotating refresh-token store."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

ACCESS_SUBJECT = "Console API Passport"
REFRESH_TTL = 30 * 86400

_HEADER = {"alg": "HS256", "typ": "JWT"}


class TokenError(Exception):
    """A token that does not verify; the message is the one Dify answers with."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _compact(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def sign_jwt(claims: dict[str, Any], key: bytes) -> str:
    signing_input = f"{_b64url(_compact(_HEADER))}.{_b64url(_compact(claims))}"
    digest = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(digest)}"


def verify_jwt(token: str, key: bytes, now: float | None = None) -> dict[str, Any]:
    """The claims of a token signed with `key`, checked in the order PyJWT checks.

    Malformed, then signature, then expiry: a forged expired token is reported
    as a bad signature, not as expired.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("Invalid token.")
    try:
        header = json.loads(_unb64url(parts[0]))
        claims = json.loads(_unb64url(parts[1]))
        signature = _unb64url(parts[2])
    except (ValueError, binascii.Error) as error:
        raise TokenError("Invalid token.") from error
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenError("Invalid token.")
    if header.get("alg") != "HS256":
        raise TokenError("Invalid token.")

    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    expected = hmac.new(key, signing_input, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise TokenError("Invalid token signature.")

    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and exp <= (time.time() if now is None else now):
        raise TokenError("Token has expired.")
    return claims


@dataclass
class TokenIssuer:
    """Signs access and CSRF tokens with one secret key and a fixed lifetime."""

    ttl: int
    issuer: str
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # Tokens issued before `expire_all` was called, refused as expired.
    _expired: set[str] = field(default_factory=set)
    _issued: set[str] = field(default_factory=set)

    def access_token(self, account_id: str) -> str:
        claims = {
            "user_id": account_id,
            "exp": int(time.time()) + self.ttl,
            "iss": self.issuer,
            "sub": ACCESS_SUBJECT,
        }
        return self._remember(sign_jwt(claims, self.key))

    def csrf_token(self, account_id: str) -> str:
        claims = {"exp": int(time.time()) + self.ttl, "sub": account_id}
        return self._remember(sign_jwt(claims, self.key))

    def _remember(self, token: str) -> str:
        self._issued.add(token)
        self._expired.discard(token)
        return token

    def verify(self, token: str) -> dict[str, Any]:
        claims = verify_jwt(token, self.key)
        if token in self._expired:
            raise TokenError("Token has expired.")
        return claims

    def expire_all(self) -> None:
        """Treat every token issued so far as past its `exp`."""
        self._expired |= self._issued
        self._issued.clear()


@dataclass
class RefreshTokenStore:
    """Refresh tokens as Dify keeps them in Redis.

    Two kinds of entry: token -> account, and account -> the token issued last.
    Logout deletes only the second kind's token, whichever client it belongs to.
    """

    ttl: int = REFRESH_TTL
    _owners: dict[str, tuple[str, float]] = field(default_factory=dict)
    _latest: dict[str, str] = field(default_factory=dict)

    def issue(self, account_id: str) -> str:
        token = secrets.token_hex(64)
        self._owners[token] = (account_id, time.time() + self.ttl)
        self._latest[account_id] = token
        return token

    def owner(self, token: str) -> str | None:
        entry = self._owners.get(token)
        if entry is None:
            return None
        account_id, expires_at = entry
        if expires_at <= time.time():
            del self._owners[token]
            return None
        return account_id

    def rotate(self, token: str) -> tuple[str, str]:
        """Trade a live token for a new one: (account id, new token)."""
        account_id = self.owner(token)
        if account_id is None:
            raise TokenError("Invalid refresh token")
        del self._owners[token]
        self._latest.pop(account_id, None)
        return account_id, self.issue(account_id)

    def revoke_latest(self, account_id: str) -> None:
        """Logout: forget the account's most recently issued token, if any."""
        token = self._latest.pop(account_id, None)
        if token is not None:
            self._owners.pop(token, None)

    def is_live(self, token: str) -> bool:
        return self.owner(token) is not None
