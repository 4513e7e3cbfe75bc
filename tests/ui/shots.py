"""Screenshots of the dashboard views, saved under artifacts/screenshots/ (gitignored)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.server import ROOT

SCREENSHOTS = ROOT / "artifacts" / "screenshots"


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG under artifacts/screenshots/ (gitignored) and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
