"""Allow ``python -m dify_cli``."""

from dify_cli.entry import main

main()
