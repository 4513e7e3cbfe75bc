"""Exchange recording and replay (issue 4)."""


def install(app, api) -> None:
    """Hook the recorder into the request pipeline and register its admin routes."""
