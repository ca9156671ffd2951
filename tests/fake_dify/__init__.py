"""A fake Dify console API server for the test suite, in-process and real HTTP."""

from __future__ import annotations

from tests.fake_dify.accounts import Account, Mail, Workspace
from tests.fake_dify.routes import ROUTES, Route, route
from tests.fake_dify.server import FakeDify, Fault, ReceivedRequest

__all__ = [
    "ROUTES",
    "Account",
    "FakeDify",
    "Fault",
    "Mail",
    "ReceivedRequest",
    "Route",
    "Workspace",
    "route",
]
