"""Control-plane blueprint (/_admin)."""

from .routes import blp

__all__ = ["blp"]
