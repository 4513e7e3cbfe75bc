"""`GET /`: an index page for a browser, the same links as JSON for a client that asks for JSON."""

import re

LINKS = {
    "dashboard": "/_admin/ui/",
    "health": "/_admin/health",
    "merchants_feed": "/feeds/merchants.json",
    "services_feed": "/feeds/services.json",
    "availability_feed": "/feeds/availability.json",
    "v3_health_check": "/v3/HealthCheck",
    "docs": "/docs",
    "redoc": "/redoc",
    "openapi": "/openapi.json",
}


def test_a_browser_gets_an_html_page_linking_everything(client):
    response = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    assert re.findall(r'href="([^"]+)"', response.get_data(as_text=True)) == list(LINKS.values())


def test_curl_without_accept_gets_the_page_too(client):
    response = client.get("/", headers={"Accept": "*/*"})
    assert response.status_code == 200
    assert response.content_type.startswith("text/html")


def test_a_client_asking_for_json_gets_the_links_as_json(client):
    response = client.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    body = response.get_json()
    assert {name: link["href"] for name, link in body["links"].items()} == LINKS
    assert body["name"] == "Booking Server v3 sandbox" and body["version"] == "0.1.0"


def test_every_link_answers(client):
    for href in LINKS.values():
        assert client.get(href).status_code == 200, href


def test_under_a_tenant_prefix_the_tenant_links_keep_the_prefix(client):
    assert client.post("/t/alice/_admin/reset").status_code == 200
    links = client.get("/t/alice/", headers={"Accept": "application/json"}).get_json()["links"]
    assert links["dashboard"]["href"] == "/t/alice/_admin/ui/"
    assert links["availability_feed"]["href"] == "/t/alice/feeds/availability.json"
    assert links["docs"]["href"] == "/docs"  # the OpenAPI document is the server's, not a tenant's
