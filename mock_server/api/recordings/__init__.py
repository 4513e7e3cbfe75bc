"""/_admin/recordings: list, fetch, clear and export the exchange journal."""

from .routes import blp

__all__ = ["blp"]
