"""Accounts, workspaces, login lockout, email-code tokens and the mailbox."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

DEFAULT_EMAIL = "admin@example.com"
DEFAULT_PASSWORD = "Passw0rd!Example"
DEFAULT_NAME = "Admin"

LOCKOUT_LIMIT = 5
LOCKOUT_SECONDS = 86400
EMAIL_CODE_TTL = 300

Workspace = dict[str, Any]


@dataclass
class Account:
    """One console user. `password` None means email code only."""

    email: str
    password: str | None
    name: str
    banned: bool = False
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: int = field(default_factory=lambda: int(time.time()))
    last_login_at: int | None = None
    last_login_ip: str | None = None
    interface_language: str = "en-US"
    interface_theme: str = "light"
    timezone: str = "America/New_York"
    workspaces: list[Workspace] = field(default_factory=list)
    current_workspace_id: str | None = None

    @property
    def current_workspace(self) -> Workspace | None:
        for workspace in self.workspaces:
            if workspace["id"] == self.current_workspace_id:
                return workspace
        return self.workspaces[0] if self.workspaces else None


@dataclass
class Mail:
    """A login code the server would have emailed."""

    email: str
    code: str
    token: str
    language: str
    sent_at: float


@dataclass
class _CodeToken:
    email: str
    code: str
    expires_at: float


class EmailCodeError(Exception):
    """Why an email-code validity check failed, as Dify's error code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def new_workspace(name: str) -> Workspace:
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        # The plan stored on the workspace; with billing off the workspace
        # list reports "sandbox" instead.
        "plan": "basic",
        "status": "normal",
        "created_at": int(time.time()),
    }


@dataclass
class AccountBook:
    """Everything the fake keeps about people, as Dify keeps it in its database
    and Redis: accounts, failed logins, email-code tokens and sends.

    Emails are stored as given. fold_case is Dify from 1.11.3: a lookup that
    finds nothing tries the email in lower case, and failed logins are counted
    per lower-cased email. Before, an email matched only as typed, in the
    database and in Redis alike.
    """

    lockout_seconds: float = LOCKOUT_SECONDS
    email_code_ttl: float = EMAIL_CODE_TTL
    fold_case: bool = False
    accounts: dict[str, Account] = field(default_factory=dict)
    frozen_emails: set[str] = field(default_factory=set)
    mailbox: list[Mail] = field(default_factory=list)
    _failures: dict[str, tuple[int, float]] = field(default_factory=dict)
    _code_tokens: dict[str, _CodeToken] = field(default_factory=dict)
    _latest_code_token: dict[str, str] = field(default_factory=dict)
    _sends: dict[str, list[float]] = field(default_factory=dict)

    # Accounts and workspaces

    def add(
        self,
        email: str,
        password: str | None,
        name: str,
        workspaces: list[str] | None = None,
        banned: bool = False,
    ) -> Account:
        account = Account(email=email, password=password, name=name, banned=banned)
        names = [f"{name}'s Workspace"] if workspaces is None else workspaces
        for workspace_name in names:
            self.add_workspace(account, workspace_name)
        self.accounts[email] = account
        return account

    def add_workspace(self, account: Account, name: str) -> Workspace:
        workspace = new_workspace(name)
        account.workspaces.append(workspace)
        if account.current_workspace_id is None:
            account.current_workspace_id = workspace["id"]
        return workspace

    def find(self, email: str) -> Account | None:
        account = self.accounts.get(email)
        if account is None and self.fold_case:
            account = self.accounts.get(email.lower())
        return account

    def key(self, email: str) -> str:
        """The email as the server files it in Redis."""
        return email.lower() if self.fold_case else email

    def by_id(self, account_id: str) -> Account | None:
        for account in self.accounts.values():
            if account.id == account_id:
                return account
        return None

    def is_frozen(self, email: str) -> bool:
        return email.lower() in self.frozen_emails

    # Password lockout: the failure count lives 24 h after the last failure.

    def is_locked_out(self, email: str) -> bool:
        return self._failure_count(email) > LOCKOUT_LIMIT

    def record_failure(self, email: str) -> None:
        count = self._failure_count(email) + 1
        expires = time.time() + self.lockout_seconds
        self._failures[self.key(email)] = (count, expires)

    def clear_failures(self, email: str) -> None:
        self._failures.pop(self.key(email), None)

    def _failure_count(self, email: str) -> int:
        count, until = self._failures.get(self.key(email), (0, 0.0))
        return count if until > time.time() else 0

    # Email codes: `email` is where the code goes, the account's own email
    # when there is an account. Sends are limited per that address.

    def may_send_code(self, email: str, limit: int, window: float) -> bool:
        now = time.time()
        recent = [t for t in self._sends.get(email, []) if t > now - window]
        self._sends[email] = recent
        return len(recent) < limit

    def send_code(self, email: str, language: str) -> Mail:
        """Issue a token and code, cancelling the email's previous token."""
        previous = self._latest_code_token.pop(email, None)
        if previous is not None:
            self._code_tokens.pop(previous, None)

        now = time.time()
        token = str(uuid.uuid4())
        code = f"{secrets.randbelow(10**6):06d}"
        self._code_tokens[token] = _CodeToken(email, code, now + self.email_code_ttl)
        self._latest_code_token[email] = token
        self._sends.setdefault(email, []).append(now)

        mail = Mail(email=email, code=code, token=token, language=language, sent_at=now)
        self.mailbox.append(mail)
        return mail

    def use_code(self, token: str, email: str, code: str) -> None:
        """Check a code against its token and spend the token.

        A wrong code leaves the token usable; there is no attempt limit.
        """
        entry = self._code_tokens.get(token)
        if entry is None or entry.expires_at <= time.time():
            raise EmailCodeError("invalid_or_expired_token")
        if self.key(entry.email) != self.key(email):
            raise EmailCodeError("invalid_email")
        if entry.code != code:
            raise EmailCodeError("email_code_error")
        del self._code_tokens[token]
        if self._latest_code_token.get(entry.email) == token:
            del self._latest_code_token[entry.email]

    def last_code(self, email: str) -> str:
        for mail in reversed(self.mailbox):
            if mail.email.lower() == email.lower():
                return mail.code
        raise LookupError(f"no code was sent to {email}")
