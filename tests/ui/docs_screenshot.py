"""Regenerate docs/images/dashboard.png: `.venv/bin/python -m tests.ui.docs_screenshot` (Chromium + Playwright).

Starts a sandbox, sends a little traffic with one fault, and shoots the exchanges view with the failed
booking opened. pngquant, when installed, makes the file small.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.e2e.server import ROOT

from .conftest import CHROMIUM, CHROMIUM_ARGS, DashboardServer, why_no_browser
from .test_dashboard_flow import bookable_slot, create_booking

OUT = ROOT / "docs" / "images" / "dashboard.png"


def traffic(server) -> None:
    """A short session: health, a lookup, a booking refused by a fault, then the booking and its status."""
    entry = bookable_slot(server)
    server.get("/v3/HealthCheck")
    slot_time = {
        "service_id": entry["service_id"],
        "start_sec": str(entry["start_sec"]),
        "duration_sec": str(entry["duration_sec"]),
    }
    server.post("/v3/BatchAvailabilityLookup", {"merchant_id": entry["merchant_id"], "slot_time": [slot_time]})
    server.post("/_admin/faults", {"method": "CreateBooking", "kind": "slot_taken", "times": 1})
    create_booking(server, entry, "docs-token-1")
    _, created = create_booking(server, entry, "docs-token-2")
    server.post("/v3/GetBookingStatus", {"booking_id": created["booking"]["booking_id"]})


def main() -> None:
    reason = why_no_browser()
    if reason:
        raise SystemExit(reason)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        server = DashboardServer(Path(tmp)).start()
        try:
            traffic(server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                page = browser.new_page(viewport={"width": 1200, "height": 760})
                page.emulate_media(reduced_motion="reduce")
                page.goto(server.url + "/_admin/ui/exchanges")
                page.locator("details.exchange.faulted > summary").first.click()
                OUT.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(OUT))
                browser.close()
        finally:
            server.stop()
    if shutil.which("pngquant"):
        subprocess.run(
            ["pngquant", "--force", "--skip-if-larger", "--strip", "--output", str(OUT), "64", str(OUT)], check=False
        )
    print(f"{OUT.relative_to(ROOT)}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
