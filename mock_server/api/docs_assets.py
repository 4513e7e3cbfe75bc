"""The files /docs (Swagger UI) and /redoc load, served by the sandbox itself so the docs work offline."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import Blueprint, Flask, send_from_directory

PREFIX = "/docs/static"
SWAGGER_UI_URL = f"{PREFIX}/swagger-ui/"  # flask-smorest appends the file names
REDOC_URL = f"{PREFIX}/redoc/redoc.standalone.js"
REDOC_DIR = Path(__file__).parent / "static" / "redoc"

bp = Blueprint("docs_assets", __name__, url_prefix=PREFIX)


@cache
def _swagger_ui_dir() -> str:
    """Where swagger-ui-bundle keeps its files (imported on first use: most runs never open /docs)."""
    # The swagger-ui-bundle package ships Swagger UI's release files (Apache-2.0).
    from swagger_ui_bundle import swagger_ui_path

    return str(swagger_ui_path)


@bp.route("/swagger-ui/<path:name>", methods=["GET"])
def swagger_ui(name: str):
    """One of Swagger UI's files (send_from_directory refuses paths outside the folder)."""
    return send_from_directory(_swagger_ui_dir(), name, max_age=86400)


@bp.route("/redoc/<path:name>", methods=["GET"])
def redoc(name: str):
    """Redoc's standalone bundle and its licences (vendored from the npm package)."""
    return send_from_directory(REDOC_DIR, name, max_age=86400)


def configure(app: Flask) -> None:
    """Point flask-smorest's /docs and /redoc pages at these files, and serve them."""
    app.config.update(
        OPENAPI_SWAGGER_UI_URL=SWAGGER_UI_URL,
        # Swagger UI would otherwise send the document to validator.swagger.io for its badge.
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},
        OPENAPI_REDOC_URL=REDOC_URL,
    )
    app.register_blueprint(bp)
