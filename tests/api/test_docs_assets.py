"""/docs and /redoc load every file from the sandbox itself: nothing from a CDN, so they work offline."""

import re

import pytest

ASSET = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        (
            "/docs",
            [
                "/docs/static/swagger-ui/swagger-ui.css",
                "/docs/static/swagger-ui/swagger-ui-standalone-preset.js",
                "/docs/static/swagger-ui/swagger-ui-bundle.js",
            ],
        ),
        ("/redoc", ["/docs/static/redoc/redoc.standalone.js"]),
    ],
)
def test_the_docs_pages_load_their_files_from_the_sandbox(client, page, assets):
    html = client.get(page).get_data(as_text=True)
    assert ASSET.findall(html) == assets
    assert "https://" not in html and "http://" not in html
    for path in assets:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == ("text/css" if path.endswith(".css") else "text/javascript"), path
        assert len(response.data) > 100_000, path  # the real bundle, not a stub


def test_swagger_ui_does_not_call_the_online_validator(client):
    assert '"validatorUrl":null' in client.get("/docs").get_data(as_text=True)


def test_redoc_ships_with_its_licence(client):
    response = client.get("/docs/static/redoc/LICENSE")
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("The MIT License (MIT)")


@pytest.mark.parametrize(
    "path", ["/docs/static/redoc/../../index.py", "/docs/static/swagger-ui/../../__init__.py", "/docs/static/x"]
)
def test_nothing_outside_the_asset_folders_is_served(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json()["code"] == 404
