"""Fault injection (issue 3): rules, kinds, scenarios and magic values."""


def install(app, api) -> None:
    """Hook the fault engine into the /v3 pipeline and register its admin routes."""
