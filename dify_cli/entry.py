"""The `dify` console script: starts the command line, Ctrl-C while loading too."""

import sys


def main() -> None:
    """Run ``dify``; an interrupt before the command line is ready still exits 130."""
    try:
        from dify_cli.cli.main import main as run_cli
    except KeyboardInterrupt:
        # Importing takes a tenth of a second: a Ctrl-C then would otherwise
        # print a traceback and end the process by the signal.
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
    run_cli()
