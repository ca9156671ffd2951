"""Dify's admin API key: a self-hosted server acting as a workspace's owner.

With ``ADMIN_API_KEY_ENABLE`` a request whose access token (cookie first, then
``Authorization: Bearer``) equals ``ADMIN_API_KEY`` and whose ``X-WORKSPACE-ID``
names a workspace is served as that workspace's owner, with that workspace
current for this request only. Before 1.9.2 only the Bearer header can carry
the key: sent as ``?_token=``, it goes to the ordinary token check. Anything
else falls through to that check too, where the key is not a JWT and fails as
"Invalid token.". The CSRF check skips such requests from 1.11.0; before that,
cookie servers still demand the double submit, which a key alone cannot
satisfy.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from tests.fake_dify.versions import at_least

if TYPE_CHECKING:
    from tests.fake_dify.accounts import Account
    from tests.fake_dify.messages import Request
    from tests.fake_dify.server import FakeDify

WORKSPACE_HEADER = "X-WORKSPACE-ID"
CSRF_EXEMPT_FROM = "1.11.0"


def account_for(fake: FakeDify, request: Request, token: str) -> Account | None:
    """The owner the request acts as when ``token`` is the admin API key."""
    if fake.admin_api_key is None or token != fake.admin_api_key:
        return None
    if not fake.behaviour.cookies and not request.header("Authorization"):
        return None
    workspace_id = request.header(WORKSPACE_HEADER)
    if not workspace_id:
        return None
    for account in fake.book.accounts.values():
        for workspace in account.workspaces:
            if workspace["id"] == workspace_id and (
                workspace.get("role", "owner") == "owner"
            ):
                # Dify sets the current workspace on the loaded account object,
                # not in the database: it lasts for this request only.
                return replace(account, current_workspace_id=workspace_id)
    return None


def skips_csrf(fake: FakeDify) -> bool:
    """Whether requests made with the admin API key skip the CSRF check."""
    return at_least(fake.version, CSRF_EXEMPT_FROM)
