"""A stand-in for an organisation's login helper, run by the exec method in tests.

It logs in to the server named by DIFY_EXEC_SERVER with a password, as a real
helper might after a browser sign-in, and prints the tokens in the exec
plugin's JSON format. Options make it misbehave in the ways the tests need.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from pathlib import Path

import requests


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--email", default="admin@example.com")
    parser.add_argument("--password", default="Passw0rd!Example")
    parser.add_argument("--encode", action="store_true", help="Base64 the password")
    parser.add_argument("--no-refresh", action="store_true")
    parser.add_argument("--no-csrf", action="store_true")
    parser.add_argument("--expires-in", type=float)
    parser.add_argument("--count", type=Path, help="append each run's reason here")
    parser.add_argument("--say", help="write this on stderr first")
    parser.add_argument("--exit", type=int, default=0)
    parser.add_argument("--bad-json", action="store_true")
    parser.add_argument("--sleep", type=float, default=0.0)
    return parser.parse_args()


def log_in(server: str, email: str, password: str) -> dict[str, str]:
    response = requests.post(
        f"{server}/console/api/login",
        json={"email": email, "password": password},
        timeout=10,
    )
    response.raise_for_status()
    data = response.json().get("data")
    if isinstance(data, dict):
        return {
            "access_token": data["access_token"],
            "refresh_token": data["refresh_token"],
        }
    tokens = {}
    for header in response.raw.headers.getlist("Set-Cookie"):
        name, _, rest = header.partition("=")
        tokens[name.removeprefix("__Host-")] = rest.partition(";")[0]
    return tokens


def main() -> int:
    args = parse_args()
    if args.count:
        with args.count.open("a", encoding="utf-8") as file:
            file.write(os.environ.get("DIFY_EXEC_REASON", "?") + "\n")
    if args.say:
        print(args.say, file=sys.stderr, flush=True)
    time.sleep(args.sleep)
    if args.exit:
        return args.exit
    if args.bad_json:
        print('{"access_token": "eyJhbGciOi')
        return 0

    password = args.password
    if args.encode:
        password = base64.b64encode(password.encode()).decode()
    tokens = log_in(os.environ["DIFY_EXEC_SERVER"], args.email, password)
    out: dict[str, object] = {"version": 1, "access_token": tokens["access_token"]}
    if "csrf_token" in tokens and not args.no_csrf:
        out["csrf_token"] = tokens["csrf_token"]
    if not args.no_refresh:
        out["refresh_token"] = tokens["refresh_token"]
    if args.expires_in is not None:
        out["expires_at"] = time.time() + args.expires_in
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
