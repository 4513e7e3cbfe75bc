"""Booking Server v3 sandbox: `create_app()` builds one self-contained instance."""

from __future__ import annotations

from flask import Flask

from .config import Settings

__version__ = "0.1.0"


def create_app(overrides: dict | None = None, environ: dict | None = None) -> Flask:
    """Build the app: settings -> runtime -> API and blueprints -> hooks."""
    from flask_smorest import Api

    from . import accesslog, fastpath
    from .api import guard, register_blueprints
    from .api.common import OrjsonProvider
    from .paths import CaseInsensitiveV3
    from .runtime import EXTENSION_KEY, Runtime

    settings = Settings.load(environ, **(overrides or {}))
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    app.config.update(
        API_TITLE="Booking Server v3 sandbox",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
        OPENAPI_REDOC_PATH="/redoc",
        OPENAPI_REDOC_URL="https://cdn.jsdelivr.net/npm/redoc/bundles/redoc.standalone.js",
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
    )
    app.extensions[EXTENSION_KEY] = Runtime(settings)
    api = Api(app, spec_kwargs={"info": {"description": "Stateful local sandbox of Google's Actions Center "
                                                       "Booking Server API v3."}})
    register_blueprints(api)
    _install_extensions(app, api)
    _json_errors(app)
    accesslog.install(app)
    guard.install(app)  # after the access log's timer, so refused requests are logged with a duration
    app.wsgi_app = CaseInsensitiveV3(app.wsgi_app, app.url_map)  # type: ignore[method-assign]  # Flask's middleware idiom
    fastpath.install(app, app.extensions[EXTENSION_KEY])
    return app


def _install_extensions(app: Flask, api) -> None:
    """Fault injection, exchange recording and the dashboard hook into the app here."""
    from . import faults, recording
    from .api import ui

    faults.install(app, api)
    recording.install(app, api)
    ui.install(app)


def _json_errors(app: Flask) -> None:
    """404, 405 and 413 say what exists or what the limit is, as JSON like every other error."""
    from flask import request

    from .api.common import error_response
    from .domain.errors import StoreFailed

    @app.errorhandler(404)
    def _not_found(error):
        message = getattr(error, "data", {}).get("message") or f"no such path: {request.path}"
        if request.url_rule is None and request.path.startswith("/v3"):
            methods = sorted({r.rule.rstrip("/") for r in app.url_map.iter_rules() if r.rule.startswith("/v3/")})
            message += "; v3 methods: " + ", ".join(methods)
        return error_response(404, message)

    @app.errorhandler(StoreFailed)
    def _store_failed(error: StoreFailed):
        # A change the store could not keep was not made: 507 (disk full) or 503, never a success later.
        return error_response(error.status, error.message)

    @app.errorhandler(413)
    def _too_large(error):
        limit = app.config["MAX_CONTENT_LENGTH"]
        return error_response(413, f"request body over the {limit}-byte limit (MOCK_MAX_BODY_BYTES)")

    @app.errorhandler(405)
    def _bad_method(error):
        allowed = ", ".join(sorted(error.valid_methods or []))
        return error_response(405, f"{request.method} is not allowed on {request.path}; use {allowed}",
                              {"Allow": allowed})
