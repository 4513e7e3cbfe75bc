"""The dashboard in a real browser: login cookie, pages without JavaScript, keyboard, the form's script."""

from __future__ import annotations

import re

import pytest

from .conftest import BROWSER_TIMEOUT_MS
from .shots import screenshot

pytestmark = pytest.mark.e2e

TOKEN = "qa-admin-token"


@pytest.fixture(scope="module")
def server(start_dashboard_server):
    return start_dashboard_server()


@pytest.fixture(scope="module")
def locked_server(start_dashboard_server):
    return start_dashboard_server(MOCK_ADMIN_TOKEN=TOKEN)


@pytest.fixture
def no_js_page(browser):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    yield context.new_page()
    context.close()


def test_login_with_the_admin_token(page, locked_server):
    from playwright.sync_api import expect

    page.goto(locked_server.url + "/_admin/ui/exchanges")
    expect(page).to_have_url(re.compile(r"/_admin/ui/login\?next=/_admin/ui/exchanges$"))
    page.get_by_label("Admin token").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That is not the admin token (MOCK_ADMIN_TOKEN).")
    screenshot(page, "dashboard-login")
    page.get_by_label("Admin token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/_admin/ui/exchanges$"))
    [cookie] = [c for c in page.context.cookies() if c["name"] == "rwg_ui_session"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/_admin/ui")
    assert TOKEN not in cookie["value"]
    assert page.evaluate("document.cookie") == ""  # HttpOnly: scripts never see either cookie

    # The live log polls with that cookie: an exchange shows up without a reload.
    locked_server.get("/v3/HealthCheck")
    expect(page.locator("details.exchange", has_text="HealthCheck")).to_have_count(1)
    # The API itself still wants the Bearer header (the page's cookie does not open it).
    assert page.evaluate("fetch('/_admin/faults').then(r => r.status)") == 401

    page.get_by_role("button", name="Sign out").click()
    page.goto(locked_server.url + "/_admin/ui/bookings")
    expect(page).to_have_url(re.compile(r"/_admin/ui/login"))


def test_pages_work_without_javascript(no_js_page, server):
    from playwright.sync_api import expect

    page = no_js_page
    server.get("/v3/HealthCheck")
    page.goto(server.url + "/_admin/ui/exchanges")
    expect(page.locator("#live-toggle")).to_be_hidden()
    exchange = page.locator("details.exchange", has_text="HealthCheck").first
    exchange.locator("> summary").click()  # <details> opens natively
    expect(exchange.get_by_label(re.compile("Response body"))).to_be_visible()

    # Forms post and redirect: add a rule, see the schema's message for a bad one.
    page.goto(server.url + "/_admin/ui/faults")
    page.get_by_label("Kind", exact=True).select_option("http_error")
    page.get_by_label("Times", exact=True).fill("")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#err-status")).to_contain_text("required for kind http_error; one of 400, 401")
    expect(page.get_by_label("HTTP status")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "dashboard-faults-validation")
    page.get_by_label("HTTP status").select_option("503")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#flash")).to_contain_text("added: http_error on CreateBooking")
    page.get_by_role("button", name="Clear all rules").click()
    expect(page.locator("#flash")).to_have_text("1 rule removed.")

    for path, heading in (("/", "Sandbox"), ("/bookings", "Bookings"), ("/inventory", "Inventory")):
        page.goto(server.url + "/_admin/ui" + path)
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)


def test_the_form_script_shows_only_the_parameters_of_the_kind(page, server):
    from playwright.sync_api import expect

    page.goto(server.url + "/_admin/ui/faults")
    kind = page.get_by_label("Kind", exact=True)
    kind.select_option("http_error")
    expect(page.get_by_label("HTTP status")).to_be_visible()
    expect(page.get_by_label("Retry-After (s)")).to_be_visible()
    expect(page.get_by_label("Failure cause")).to_be_hidden()
    kind.select_option("booking_failure")
    expect(page.get_by_label("Failure cause")).to_be_visible()
    expect(page.get_by_label("HTTP status")).to_be_hidden()
    page.get_by_label("Failure cause").select_option("PAYMENT_REQUIRES_3DS1")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#flash")).to_contain_text("added: booking_failure on CreateBooking")
    rule = server.get("/_admin/faults")["faults"][-1]
    assert (rule["kind"], rule["cause"], rule["times"]) == ("booking_failure", "PAYMENT_REQUIRES_3DS1", 1)

    # A scenario from its button, then everything cleared.
    page.get_by_role("button", name="Apply scenario retry_storm").click()
    expect(page.locator("#flash")).to_contain_text("Scenario retry_storm applied")
    expect(page.locator("#rules-table tbody tr")).to_have_count(2)
    page.get_by_role("button", name="Clear all rules").click()
    expect(page.locator("#no-rules")).to_be_visible()


def test_keyboard_reaches_the_content_and_the_controls(page, server):
    from playwright.sync_api import expect

    page.goto(server.url + "/_admin/ui/bookings")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    nav = page.get_by_role("navigation", name="Dashboard")
    expect(nav.get_by_role("link", name="Bookings")).to_have_attribute("aria-current", "page")
    # Every visible input and select has a label (getByLabel finds each by its own id).
    for control in page.locator("main input:visible, main select:visible").all():
        control_id = control.get_attribute("id")
        assert control_id and page.locator(f"label[for='{control_id}']").count() == 1, control_id
    page.goto(server.url + "/_admin/ui/exchanges")
    expect(page.get_by_role("log")).to_have_attribute("aria-live", "polite")
