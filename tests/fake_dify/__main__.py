"""Run a fake Dify server by hand: `python -m tests.fake_dify --generation modern`.

Login codes the server "mails" are printed on stdout, so that a person can finish
an email-code login against it.
"""

from __future__ import annotations

import argparse
import time

from tests.fake_dify.server import FakeDify
from tests.fake_dify.versions import GENERATIONS


def add_samples(server: FakeDify) -> None:
    """A few apps and a second workspace, so that a person trying the app and
    workspace commands by hand has something to list, export and switch to."""
    server.apps.add("Support bot", "advanced-chat", description="Answers questions")
    server.apps.add("Invoice reader", "workflow")
    server.apps.add("Notes", "chat")
    second = server.add_workspace(server.account, "Team B")
    server.apps.add("Team B helper", "completion", workspace=second)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fake_dify",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--generation",
        choices=GENERATIONS,
        help="modern unless --version names an older release",
    )
    parser.add_argument(
        "--version", help="the X-Version to report; it implies the generation"
    )
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--https", action="store_true")
    parser.add_argument("--cloud", action="store_true")
    parser.add_argument("--access-ttl", type=int, default=3600, metavar="SECONDS")
    parser.add_argument(
        "--not-setup", action="store_true", help="start before setup is done"
    )
    parser.add_argument(
        "--empty",
        action="store_true",
        help="no sample apps and no second workspace",
    )
    parser.add_argument(
        "--admin-api-key",
        metavar="KEY",
        help="accept this admin API key with an X-WORKSPACE-ID header",
    )
    args = parser.parse_args(argv)

    try:
        server = FakeDify(
            args.generation,
            version=args.version,
            https=args.https,
            cloud=args.cloud,
            access_ttl=args.access_ttl,
            setup_done=not args.not_setup,
            port=args.port,
            admin_api_key=args.admin_api_key,
        )
    except ValueError as error:
        parser.error(str(error))
    server.start()
    if server.setup_done and not args.empty:
        add_samples(server)
    print(f"Fake Dify {server.version} ({server.generation}) at {server.url}")
    if server.ca_bundle:
        print(f"CA bundle: {server.ca_bundle}")
    if server.setup_done:
        print(f"Account: {server.account.email} / {server.account.password}")
        for workspace in server.account.workspaces:
            print(f"Workspace: {workspace['name']} ({workspace['id']})")
    print("Ctrl-C to stop.", flush=True)
    try:
        shown = 0
        while True:
            for mail in server.mailbox[shown:]:
                print(f"mail to {mail.email}: code {mail.code}", flush=True)
            shown = len(server.mailbox)
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
