"""CLI subcommands of the recorder."""


def register(subcommands) -> None:
    """Add the `replay` subcommand to the `rwg-sandbox` parser."""
