"""Allow ``python -m dify_cli``."""

from dify_cli.cli.main import main

main()
