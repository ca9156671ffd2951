"""The Click command tree: thin commands that parse, call the core and render."""
