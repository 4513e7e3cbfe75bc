"""Booking Server v3 sandbox: `create_app()` builds one self-contained instance."""

from __future__ import annotations

from flask import Flask

from .config import Settings

__version__ = "0.1.0"


def create_app(overrides: dict | None = None, environ: dict | None = None) -> Flask:
    """Build the app: settings -> runtime -> control plane (Flask) -> the /v3 data plane in front of it."""
    from flask_smorest import Api

    from . import accesslog, metrics, notify
    from .api import docs_assets, guard, index, register_blueprints
    from .api.common import OrjsonProvider
    from .runtime import EXTENSION_KEY, Runtime
    from .v3 import openapi
    from .v3.gateway import Dispatcher

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
        OPENAPI_REDOC_PATH="/redoc",
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
    )
    docs_assets.configure(app)  # before Api(): it reads the docs' asset URLs when it registers /docs and /redoc
    app.extensions[EXTENSION_KEY] = Runtime(settings)
    notify.install(app, settings)  # no thread yet: it starts with the first notification
    api = Api(
        app,
        spec_kwargs={
            "info": {"description": "Stateful local sandbox of Google's Actions Center Booking Server API v3."}
        },
    )
    openapi.document(api)
    register_blueprints(api)
    index.install(app)
    gateway = _install_extensions(app, api)
    _json_errors(app)
    accesslog.install(app)
    guard.install(app)  # after the access log's timer, so refused requests are logged with a duration
    if settings.store != "memory":
        from .tenancy import sync_current

        app.before_request(sync_current)  # after the guard: a refused request costs Redis nothing
    app.extensions[GATEWAY_KEY] = gateway
    app.extensions[metrics.REGISTRY_KEY] = metrics.app_registry(gateway.tenants.all, gateway.unattributed)
    app.wsgi_app = Dispatcher(gateway, app.wsgi_app)  # type: ignore[method-assign]  # Flask's middleware idiom
    return app


GATEWAY_KEY = "mock_server.v3"


def _install_extensions(app: Flask, api):
    """Fault injection, exchange recording and the dashboard; the tenants; then the /v3 gateway over them."""
    from . import faults, recording
    from .api import ui
    from .config import resolve_path
    from .faults.step import FaultSteps
    from .runtime import EXTENSION_KEY, Runtime
    from .tenancy import TENANTS_KEY, Tenant, Tenants, read_passwords
    from .v3.gateway import V3Gateway

    engine = faults.install(app, api)
    state = recording.install(app, api)
    ui.install(app)
    runtime = app.extensions[EXTENSION_KEY]
    default = Tenant(runtime.tenant, runtime, engine, state, FaultSteps(engine, runtime, V3Gateway.load))

    def build(name: str) -> Tenant:
        # The parsed fixture is shared; everything a client can change is the tenant's own.
        own = Runtime(runtime.settings, name, fixture=runtime.fixture)
        own_engine = faults.engine_for(own)
        return Tenant(name, own, own_engine, recording.state_for(own), FaultSteps(own_engine, own, V3Gateway.load))

    settings = runtime.settings
    passwords = read_passwords(resolve_path(settings.tenants_file)) if settings.tenants_file else {}
    tenants = app.extensions[TENANTS_KEY] = Tenants(
        default, build, settings.max_tenants, settings.tenant_idle_s, passwords
    )
    return V3Gateway(tenants)


def _json_errors(app: Flask) -> None:
    """404, 405 and 413 say what exists or what the limit is, as JSON like every other error."""
    from flask import request

    from .api.common import error_response
    from .domain.errors import StoreFailed
    from .tenancy import TenantRefused
    from .v3.methods import LISTING

    @app.errorhandler(404)
    def _not_found(error):
        message = getattr(error, "data", {}).get("message") or f"no such path: {request.path}"
        if request.url_rule is None and request.path[:3].lower() == "/v3":  # /v3x, /V3.json: near the data plane
            message += "; v3 methods: " + LISTING
        return error_response(404, message)

    @app.errorhandler(TenantRefused)
    def _tenant_refused(error: TenantRefused):
        return error_response(error.status, error.message)

    @app.errorhandler(StoreFailed)
    def _store_failed(error: StoreFailed):
        # A change the store could not keep was not made: 507 (disk full) or 503, never a success later.
        return error_response(error.status, error.message)

    @app.errorhandler(413)
    def _too_large(error):
        limit = request.max_content_length  # this route's (a state document's is larger)
        return error_response(413, f"request body over the {limit}-byte limit (MOCK_MAX_BODY_BYTES)")

    @app.errorhandler(405)
    def _bad_method(error):
        allowed = ", ".join(sorted(error.valid_methods or []))
        return error_response(
            405, f"{request.method} is not allowed on {request.path}; use {allowed}", {"Allow": allowed}
        )
